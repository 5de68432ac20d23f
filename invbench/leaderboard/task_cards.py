"""Task cards: what each task on the leaderboard asks, read from its registered settings.

A card spells out a task's physics, acquisition, data condition, initial model, budget, splits and
metrics with their units. The values come from :func:`invbench.registry.task_options` (the registered
kwargs over the environment's defaults) and the constants the environments use (acquisition presets,
velocity range, Darcy families); a task this checkout no longer registers is described from the
settings its rows recorded (``task_options``). A task whose registry entry is marked as superseded, or
that has a newer ``-vN`` registered, says so: its rows are results of the old generator.

Units are where readers go wrong, so each family states them once (:func:`metric_definitions`): FWI
reports velocity errors in OpenFWI's normalised units, Darcy reports errors of the natural log of the
conductivity, not normalised at all, with SSIM and PSNR on fields rescaled by the true field's range.
"""

from __future__ import annotations

import inspect
import json
import math
import re
from typing import Any

import pandas as pd

from invbench import registry
from invbench.leaderboard.markdown import text

FAMILY_TITLES = {"fwi": "FWI", "darcy": "Darcy"}


def card_anchor(task: str) -> str:
    """The id of a task's card on the page (``taskcard-<name>``)."""
    return "taskcard-" + re.sub(r"[^A-Za-z0-9]+", "-", task.split("/", 1)[-1]).strip("-").lower()


def _version(task: str) -> tuple[str, int] | None:
    m = re.fullmatch(r"(.+)-v(\d+)", task)
    return (m.group(1), int(m.group(2))) if m else None


def superseded_by(task: str) -> str | None:
    """The task id that replaces ``task``, or ``None``.

    An explicit marker wins: a ``superseded_by`` entry in the task's registered settings, or a
    ``SUPERSEDED_BY``/``SUPERSEDED`` mapping in :mod:`invbench.registry`. Otherwise a registered id that
    differs only by a higher ``-vN`` supersedes it (a bump means something that changes results changed).
    """
    for name in ("SUPERSEDED_BY", "SUPERSEDED"):
        marks = getattr(registry, name, None)
        if isinstance(marks, dict) and marks.get(task):
            return str(marks[task])
    entry = registry.TASKS.get(task)
    if entry is not None:
        extra = [part for part in entry[1:] if isinstance(part, dict) and part.get("superseded_by")]
        if extra:
            return str(extra[0]["superseded_by"])
    mine = _version(task)
    if mine is None:
        return None
    newer = [(v[1], t) for t in registry.TASKS if (v := _version(t)) and v[0] == mine[0] and v[1] > mine[1]]
    return max(newer)[1] if newer else None


def _recorded_options(rows: pd.DataFrame) -> dict[str, Any]:
    """The settings the rows recorded (the last row that has them; older rows have none)."""
    for value in reversed(list(rows["task_options"])) if "task_options" in rows.columns else []:
        if isinstance(value, str) and value.strip():
            try:
                parsed = json.loads(value)
            except json.JSONDecodeError:
                continue
            if isinstance(parsed, dict):
                return parsed
    return {}


def _family(task: str, options: dict[str, Any]) -> str:
    if task in registry.TASKS:
        return str(registry.env_class(task).task_family)
    name = task.split("/", 1)[-1]
    return next((f for f, title in FAMILY_TITLES.items() if name.startswith(title + "-")), "")


def _pct(x: float) -> str:
    return f"{100 * x:g} %"


