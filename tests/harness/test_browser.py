"""The leaderboard page in a real headless browser (Debian's chromium + chromedriver, via selenium).

Skipped, saying why, when /usr/bin/chromium, /usr/bin/chromedriver or selenium is missing
(install: ``apt-get install -y chromium chromium-driver``).
"""

import shutil
from pathlib import Path

import pytest

from invbench.leaderboard.build import build

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path(shutil.which("chromedriver") or "/usr/bin/chromedriver")

if not CHROMIUM.exists() or not CHROMEDRIVER.exists():
    pytest.skip(
        "headless browser test needs Debian's chromium and chromedriver "
        "(apt-get install -y chromium chromium-driver)",
        allow_module_level=True,
    )
webdriver = pytest.importorskip(
    "selenium.webdriver", reason="selenium is not installed (pip install selenium)"
)
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1300,2400",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=opts)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def page(bench_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("board")
    return build(bench_dir, out)["html"]


def column_values(table, col):
    return [
        td.get_attribute("data-value")
        for td in table.find_elements(By.CSS_SELECTOR, f"tbody td:nth-child({col})")
    ]


def test_page_loads_sorts_and_draws(browser, page, tmp_path):
    browser.get(page.as_uri())
    assert browser.execute_script("return document.body.dataset.ready") == "1"
    assert browser.execute_script("return window.__lbErrors") == []
    severe = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert severe == []

    tables = browser.find_elements(By.CSS_SELECTOR, "table.lb")
    assert len(tables) == 2
    table = tables[0]
    headers = table.find_elements(By.TAG_NAME, "th")
    labels = [h.text for h in headers]
    col = labels.index("mae ↓")
    headers[col].click()
    asc = [float(v) for v in column_values(table, col + 1) if v]
    assert asc == sorted(asc) and len(asc) == 3
    assert headers[col].get_attribute("aria-sort") == "ascending"
    headers[col].click()
    desc = [float(v) for v in column_values(table, col + 1) if v]
    assert desc == sorted(asc, reverse=True)
    assert headers[col].get_attribute("aria-sort") == "descending"
    solver_col = labels.index("solver")
    headers[solver_col].click()
    names = [v for v in column_values(table, solver_col + 1)]
    assert names == sorted(names)

    # plots: curves and bars as inline SVG, reconstructions as an inline PNG
    assert len(browser.find_elements(By.CSS_SELECTOR, "svg.curve-plot polyline.series")) >= 4
    bars = browser.find_elements(By.CSS_SELECTOR, "svg.bar-plot rect.bar")
    assert len(bars) == 3 + 2  # FWI: three solvers; Darcy: two (multiscale skipped)
    imgs = browser.find_elements(By.CSS_SELECTOR, "figure.example img")
    assert len(imgs) == 2
    assert all(browser.execute_script("return arguments[0].naturalWidth", i) > 100 for i in imgs)
    # switching the bar metric redraws the bars
    select = browser.find_elements(By.CSS_SELECTOR, "select.metric-select")[0]
    before = [
        b.get_attribute("data-value") for b in browser.find_elements(By.CSS_SELECTOR, "svg.bar-plot rect.bar")
    ][:3]
    select.find_element(By.CSS_SELECTOR, "option[value='ssim']").click()
    after = [
        b.get_attribute("data-value") for b in browser.find_elements(By.CSS_SELECTOR, "svg.bar-plot rect.bar")
    ][:3]
    assert before != after
    assert browser.execute_script("return window.__lbErrors") == []
    shot = tmp_path / "leaderboard.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000


