"""The README's Python quickstart runs as written, and every relative link in the docs resolves."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"```.*?```", flags=re.S)


def test_readme_python_blocks_run():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert len(blocks) >= 2
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, str(README), "exec"), namespace)
    assert namespace["info"]["pde_solves"] == 0  # the second block starts a new episode
    assert namespace["env"].unwrapped.counter.used == 2
    assert list(namespace["infos"]["pde_solves"]) == [2] * 4  # the vector env: 2 solves per instance


def doc_files() -> list[Path]:
    """The README, every page under docs/ and the READMEs of shipped weights."""
    return [README, *sorted((ROOT / "docs").rglob("*.md")), *sorted(ROOT.glob("solvers/*/weights/README.md"))]


def broken_links(page: Path) -> list[str]:
    """Relative links (and images) of a markdown page whose file does not exist; code blocks are skipped."""
    broken = []
    for target in LINK.findall(FENCE.sub("", page.read_text())):
        if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", target) or target.startswith("#"):
            continue  # a URL (https:, mailto:) or an anchor on the same page
        path = target.split("#", 1)[0]
        if not (page.parent / path).exists():
            broken.append(target)
    return broken


def test_every_relative_link_in_the_docs_resolves():
    pages = doc_files()
    assert README in pages and len(pages) > 3
    broken = {str(p.relative_to(ROOT)): links for p in pages if (links := broken_links(p))}
    assert not broken, f"links to missing files: {broken}"


def test_the_link_check_finds_a_missing_file(tmp_path):
    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "ok.png").write_bytes(b"")
    page = tmp_path / "page.md"
    page.write_text(
        "[fine](figures/ok.png) ![gone](figures/gone.png) [web](https://example.org) [here](#top)\n"
        "[anchor](figures/ok.png#x) [up](../nowhere.md)\n```\n[in code](missing.md)\n```\n"
    )
    assert broken_links(page) == ["figures/gone.png", "../nowhere.md"]