def _fwi_facts(o: dict[str, Any]) -> dict[str, str]:
    """The card lines of an FWI task (options as :func:`invbench.registry.task_options` gives them)."""
    from invbench.physics.wave.acquisition import acquisition_preset

    acq = acquisition_preset(o.get("acquisition", "openfwi"))
    observed = (
        "observed data simulated with OpenFWI's own finite-difference scheme "
        "(invbench/physics/wave/reference.py), so inversion does not commit the inverse crime"
        if o.get("observed_solver", "reference") == "reference"
        else "observed data simulated with deepwave too (the inverse crime: the same discretisation)"
    )
    every = list(acq.rec_x) == list(range(acq.nx))
    receivers = "every column" if every else "x-index " + ", ".join(str(x) for x in acq.rec_x)
    condition = []
    if o.get("noise", 0.0) > 0:
        condition.append(
            f"{o.get('noise_type', 'gaussian')} noise, std {_pct(o['noise'])} of the clean data's RMS"
        )
    if o.get("missing_traces", 0) > 0:
        m = int(o["missing_traces"])
        condition.append(
            f"{m} of {acq.n_receivers} receivers missing ({m / acq.n_receivers:.0%}; the same ones for every "
            "shot, zeroed and masked)"
        )
    if o.get("lowcut", 0.0) > 0:
        condition.append(f"low-cut filter at {o['lowcut']:g} Hz on observed and predicted data")
    initial = {
        "smooth": f"the true map smoothed by a Gaussian of σ = {o.get('smooth_sigma', 10.0):g} cells",
        "linear": "a 1D ramp in depth from the true map's top-row mean to its bottom-row mean",
        "homogeneous": "the true map's mean everywhere",
    }.get(str(o.get("initial", "smooth")), str(o.get("initial")))
    maps = (
        f"real OpenFWI maps from {o['data_dir']}"
        if o.get("data_dir")
        else f"procedural OpenFWI {o.get('family', '?')} maps (invbench/data/families.py)"
    )
    if "family_version" in o:  # families whose generator was rebuilt pin the version a task uses
        maps += f", generator version {o['family_version']}"
    return {
        "physics": f"2D constant-density acoustic wave equation on {acq.nz} × {acq.nx} cells of "
        f"{acq.dx:g} m; inversion's forward model deepwave (C-PML); {observed}",
        "true model": maps,
        "acquisition": f"{acq.n_shots} shots, sources at x-index {', '.join(str(x) for x in acq.src_x)} "
        f"(depth index {acq.src_z}); {acq.n_receivers} receivers at depth index {acq.rec_z} ({receivers}); "
        f"{acq.nt} time samples every {acq.dt * 1e3:g} ms ({acq.nt * acq.dt:g} s); Ricker source wavelet, "
        f"{acq.freq:g} Hz peak",
        "data condition": "; ".join(condition) or "clean (no noise, every trace recorded)",
        "initial model": initial,
        "budget": f"{o.get('budget', '?')} PDE solves per instance (a solve: one forward or one adjoint "
        f"simulation of all {acq.n_shots} shots); reward: the relative {o.get('misfit', 'l2')} data misfit",
    }


def _darcy_facts(o: dict[str, Any]) -> dict[str, str]:
    """The card lines of a Darcy task."""
    from invbench.data.darcy_fields import BIMATERIAL_K, grf_log_k
    from invbench.tasks.darcy.sensors import FAMILIES

    n = int(o.get("n", 64))
    grf = inspect.signature(grf_log_k).parameters
    fields = {
        "GRF": f"Gaussian random fields of log k (FNO/PDEBench covariance, τ = {grf['tau'].default:g}, "
        f"α = {grf['alpha'].default:g}; mean {grf['mean'].default:g}, std {grf['std'].default:g})",
        "Bimaterial": "two-phase fields: the Gaussian random field thresholded at 0, "
        f"k = {BIMATERIAL_K[1]:g} above and {BIMATERIAL_K[0]:g} below (sharp interfaces)",
    }
    family = str(o.get("family", "GRF"))
    bc = {
        "dirichlet0": "u = 0 on the boundary, source f = 1",
        "head_drop": "u = 1 at x = 0 and u = 0 at x = 1, no flow at y = 0 and 1, no source",
    }.get(str(o.get("bc", "dirichlet0")), str(o.get("bc")))
    layout = str(o.get("sensor_layout", "grid"))
    sensors = (
        f"{len(o['sensor_coords'])} head sensors at given points"
        if o.get("sensor_coords")
        else f"{o.get('sensors', 64)} head sensors, "
        + {
            "grid": "a regular √S × √S sub-grid of cell centres",
            "random": "distinct cells drawn per instance",
        }.get(layout, layout)
    )
    center = FAMILIES[family].center if family in FAMILIES else math.nan
    return {
        "physics": f"steady Darcy flow −∇·(k ∇u) = f on the unit square, cell-centred finite volumes on "
        f"{n} × {n} cells; {bc}; observed heads from the same discretisation (the noise keeps the truth "
        "from fitting exactly)",
        "true model": fields.get(family, family),
        "acquisition": sensors,
        "data condition": f"{o.get('noise_type', 'gaussian')} noise, std {_pct(o.get('noise', 0.0))} of the "
        "RMS of the clean sensor heads",
        "initial model": f"the constant log k = {center:.4g}, the family's prior mean (not the true field's "
        "mean)",
        "budget": f"{o.get('budget', '?')} PDE solves per instance (a solve: one forward or one adjoint "
        f"Darcy solve); reward: the relative {o.get('misfit', 'l2')} misfit of the sensor heads",
    }


