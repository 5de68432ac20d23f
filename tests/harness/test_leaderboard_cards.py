"""Leaderboard method cards, task cards, the headline plot, and the hidden tier with verified rows."""

import hashlib
import inspect
import json
from pathlib import Path

import pandas as pd
import pytest

from invbench import registry
from invbench.core.solver import BUILTIN_SOLVERS
from invbench.leaderboard.build import HEADLINE_FIGURE, build
from invbench.leaderboard.headline import headline_panels
from invbench.leaderboard.method_cards import method_cards, method_cards_markdown
from invbench.leaderboard.task_cards import superseded_by, task_cards, task_cards_markdown
from invbench.leaderboard.tiers import VERIFIED_LEGEND, VERIFIED_MARK
from invbench.physics.wave.acquisition import acquisition_preset
from invbench.tasks.darcy.sensors import FAMILIES as DARCY_FAMILIES

from .test_leaderboard import page_data

ROOT = Path(__file__).resolve().parents[2]
BOARD = ROOT / "leaderboard" / "results.parquet"
FLAT, CURVE = "invbench/FWI-FlatVel-A-v0", "invbench/FWI-CurveVel-A-v0"


# --------------------------------------------------------------------------- a synthetic results frame


def _line(task, solver, maes, *, solves=600.0, split="test", instances=None, **extra):
    """Rows of one (task, solver) line: one row per MAE; ``instances`` default 0, 1, 2, ..."""
    instances = list(range(len(maes))) if instances is None else instances
    rows = []
    for i, (inst, mae) in enumerate(zip(instances, maes, strict=True)):
        rows.append(
            {
                "cell_id": f"{task}|{solver}|{split}|{inst}|{i}",
                "suite": "standard",
                "task": task,
                "task_name": task.split("/")[1].rsplit("-v", 1)[0],
                "split": split,
                "instance": inst,
                "solver": solver,
                "solver_spec": BUILTIN_SOLVERS.get(solver, solver),
                "params": "{}",
                "params_hash": "h-" + solver,
                "repetition": i,
                "seed": i,
                "status": "done",
                "reason": "",
                "pde_solves": solves,
                "budget": 600,
                "wall_time": 1.0,
                "device": "cpu",
                "metric_mae": mae,
                "metric_rmse": 2 * mae,
                "metric_ssim": 1 - mae,  # the red-diffeq study section reads SSIM beside MAE
                "checkpoint_hashes": "{}",
                "weights": "[]",
                "amortized": False,
                **extra,
            }
        )
    return rows


def _frame(*lines) -> pd.DataFrame:
    return pd.DataFrame([r for line in lines for r in line])


def _manifest(name: str) -> tuple[dict, Path]:
    """A shipped checkpoint's manifest and weights file, found on disk independently of the code."""
    (path,) = ROOT.glob(f"solvers/*/weights/{name}.json")
    manifest = json.loads(path.read_text())
    return manifest, path.with_name(manifest["weights"]["file"])


def _section(markdown: str, heading: str) -> str:
    """The text of one ``### heading`` subsection."""
    start = markdown.index(heading + "\n")
    end = markdown.find("\n### ", start + 1)
    return markdown[start : end if end > 0 else None]


# --------------------------------------------------------------------------- method cards


@pytest.fixture(scope="module")
def board_cards():
    results = pd.read_parquet(BOARD)
    return results, method_cards(results, [])


def test_every_method_card_names_its_module_and_learned_ones_their_real_weight_hashes(board_cards):
    results, cards = board_cards
    text = method_cards_markdown(cards)
    learned = set()
    for solver in sorted(set(results["solver"])):
        section = _section(text, f"### Method: {solver}")
        module = BUILTIN_SOLVERS[solver].split(":")[0].replace(".", "/") + ".py"
        assert (ROOT / module).is_file() and module in section
        card = next(c for c in cards if c["solver"] == solver)
        if card["kind"] not in ("learned prior (iterative)", "amortized"):
            assert "sha256" not in section
            continue
        learned.add(solver)
        rows = results[(results["solver"] == solver) & (results["status"] != "skipped")]
        names = {n for h in rows["checkpoint_hashes"].dropna() for n in json.loads(h)}
        assert names, solver
        for name in names:
            manifest, weights = _manifest(name)
            sha = manifest["weights"]["sha256"]
            assert (
                hashlib.sha256(weights.read_bytes()).hexdigest() == sha
            )  # the shipped file is its manifest's
            assert sha in section
            entry = next(w for w in card["weights"] if w["name"] == name)
            assert entry["training"]["steps"] == manifest["training"]["steps"] and entry["note"] == ""
    assert learned == {"red-diffeq", "diffusion-fwi", "vae", "ld-dim", "inversionnet"}
    red = _section(text, "### Method: red-diffeq")
    assert "arxiv.org/abs/2509.21659" in red and "lam=0.75" in red


