"""Errors raised by invbench environments (all subclass ``ValueError`` or ``RuntimeError``)."""

from __future__ import annotations


class InvalidActionError(ValueError):
    """A proposed parameter field has the wrong shape, non-finite values or values out of range."""


class BudgetExhaustedError(RuntimeError):
    """A PDE solve was requested after the episode's budget of PDE solves was spent."""


class EpisodeStateError(RuntimeError):
    """The environment was used out of order (step before reset, step after finalize)."""


class HarnessOnlyError(RuntimeError):
    """A solver asked a solver-side environment for the truth or the scoring (harness only)."""
