"""Examples of using and extending invbench (importable, so ``examples.my_solver:MySolver`` loads)."""