def test_a_card_flags_rows_that_ran_other_weights_and_escapes_an_unknown_solver():
    manifest, _ = _manifest("fwi-lite")
    other = "0" * 64
    frame = _frame(
        _line(FLAT, "red-diffeq", [0.1, 0.1], checkpoint_hashes=json.dumps({"fwi-lite": other})),
        _line(FLAT, "<b>evil</b>|x", [0.2, 0.2], amortized=True),
    )
    cards = {c["solver"]: c for c in method_cards(frame, [])}
    (entry,) = cards["red-diffeq"]["weights"]
    assert entry["sha256"] == manifest["weights"]["sha256"] and other in entry["note"]
    evil = cards["<b>evil</b>|x"]
    assert not evil["loadable"] and evil["kind"] == "amortized"
    text = method_cards_markdown(list(cards.values()))
    assert "<b>" not in text and "&lt;b&gt;evil&lt;/b&gt;&#124;x" in text and "not in this checkout" in text


# --------------------------------------------------------------------------- task cards


def _registered_options(task: str) -> dict:
    """A task's settings read straight from its registry entry over the environment's signature."""
    cls = registry.env_class(task)
    defaults = {
        k: p.default
        for k, p in inspect.signature(cls.__init__).parameters.items()
        if p.default is not p.empty
    }
    return {**defaults, **registry.TASKS[task][1]}


def test_task_card_values_are_the_registered_settings():
    tasks = list(registry.TASKS)
    cards = {c["task"]: c for c in task_cards(pd.DataFrame({"task": [], "split": []}), tasks)}
    for task in tasks:
        o, card = _registered_options(task), cards[task]
        facts = " | ".join(card["facts"].values())
        assert f"{o['budget']} PDE solves" in card["facts"]["budget"], task
        assert f"{o['n_val']} val and {o['n_test']} test" in card["facts"]["instances"]
        if card["family"] == "fwi":
            acq = acquisition_preset(o["acquisition"])
            for value in (
                f"{acq.nz} × {acq.nx} cells",
                f"{acq.n_shots} shots",
                f"{acq.n_receivers} receivers",
            ):
                assert value in facts, (task, value)
            assert f"{acq.nt} time samples" in facts and f"{acq.freq:g} Hz" in facts
            condition = card["facts"]["data condition"]
            if o["noise"]:
                assert f"std {100 * o['noise']:g} %" in condition
            if o["missing_traces"]:
                assert f"{o['missing_traces']} of {acq.n_receivers} receivers missing" in condition
            if not o["noise"] and not o["missing_traces"]:
                assert condition.startswith("clean")
            assert f"σ = {o['smooth_sigma']:g} cells" in card["facts"]["initial model"]
        else:
            assert card["family"] == "darcy"
            assert f"{o['n']} × {o['n']} cells" in facts and f"{o['sensors']} head sensors" in facts
            assert f"std {100 * o['noise']:g} %" in card["facts"]["data condition"]
            assert f"{DARCY_FAMILIES[o['family']].center:.4g}" in card["facts"]["initial model"]
        # the registry's own marker, where it has one (older fault-family ids point at their -v1)
        assert card["superseded_by"] == (getattr(registry, "SUPERSEDED", None) or {}).get(task)


def test_a_changed_registry_entry_changes_its_card(monkeypatch):
    entry, kwargs = registry.TASKS[FLAT]
    monkeypatch.setitem(registry.TASKS, FLAT, (entry, {**kwargs, "budget": 123, "noise": 0.07}))
    (card,) = task_cards(pd.DataFrame({"task": []}), [FLAT])
    assert card["facts"]["budget"].startswith("123 PDE solves")
    assert "std 7 % of the clean data's RMS" in card["facts"]["data condition"]


def test_units_are_spelled_out_for_both_families():
    cards = task_cards(pd.DataFrame({"task": []}), [FLAT, "invbench/Darcy-GRF-v0"])
    text = task_cards_markdown(cards)
    assert "v_n = (v − 3000) / 1500" in text and "multiply by 1500 for m/s" in text
    darcy = cards[1]["metrics"]
    assert "natural log of the conductivity" in darcy and "nothing is normalised" in darcy
    assert "mapping them by the true field's range" in darcy  # what SSIM and PSNR rescale