def test_suite_section_renders_first_with_tables_and_figure(browser, suite_dir, tmp_path):
    browser.get(build(suite_dir, tmp_path)["html"].as_uri())
    assert browser.execute_script("return document.body.dataset.ready") == "1"
    assert browser.execute_script("return window.__lbErrors") == []
    sections = browser.find_elements(By.CSS_SELECTOR, "main > section")
    assert [s.get_attribute("id") for s in sections[:2]] == ["overview", "suite"]
    tables = sections[1].find_elements(By.CSS_SELECTOR, "table.suite")
    assert len(tables) == 2
    family = tables[0]
    assert [th.text for th in family.find_elements(By.TAG_NAME, "th")][:2] == ["family", "condition"]
    assert len(family.find_elements(By.CSS_SELECTOR, "tbody tr")) == 2  # clean and Noise10
    assert len(family.find_elements(By.CSS_SELECTOR, "tbody td b")) == 2  # one best per row, in bold
    assert "**" not in family.text
    img = sections[1].find_element(By.CSS_SELECTOR, "figure.example img")
    assert browser.execute_script("return arguments[0].naturalWidth", img) > 100
    links = [a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, "nav a")][:2]
    assert links[0].endswith("#overview") and links[1].endswith("#suite")


def test_overview_comes_first_and_sorts(browser, bench_dir, tmp_path):
    import pandas as pd

    from .test_leaderboard import _full_budget

    rows = _full_budget(pd.read_parquet(bench_dir / "results.parquet"))
    rows = rows.assign(
        task=rows["task"].str.replace("Tiny", "FlatVel-A"),
        task_name=rows["task_name"].str.replace("Tiny", "FlatVel-A"),
    )
    board = tmp_path / "board"
    board.mkdir()
    rows[rows["task_name"] == "FWI-FlatVel-A"].to_parquet(board / "results.parquet")
    browser.get(build(board, board)["html"].as_uri())
    assert browser.execute_script("return window.__lbErrors") == []
    section = browser.find_element(By.CSS_SELECTOR, "main > section")
    assert section.get_attribute("id") == "overview"
    table = section.find_element(By.ID, "overview-table")
    headers = table.find_elements(By.TAG_NAME, "th")
    col = [h.text for h in headers].index("all: mean rank")
    assert sorted(float(v) for v in column_values(table, col + 1)) == [1.0, 2.0, 3.0]
    headers[col].click()
    headers[col].click()
    desc = [float(v) for v in column_values(table, col + 1)]
    assert desc == [3.0, 2.0, 1.0] and headers[col].get_attribute("aria-sort") == "descending"


@pytest.fixture(scope="module")
def many_tasks(bench_dir, tmp_path_factory):
    """bench_dir's FWI-Tiny rows copied under every registered FWI task id: a long navigation."""
    import pandas as pd

    from invbench.harness.store import ResultStore
    from invbench.registry import TASKS

    rows = ResultStore(bench_dir).results()
    rows = rows[rows["task_name"] == "FWI-Tiny"]
    copies = []
    for i, task in enumerate(t for t in TASKS if "/FWI-" in t):
        name = task.removeprefix("invbench/").removesuffix("-v0")
        copies.append(rows.assign(task=task, task_name=name, cell_id=rows["cell_id"].str[:-2] + f"{i:02x}"))
    out = tmp_path_factory.mktemp("many")
    pd.concat(copies, ignore_index=True).to_parquet(out / "results.parquet")
    return out


@pytest.mark.parametrize("width", [1280, 1400])
def test_page_fits_the_window_without_horizontal_scrolling(browser, many_tasks, tmp_path, width):
    """Navigation wraps and wide tables scroll inside their own box, never the page."""
    browser.set_window_size(width, 1200)
    try:
        browser.get(build(many_tasks, tmp_path)["html"].as_uri())
        assert browser.execute_script("return document.body.dataset.ready") == "1"
        assert len(browser.find_elements(By.CSS_SELECTOR, "nav a")) > 20
        assert len(browser.find_elements(By.CSS_SELECTOR, "#task-cards article.task-card")) > 20
        assert browser.find_elements(By.CSS_SELECTOR, "#method-cards article.method-card")
        inner = browser.execute_script("return document.documentElement.clientWidth")
        assert browser.execute_script("return document.documentElement.scrollWidth") <= inner
    finally:
        browser.set_window_size(1300, 2400)


