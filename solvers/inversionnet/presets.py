"""The ``lite`` and ``paper`` presets of InversionNet: network widths, time sampling, optimisation.

``paper`` is OpenFWI's released set-up (github.com/lanl/OpenFWI, ``train.py`` and ``network.py``): the full
network (widths 32, 64, 128, 256, 512; 24.4 M parameters) on 1 ms data (``generate-pairs --decimate 1``),
AdamW with learning rate 1e-4, betas (0.9, 0.999) and weight decay 1e-4, batch 256, no warm-up, no
clipping, no learning-rate milestones, L1 loss (OpenFWI's README trains with ``-g2v 0``), no EMA (the
exported weights are the last ones, as OpenFWI's). OpenFWI trains 120 epochs (``epoch_block`` 40 x
``num_block`` 3); on the 144,000 training pairs the four OpenFWI data sets of the mixture hold (24 k each
for the Vel, 48 k each for the Fault families) that is 67,500 steps of 256. Measured on this project's
2-core CPU (1 thread, the other core busy): 4.2 s per step of batch 8, i.e. about 1.9 pairs/s: a GPU job.

``lite`` trains on that CPU in about an hour. Its widths are OpenFWI's quartered (8, 16, 32, 64, 128;
a 1 x 1 x 128 latent): a convolution's cost falls with the square of its width. Half widths (4.34 M
parameters, 8.7 MB in float16) were measured at 1.43 steps/s, quarter widths about 2.2x faster again;
the quarter is chosen because the repository's shipped weights share a budget of about 60 MB (48 MB were
taken before InversionNet and WaveDiffusion) and because a CPU hour then buys twice the steps. Which of
the two trains the better network in the same time is untested. ``lite`` reads data decimated to 4 ms
(250 samples; :data:`invbench.data.pairs.DEFAULT_TIME_DECIMATION`) with OpenFWI's four temporal strides
of 2 kept, so each temporal feature map is 4 times coarser in time than OpenFWI's at the same depth
(250 -> 125 -> 63 -> 32 -> 16 samples, 8 to 64 ms apart, against OpenFWI's 2 to 16 ms) and the encoder
costs about a quarter of what it would on 1 ms data. It trains with bfloat16 autocast (this CPU has
AMX/AVX-512 BF16: 1.8x faster per step than float32 here), AdamW at a larger learning rate than OpenFWI's
(5e-4, 200 warm-up steps, gradient clipping at 1) because it takes far fewer steps, batch 32, and an EMA
of the weights (decay 0.999) for a steadier export.

Measured (2026-12-07, this project's 2-core VM, ``lscpu``: Intel Xeon with AMX; 1 thread, while two other
jobs kept both cores busy): at half width, through the shared training loop on 64 FlatVel-A pairs, timed
over steps 6-30: 1.43 steps/s with bfloat16 (0.70 s per step of 32 pairs), 0.80 steps/s in float32
(``studies/inversionnet/pairs.py``). At quarter width (the ``lite`` preset, 1,085,899 parameters) the
training run itself reports its steps per second and wall time in the manifest; 10,000 steps of 32
(320,000 pairs seen, 40 epochs of 2,000 pairs per family) fit in about an hour at the measured 2.2x.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from invbench.nn.training import TrainSpec
from solvers.inversionnet.network import WIDTHS

PRESETS: tuple[str, ...] = ("lite", "paper")


@dataclass(frozen=True)
class InversionNetPreset:
    """A named InversionNet configuration with its training settings.

    Attributes:
        name: ``"lite"``, ``"paper"`` or a test's own.
        widths: ``dim1 .. dim5`` of :class:`~solvers.inversionnet.network.InversionNet`.
        time_strides: Strides of its four temporal convolutions.
        time_decimation: The network reads data decimated by this factor (from 1 ms).
        weight_decay: AdamW's decoupled weight decay.
        train: Optimisation settings of the shared training loop.
        source: Where the settings come from.
    """

    name: str
    widths: tuple[int, ...]
    time_strides: tuple[int, ...]
    time_decimation: int
    weight_decay: float
    train: TrainSpec
    source: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (manifests and resume checks)."""
        return asdict(self)

    def with_steps(self, steps: int) -> InversionNetPreset:
        """The preset with another step count."""
        return replace(self, train=replace(self.train, steps=int(steps)))

    def network_config(
        self, shots: int, time_samples: int, receivers: int, out_shape: tuple[int, int]
    ) -> dict[str, Any]:
        """Keyword arguments of :class:`~solvers.inversionnet.network.InversionNet` for one acquisition."""
        return {
            "shots": int(shots),
            "time_samples": int(time_samples),
            "receivers": int(receivers),
            "out_shape": [int(out_shape[0]), int(out_shape[1])],
            "widths": list(self.widths),
            "time_strides": list(self.time_strides),
        }


_LITE = InversionNetPreset(
    name="lite",
    widths=tuple(w // 4 for w in WIDTHS),
    time_strides=(2, 2, 2, 2),
    time_decimation=4,
    weight_decay=1e-4,
    train=TrainSpec(
        batch_size=32,
        lr=5e-4,
        steps=10000,
        warmup_steps=200,
        adam_betas=(0.9, 0.999),
        grad_clip=1.0,
        ema_decay=0.999,
        ema_every=1,
        ema_start=500,
        checkpoint_every=1000,
        amp=True,
        export_dtype="float16",
    ),
    source="invbench lite: OpenFWI's InversionNet at quarter width on 4 ms data, for a 2-core CPU",
)

_PAPER = InversionNetPreset(
    name="paper",
    widths=WIDTHS,
    time_strides=(2, 2, 2, 2),
    time_decimation=1,
    weight_decay=1e-4,
    train=TrainSpec(
        batch_size=256,
        lr=1e-4,
        steps=67500,
        warmup_steps=0,
        adam_betas=(0.9, 0.999),
        grad_clip=0.0,
        ema_decay=0.0,
        ema_every=1,
        ema_start=0,
        checkpoint_every=2500,
        amp=False,
        export_dtype="float32",
    ),
    source="OpenFWI release (github.com/lanl/OpenFWI train.py, network.py): AdamW 1e-4, wd 1e-4, batch 256",
)

_BY_NAME = {"lite": _LITE, "paper": _PAPER}


def get_preset(name: str) -> InversionNetPreset:
    """The preset called ``name``.

    Raises:
        ValueError: Unknown preset.
    """
    if name not in _BY_NAME:
        raise ValueError(f"unknown InversionNet preset {name!r} (presets: {', '.join(PRESETS)})")
    return _BY_NAME[name]
