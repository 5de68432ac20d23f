"""``python -m invbench.cli``."""

from invbench.cli import main

main()
