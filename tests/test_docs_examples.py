"""Every code example in README.md and docs/ is run, or says why it is not.

Python's own doctest runs the ``>>>`` examples (output checked); each other ``python`` block of
a page runs in one namespace per page, in order; each ``bash`` block runs in a scratch folder.
A block followed by ``<!-- not-run: reason -->`` is not run (it needs the reader's package, a
network or minutes); the reason must be given. Standard-library doctest rather than Sybil or
pytest-examples: no dependency, and it is the one format readers already know from Python's docs.
"""

from __future__ import annotations

import doctest
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```\n(?:\s*<!-- not-run: (.*?) -->)?", re.M | re.S)
# Pages whose doctests run whole verifications (seconds each): left out of the fast loop, as
# are pages whose bash blocks run.
SLOW_PAGES = {"tutorial/first-verification.md"}


def page_id(page: Path) -> str:
    return str(page.relative_to(ROOT / "docs") if page.parent != ROOT else page.name)


def blocks(page: Path) -> list[tuple[str, str, str | None]]:
    """(language, code, the not-run reason or None) of each fenced block of ``page``."""
    return [(m.group(1), m.group(2), m.group(3)) for m in BLOCK.finditer(page.read_text())]


def runs_commands(page: Path) -> bool:
    """Whether a page has a bash block that is run (each starts cnnref in a fresh process)."""
    return any(language == "bash" and not_run is None for language, _, not_run in blocks(page))


def marked(page: Path):
    slow = page_id(page) in SLOW_PAGES or runs_commands(page)
    return pytest.param(page, id=page_id(page), marks=[pytest.mark.slow] if slow else [])


@pytest.mark.parametrize("page", [marked(p) for p in PAGES if ">>> " in p.read_text()])
def test_doctest_examples_print_what_the_page_shows(page: Path) -> None:
    # A fence line ends an example's expected output, as a blank line does in a docstring.
    text = re.sub(r"^```.*$", "", page.read_text(), flags=re.M)
    test = doctest.DocTestParser().get_doctest(text, {}, page_id(page), str(page), 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    runner.run(test)
    failed, attempted = runner.summarize(verbose=False)
    assert attempted > 0
    assert failed == 0, (
        f"{failed} of {attempted} examples of {page_id(page)} failed (printed above)"
    )


@pytest.mark.parametrize("page", [marked(p) for p in PAGES])
def test_each_block_runs_or_says_why_not(page: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {}
    for language, code, not_run in blocks(page):
        if not_run is not None:
            assert not_run.strip(), f"{page_id(page)}: a not-run mark without its reason"
            continue
        if language == "python" and ">>> " not in code:
            exec(compile(code, f"{page_id(page)}:python", "exec"), namespace)
        elif language == "bash":
            done = subprocess.run(
                ["bash", "-euo", "pipefail", "-c", code],
                capture_output=True,
                text=True,
                timeout=300,
                env={"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(tmp_path)},
            )
            assert done.returncode == 0, f"{page_id(page)}:\n{code}\n{done.stdout}{done.stderr}"


def test_every_page_is_in_the_site_navigation() -> None:
    nav = (ROOT / "mkdocs.yml").read_text()
    pages = {page_id(p) for p in PAGES if p.parent != ROOT}
    assert {p for p in pages if p not in nav} == set()


def test_the_generated_references_list_every_property_feature_and_command() -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import docs_reference
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    from cnnref.declarations import CONVENTIONS, FEATURES
    from cnnref.properties import all_properties

    page = docs_reference.render(
        "".join(f"<!-- generated: {name} -->\n" for name in docs_reference.GENERATORS)
    )
    assert "<!-- generated:" not in page
    for name in [p.name for p in all_properties()] + list(FEATURES) + list(CONVENTIONS):
        assert f"`{name}`" in page, name
    for command in ("verify", "train", "evaluate", "vectors"):
        assert f"## `cnnref {command}`" in page
    with pytest.raises(KeyError):
        docs_reference.render("<!-- generated: nothing_by_that_name -->")
