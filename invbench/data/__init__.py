"""Velocity-map data: procedural OpenFWI families and a loader for real OpenFWI files.

Importing this package needs only numpy (scipy is imported lazily by the Style generator).

* :func:`generate` draws maps of one of the ten 2D OpenFWI :data:`FAMILIES`
  (:data:`FAMILY_INFO` has a one-line description of each).
* :class:`OpenFWIDirectory` reads a folder of downloaded OpenFWI ``.npy`` files, memory-mapped;
  problems raise :class:`DataFileError`.
"""

from invbench.data.families import FAMILIES, FAMILY_INFO, canonical_family, generate
from invbench.data.openfwi import DataFileError, OpenFWIDirectory, load_velocity_file

__all__ = [
    "FAMILIES",
    "FAMILY_INFO",
    "DataFileError",
    "OpenFWIDirectory",
    "canonical_family",
    "generate",
    "load_velocity_file",
]