def test_superseded_tasks_say_so(monkeypatch):
    for name in ("SUPERSEDED", "SUPERSEDED_BY"):
        monkeypatch.setattr(registry, name, {}, raising=False)
    assert superseded_by(FLAT) is None  # no marker, no newer version: nothing to say
    newer = "invbench/FWI-FlatVel-A-v1"
    monkeypatch.setitem(registry.TASKS, newer, registry.TASKS[FLAT])
    assert superseded_by(FLAT) == newer and superseded_by(newer) is None
    text = task_cards_markdown(task_cards(pd.DataFrame({"task": []}), [FLAT]))
    assert f"Superseded by {newer}; results of the old generator." in text
    monkeypatch.setattr(registry, "SUPERSEDED", {CURVE: "invbench/FWI-CurveVel-A-v7"})
    assert superseded_by(CURVE) == "invbench/FWI-CurveVel-A-v7"  # an explicit marker needs no newer id


def test_an_unregistered_task_is_described_from_its_recorded_settings():
    task = "invbench/FWI-Retired-v0"
    recorded = json.dumps({"family": "FlatVel-A", "acquisition": "tiny", "budget": 40, "noise": 0.2})
    frame = _frame(_line(task, "tv", [0.1], task_options=recorded))
    (card,) = task_cards(frame, [task])
    assert not card["registered"] and card["facts"]["budget"].startswith("40 PDE solves")
    assert "3 shots" in card["facts"]["acquisition"] and "std 20 %" in card["facts"]["data condition"]


# --------------------------------------------------------------------------- headline plot


def _summaries(frame):
    from invbench.leaderboard.aggregate import summarize_task

    return [(t, summarize_task(frame[frame["task"] == t])[0]) for t in dict.fromkeys(frame["task"])]


def test_headline_points_are_the_means_of_the_ranked_rows():
    frame = _frame(
        _line(FLAT, "tv", [0.1, 0.3]),
        _line(FLAT, "adam", [0.2, 0.2]),
        # CurveVel-A has more ranked lines, so it represents the clean FWI group
        _line(CURVE, "tv", [0.10, 0.20, 0.30, 0.30], instances=[0, 1, 2, 2], solves=590.0),
        _line(CURVE, "adam", [0.30, 0.40, 0.50], solves=600.0),
        _line(CURVE, "initial", [0.60, 0.60, 0.60], solves=0.0),
        _line(CURVE, "lbfgs", [0.05, 0.05], instances=[0, 1]),  # other instances: not ranked
        _line("invbench/Darcy-GRF-v0", "tikhonov", [0.4, 0.6], metric_rel_l2=0.3),
    )
    panels = {p["group"]: p for p in headline_panels(_summaries(frame), frame)}
    assert set(panels) == {"FWI clean", "Darcy"}
    clean = panels["FWI clean"]
    assert clean["task"] == CURVE and clean["instances"] == 3
    points = {p["label"]: p for p in clean["points"]}
    assert set(points) == {"tv", "adam", "initial"}
    curve = frame[frame["task"] == CURVE]
    for label, point in points.items():
        rows = curve[curve["solver"] == label]
        per_instance = rows.groupby("instance")[["metric_mae", "pde_solves"]].mean()  # repetitions first
        assert point["mae"] == pytest.approx(per_instance["metric_mae"].mean())
        assert point["pde_solves"] == pytest.approx(per_instance["pde_solves"].mean())
    assert points["tv"]["mae"] == pytest.approx((0.1 + 0.2 + 0.3) / 3)  # not the plain row mean 0.225
    axis = clean["axis"]
    assert axis["zero_at"] < axis["break_at"] < axis["lo"] <= 590 and axis["hi"] >= 600
    assert panels["Darcy"]["ylabel"] == "MAE of log k"