def metric_definitions(family: str) -> str:
    """What a family's metrics measure and in which units, as one paragraph (``""``: unknown family)."""
    if family == "fwi":
        from invbench.physics.wave.units import V_CENTER, V_MAX, V_MIN, V_SCALE

        return (
            f"MAE and RMSE of the velocity in OpenFWI's normalised units v_n = (v − {V_CENTER:g}) / "
            f"{V_SCALE:g}, which map [{V_MIN:g}, {V_MAX:g}] m/s to [−1, 1]: multiply by {V_SCALE:g} for m/s "
            f"(an MAE of 0.05 is {0.05 * V_SCALE:g} m/s). SSIM on (v_n + 1) / 2 in [0, 1] (11 × 11 Gaussian "
            "window, σ 1.5, as OpenFWI's evaluation). data_misfit: the task's relative data misfit of the "
            "estimate. Ranked by MAE, lower is better."
        )
    if family == "darcy":
        from invbench.tasks.darcy.sensors import FAMILIES

        scales = "; ".join(f"{f.name}: {f.center:.3g} and {f.scale:.3g}" for f in FAMILIES.values())
        return (
            "rel_l2 = ‖log k̂ − log k‖₂ / ‖log k‖₂ over the grid (dimensionless; it ranks the task). MAE and "
            "RMSE in log-k units, the natural log of the conductivity, not rescaled: nothing is "
            "normalised (an error of 0.2 in log k is a factor e^0.2 ≈ 1.22 in k). SSIM and PSNR (dB) "
            "compare both fields after mapping them by the true field's range, "
            "(log k − min log k_true) / (max log k_true − min log k_true), data range 1. head_rel_l2: "
            "relative L2 error of the full head field the estimate predicts. wrong_phase (Bimaterial "
            "only): share of cells on the other side of the midpoint of the two phases' log k than the "
            "truth. data_misfit: the relative misfit of the sensor heads. Solvers may work on a "
            "normalised field (log k − field_center) / field_scale "
            f"({scales}), but no metric uses it."
        )
    return ""


def task_cards(results: pd.DataFrame, tasks: list[str]) -> list[dict[str, Any]]:
    """One card per task, in the order given.

    Args:
        results: Every results row (for the hidden tier and the settings older tasks recorded).
        tasks: The task ids on the board.

    Returns:
        JSON-ready cards: ``task``, ``anchor``, ``family``, ``registered``, ``superseded_by``, ``facts``
        (label -> text, in display order), ``metrics`` (the family's definitions) and ``differs`` (settings
        the rows recorded that differ from the registry's now).
    """
    cards = []
    for task in tasks:
        rows = results[results["task"].astype(str) == task]
        recorded = _recorded_options(rows)
        registered = task in registry.TASKS
        options = registry.task_options(task) if registered else recorded
        family = _family(task, options)
        facts = {"fwi": _fwi_facts, "darcy": _darcy_facts}.get(family, lambda o: {})(options)
        splits = f"{options.get('n_val', '?')} val and {options.get('n_test', '?')} test instances"
        if "split" in rows.columns and (rows["split"].astype(str) == "hidden").any():
            splits += "; a hidden tier, seeded by the maintainers' secret salt, ranked separately"
        facts["instances"] = splits + " (deterministic: the same on every machine)"
        differs = {k: v for k, v in recorded.items() if registered and k in options and options[k] != v}
        cards.append(
            {
                "task": task,
                "anchor": card_anchor(task),
                "family": family,
                "registered": registered,
                "superseded_by": superseded_by(task),
                "facts": facts,
                "metrics": metric_definitions(family),
                "differs": {k: json.dumps(v) for k, v in differs.items()},
            }
        )
    return cards


def card_markdown(card: dict[str, Any]) -> str:
    """One task card as a Markdown subsection."""
    lines = [f"### Task card: {text(card['task'])}", ""]
    if card["superseded_by"]:
        lines += [f"**Superseded by {text(card['superseded_by'])}; results of the old generator.**", ""]
    if not card["registered"]:
        lines += ["Not registered in this checkout: described from the settings its rows recorded.", ""]
    lines += [f"- **{text(label)}**: {text(value)}" for label, value in card["facts"].items()]
    title = FAMILY_TITLES.get(card["family"], card["family"])
    if card["metrics"]:
        lines.append(f"- **metrics**: as every {text(title)} task (see {text(title)} metrics above)")
    if card["differs"]:
        shown = ", ".join(f"{text(k)}={text(v)}" for k, v in card["differs"].items())
        lines.append(f"- **note**: its rows recorded other settings than the registry's now: {shown}")
    return "\n".join(lines) + "\n"


def task_cards_markdown(cards: list[dict[str, Any]]) -> str:
    """The task cards section of the README: each family's metrics once, then one card per task."""
    if not cards:
        return ""
    out = [
        "## Task cards",
        "",
        "What each task on the board asks, from its registered settings (`invbench/registry.py` over the "
        "environment's defaults).",
        "",
    ]
    for family in dict.fromkeys(c["family"] for c in cards):
        definitions = metric_definitions(family)
        if definitions:
            out += [f"**{text(FAMILY_TITLES.get(family, family))} metrics.** {text(definitions)}", ""]
    return "\n".join(out) + "\n" + "\n".join(card_markdown(c) for c in cards)