@pytest.fixture(scope="module")
def cards_board(bench_dir, tmp_path_factory):
    """bench_dir's FWI-Tiny rows as full-budget FlatVel-A runs (ranked: a headline plot), plus a hidden
    tier in which lbfgs's rows are verified."""
    import pandas as pd

    from .test_leaderboard import _full_budget

    rows = _full_budget(pd.read_parquet(bench_dir / "results.parquet"))
    rows = rows[rows["task_name"] == "FWI-Tiny"].assign(
        task="invbench/FWI-FlatVel-A-v0", task_name="FWI-FlatVel-A", verified=False
    )
    hidden = rows.assign(split="hidden", cell_id=rows["cell_id"] + "h", verified=rows["solver"] == "lbfgs")
    out = tmp_path_factory.mktemp("cards")
    pd.concat([rows, hidden], ignore_index=True).to_parquet(out / "results.parquet")
    return out


def test_headline_cards_and_hidden_tier_render(browser, cards_board, tmp_path):
    browser.get(build(cards_board, tmp_path)["html"].as_uri())
    assert browser.execute_script("return document.body.dataset.ready") == "1"
    assert browser.execute_script("return window.__lbErrors") == []
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []
    ids = [s.get_attribute("id") for s in browser.find_elements(By.CSS_SELECTOR, "main > section")]
    assert ids[:2] == ["overview", "headline"] and ids[-2:] == ["method-cards", "task-cards"]
    links = [
        a.get_attribute("href").rsplit("#", 1)[1] for a in browser.find_elements(By.CSS_SELECTOR, "nav a")
    ]
    assert {"headline", "method-cards", "task-cards"} <= set(links)
    # one point per ranked method, at its mean MAE of the test rows
    points = browser.find_elements(By.CSS_SELECTOR, "#headline svg.headline-plot .point")
    assert {p.get_attribute("data-label") for p in points} == {"adam", "lbfgs", "multiscale"}
    ranked = browser.find_elements(By.CSS_SELECTOR, "section.task table.lb[data-task] tbody tr")
    assert len(ranked) == 3 + 3  # test table and hidden-tier table
    cards = browser.find_elements(By.CSS_SELECTOR, "#method-cards article.method-card")
    assert [c.get_attribute("data-solver") for c in cards] == ["adam", "lbfgs", "multiscale"]
    paths = [c.find_element(By.CSS_SELECTOR, "code.code-path").text for c in cards]
    assert paths == ["baselines/gradient.py", "baselines/lbfgs.py", "baselines/multiscale.py"]
    task_card = browser.find_element(By.CSS_SELECTOR, "#task-cards article.task-card")
    assert task_card.get_attribute("id") == "taskcard-fwi-flatvel-a-v0" and "600 PDE solves" in task_card.text
    # the hidden tier: its own table, the verified mark on lbfgs only, one legend line
    tier = browser.find_element(By.CSS_SELECTOR, ".hidden-tier")
    marked = tier.find_elements(By.CSS_SELECTOR, "tr:has(.verified)")
    assert [r.get_attribute("data-solver") for r in marked] == ["lbfgs"]
    assert not browser.find_elements(By.CSS_SELECTOR, "table:not(.hidden-table) .verified")
    assert "re-run by the maintainers" in browser.find_element(By.ID, "verified-legend").text
    shot = tmp_path / "cards.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000


@pytest.mark.parametrize("width", [1280, 1400])
def test_cards_and_headline_fit_the_window(browser, cards_board, tmp_path, width):
    browser.set_window_size(width, 1200)
    try:
        browser.get(build(cards_board, tmp_path)["html"].as_uri())
        assert browser.execute_script("return document.body.dataset.ready") == "1"
        assert browser.find_elements(By.CSS_SELECTOR, "#headline svg.headline-plot")
        assert browser.find_elements(By.CSS_SELECTOR, "#method-cards article.method-card")
        inner = browser.execute_script("return document.documentElement.clientWidth")
        assert browser.execute_script("return document.documentElement.scrollWidth") <= inner
        # every card stays inside the page (long hashes and citations wrap)
        right = browser.execute_script(
            "return Math.max(...[...document.querySelectorAll('article.card')]"
            ".map(e => e.getBoundingClientRect().right))"
        )
        assert right <= inner
    finally:
        browser.set_window_size(1300, 2400)
