"""The benchmark harness behind ``invbench bench`` (see ``docs/harness.md``).

* :mod:`.suites`: the declared suites (``smoke``, ``standard``).
* :mod:`.seeds`: per-cell seeds derived with SHA-256 from one base seed.
* :mod:`.cells`: a cell (task, instance, solver, parameters, repetition) and suite expansion.
* :mod:`.execute`: run one cell into a result row (statuses, counters, memory, provenance),
  with :mod:`.guards` (timeout, divergence), :mod:`.memory` and :mod:`.provenance`.
* :mod:`.store`: the parquet results folder (atomic writes, resume).
* :mod:`.executors`: local and dask.distributed execution.
* :mod:`.display`: live progress and the summary table.
* :mod:`.runner`: the loop tying them together.
"""
