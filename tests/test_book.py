"""The book's sources agree with the table of contents, and the chapters are committed so that CI checks them.

nbval (lax mode) compares a cell's output only when the cell is marked ``# NBVAL_CHECK_OUTPUT`` *and* the
committed cell carries a reference: an execution count and outputs. A marked cell committed without them is
executed but compared with nothing, so the check it promises silently passes. These tests catch that, and
keep every chapter in the book and every page of the book on disk.
"""

import json
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))
CHECK_MARK = re.compile(r"^\s*#\s*NBVAL_CHECK_OUTPUT\b", re.M)


def toc_files():
    """Document names from _toc.yml, without extension, root first."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    names = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                names.append(entry["file"])
            walk(entry.get("sections"))

    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    walk(toc.get("chapters"))
    return [re.sub(r"\.(md|ipynb)$", "", name) for name in names]


def code_cells(path):
    notebook = json.loads(path.read_text())
    return [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]


def source(cell):
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def describe(cell):
    """The first line of a cell that is not the NBVAL mark, to name it in a message."""
    lines = [line for line in source(cell).splitlines() if line.strip() and not CHECK_MARK.match(line)]
    return lines[0][:60] if lines else "(empty cell)"


def test_every_page_in_the_toc_exists():
    missing = [name for name in toc_files()
               if not any((ROOT / f"{name}{ext}").exists() for ext in (".md", ".ipynb"))]
    assert missing == [], f"_toc.yml names pages that do not exist: {missing}"


def test_every_chapter_is_in_the_toc():
    listed = set(toc_files())
    left_out = [p.name for p in CHAPTERS if f"chapters/{p.stem}" not in listed]
    assert left_out == [], f"chapters missing from _toc.yml: {left_out}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_checked_cells_carry_their_reference_output(path):
    unchecked = [
        describe(cell)
        for cell in code_cells(path)
        if CHECK_MARK.search(source(cell)) and (cell.get("execution_count") is None or not cell.get("outputs"))
    ]
    assert unchecked == [], (
        f"{path.name}: cells marked NBVAL_CHECK_OUTPUT without a committed execution count and output are "
        f"never compared by nbval: {unchecked}"
    )


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_only_checked_cells_are_committed_with_outputs(path):
    with_outputs = [
        describe(cell)
        for cell in code_cells(path)
        if cell.get("outputs") and not CHECK_MARK.search(source(cell))
    ]
    assert with_outputs == [], f"{path.name}: outputs committed in cells CI re-executes anyway: {with_outputs}"