def test_learned_and_amortized_points_carry_their_training_cost(tmp_path):
    manifest, _ = _manifest("fwi-lite")
    frame = _frame(
        _line(FLAT, "tv", [0.1, 0.2]),
        _line(FLAT, "red-diffeq", [0.1, 0.1], checkpoint_hashes=json.dumps({"fwi-lite": "x"})),
        _line(FLAT, "my_pkg:Net", [0.3, 0.3], solves=0.0, amortized=True),
    )
    points = {p["solver"]: p for p in headline_panels(_summaries(frame), frame)[0]["points"]}
    hours = manifest["training"]["wall_time_s"] / 3600
    assert (
        points["red-diffeq"]["training"]
        == f"trained {hours:.2g} h on cpu, {manifest['training']['steps']:,} steps"
    )
    assert points["my_pkg:Net"]["amortized"] and points["my_pkg:Net"]["pde_solves"] == 0
    assert points["tv"]["training"] == ""
    frame.to_parquet(tmp_path / "results.parquet")
    paths = build(tmp_path, tmp_path)
    assert paths["headline"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    readme = paths["readme"].read_text()
    assert f"![MAE against PDE solves per method]({HEADLINE_FIGURE})" in readme
    assert (
        readme.index("## Quality at equal budget")
        < readme.index(f"## {FLAT}")
        < readme.index("## Method cards")
    )
    assert readme.index("## Method cards") < readme.index("## Task cards")
    data = page_data(paths["html"].read_text())
    labels = {p["label"] for p in data["headline"]["panels"][0]["points"]}
    assert {p["solver"] for p in data["headline"]["panels"][0]["points"]} == set(points)
    assert data["palette"]["tv"] and set(data["palette"]) >= labels


# --------------------------------------------------------------------------- hidden tier and verified rows


def _tiers(verified_column: bool = True) -> pd.DataFrame:
    """tv wins the test tier, adam the hidden one; tv's hidden rows are verified."""
    extra = {"verified": False} if verified_column else {}
    rows = _frame(
        _line(FLAT, "tv", [0.10, 0.12], **extra),
        _line(FLAT, "adam", [0.20, 0.22], **extra),
        _line(FLAT, "adam", [0.01, 0.03], split="hidden", **extra),
        _line(FLAT, "tv", [0.30, 0.32], split="hidden", **({"verified": True} if verified_column else {})),
    )
    return rows


def _table_lines(markdown: str, heading: str) -> dict[str, list[str]]:
    """``{solver cell: cells}`` of the first table after ``heading``."""
    # heading, the task-card line or the tier's note, the facts line, then the table
    table = markdown[markdown.index(heading) :].split("\n\n")[3]
    lines = [line for line in table.splitlines() if line.startswith("| ") and "---" not in line]
    return {cells[2].strip(): cells[1:] for cells in (line.split("|") for line in lines[1:])}


def test_hidden_rows_are_ranked_apart_and_verified_lines_marked(tmp_path):
    frame = _tiers()
    frame.to_parquet(tmp_path / "results.parquet")
    paths = build(tmp_path, tmp_path)
    readme = paths["readme"].read_text()
    test_table = _table_lines(readme, f"## {FLAT}\n")
    hidden_table = _table_lines(readme, f"### {FLAT}: hidden tier")
    assert test_table["**tv**"][0].strip() == "1" and test_table["**adam**"][0].strip() == "2"
    assert test_table["**tv**"][4].strip() == "0.11 ± 0.014"  # the test rows' mean only
    assert hidden_table["**adam**"][0].strip() == "1"
    assert hidden_table[f"**tv** {VERIFIED_MARK}"][0].strip() == "2"
    assert readme.count(VERIFIED_MARK) == 2  # the verified line and its one legend line
    assert VERIFIED_LEGEND in readme
    data = page_data(paths["html"].read_text())
    (task,) = data["tasks"]
    assert {r["solver"]: r["rank"] for r in task["rows"]} == {"tv": 1, "adam": 2}
    assert {r["solver"]: (r["rank"], r["verified"]) for r in task["hidden"]["rows"]} == {
        "adam": (1, False),
        "tv": (2, True),
    }
    assert data["verified_legend"] == VERIFIED_LEGEND
    assert {r["method"]: r["mean_rank"] for r in data["overview"]} == {"tv": 1.0, "adam": 2.0}
    # the headline plots the test tier only
    assert {p["label"]: p["mae"] for p in data["headline"]["panels"][0]["points"]} == pytest.approx(
        {"tv": 0.11, "adam": 0.21}
    )


def test_without_a_verified_column_nothing_is_verified(tmp_path):
    frame = _tiers(verified_column=False)
    assert "verified" not in frame.columns
    frame.to_parquet(tmp_path / "results.parquet")
    paths = build(tmp_path, tmp_path)
    readme = paths["readme"].read_text()
    assert VERIFIED_MARK not in readme and f"### {FLAT}: hidden tier" in readme
    data = page_data(paths["html"].read_text())
    assert data["verified_legend"] is None
    assert not any(r["verified"] for r in data["tasks"][0]["rows"] + data["tasks"][0]["hidden"]["rows"])


def test_a_task_with_only_hidden_rows_keeps_its_section(tmp_path):
    frame = _tiers()
    frame[frame["split"] == "hidden"].to_parquet(tmp_path / "results.parquet")
    paths = build(tmp_path, tmp_path)
    readme = paths["readme"].read_text()
    assert f"## {FLAT}\n\nNo test rows: only its hidden tier." in readme
    assert f"### {FLAT}: hidden tier" in readme and "## Quality at equal budget" not in readme
    assert page_data(paths["html"].read_text())["tasks"][0]["rows"] == []
