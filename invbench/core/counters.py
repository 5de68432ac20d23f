"""PDE-solve accounting shared by every path into an environment's physics."""

from __future__ import annotations

import time
from dataclasses import dataclass

from invbench.core.errors import BudgetExhaustedError


@dataclass
class SolveCounter:
    """Counts forward and adjoint PDE solves of one episode against a budget.

    A *PDE solve* is one forward or one adjoint simulation of one instance (all its shots).

    Attributes:
        budget: Maximum number of PDE solves (forward + adjoint) in the episode.
        forward: Forward solves so far.
        adjoint: Adjoint solves so far.
        physics_time: Seconds spent inside counted physics calls (forward and adjoint).
    """

    budget: int
    forward: int = 0
    adjoint: int = 0
    physics_time: float = 0.0

    @property
    def used(self) -> int:
        """PDE solves used so far."""
        return self.forward + self.adjoint

    @property
    def remaining(self) -> int:
        """PDE solves left in the budget."""
        return max(self.budget - self.used, 0)

    def reserve(self, n: int) -> None:
        """Check that ``n`` more solves fit in the budget.

        Raises:
            BudgetExhaustedError: If they do not.
        """
        if n > self.remaining:
            raise BudgetExhaustedError(
                f"budget of {self.budget} PDE solves exhausted ({self.used} used, {n} requested); "
                "return the estimate"
            )

    def as_dict(self) -> dict[str, float | int]:
        """Counters as plain numbers, for ``info`` and result rows."""
        return {
            "forward_solves": self.forward,
            "adjoint_solves": self.adjoint,
            "pde_solves": self.used,
            "budget": self.budget,
            "budget_left": self.remaining,
        }


class Stopwatch:
    """Context manager that adds the elapsed wall time to a :class:`SolveCounter`."""

    def __init__(self, counter: SolveCounter) -> None:
        self.counter = counter
        self._t0 = 0.0

    def __enter__(self) -> Stopwatch:
        self._t0 = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.counter.physics_time += time.perf_counter() - self._t0
