"""The ``invbench`` command line: tasks, runs, benchmarks, the leaderboard, training and reporting priors.

Each module adds its commands to the one Typer :data:`app`: :mod:`.run` (``tasks``, ``run``),
:mod:`.bench` (``bench``, ``verify``), :mod:`.demo`, :mod:`.leaderboard`, :mod:`.priors`
(``train-prior``, ``prior-report``), :mod:`.train` (``train``: field autoencoders, latent diffusion,
InversionNet), :mod:`.pairs` (``generate-pairs``: training pairs of data-driven FWI).
"""

from invbench.cli import bench, demo, leaderboard, pairs, priors, run, train  # noqa: F401  (register the commands)
from invbench.cli.app import app

__all__ = ["app", "main"]


def main() -> None:
    """Console-script entry point."""
    app()
