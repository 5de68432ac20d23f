"""Wave physics: acquisition, OpenFWI's reference solver, the deepwave propagator, wavelets, filters.

Importing this package is cheap: deepwave is loaded only when :mod:`invbench.physics.acoustic`
first runs a simulation.
"""

from invbench.physics.acoustic import AcousticPropagator, default_device, simulate
from invbench.physics.acquisition import OPENFWI, TINY, Acquisition
from invbench.physics.filters import highpass, lowpass
from invbench.physics.reference import reference_forward
from invbench.physics.wavelet import ricker

__all__ = [
    "OPENFWI",
    "TINY",
    "AcousticPropagator",
    "Acquisition",
    "default_device",
    "highpass",
    "lowpass",
    "reference_forward",
    "ricker",
    "simulate",
]
