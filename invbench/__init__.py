"""invbench: a benchmark suite for PDE-governed inverse problems.

Importing :mod:`invbench` registers every task with Gymnasium (see :mod:`invbench.registry`),
so ``gymnasium.make("invbench/FWI-FlatVel-A-v0")`` works after ``import invbench``;
``invbench.make_vec(task_id, num_envs=B)`` steps B instances in one batched call of the physics. Heavy
modules (physics, solvers) are imported lazily, when an environment is made.
"""

from invbench import registry as _registry
from invbench.core.vector import make_vec
from invbench.registry import make, task_ids

__version__ = "0.1.0"

_registry.register_all()


__all__ = ["__version__", "make", "make_vec", "task_ids"]
