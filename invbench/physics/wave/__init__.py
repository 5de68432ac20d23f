"""Wave physics: acquisition, OpenFWI's reference solver, the deepwave propagator, wavelets, filters.

Importing this package is cheap: deepwave is loaded only when :mod:`invbench.physics.wave.propagator`
first runs a simulation.
"""

from invbench.physics.wave.acquisition import OPENFWI, TINY, Acquisition
from invbench.physics.wave.filters import highpass, lowpass
from invbench.physics.wave.propagator import AcousticPropagator, simulate
from invbench.physics.wave.reference import reference_forward
from invbench.physics.wave.wavelet import ricker

__all__ = [
    "OPENFWI",
    "TINY",
    "AcousticPropagator",
    "Acquisition",
    "highpass",
    "lowpass",
    "reference_forward",
    "ricker",
    "simulate",
]
