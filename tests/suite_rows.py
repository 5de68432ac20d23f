"""A result row of the red-diffeq suite with only the columns its tables read (shared by tests)."""


def suite_row(task, instance, solver, mae, status="done"):
    return {
        "task": f"invbench/{task}-v0",
        "task_name": task,
        "instance": instance,
        "solver": solver,
        "status": status,
        "metric_mae": mae,
        "metric_ssim": 1.0 - mae,
        "pde_solves": 600,
    }
