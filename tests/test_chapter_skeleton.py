"""Every chapter has the same skeleton: a numbered title, a box (what you will learn, prerequisites, time), the
body, a summary, and 3–5 exercises with their solutions folded away.

The box and the folded solutions are plain HTML inside Markdown (a ``div`` with the theme's admonition classes,
and ``details``/``summary`` with sphinx-togglebutton's classes), so they render in the HTML book and in
JupyterLab alike.
"""

import json
import re
from pathlib import Path

import pytest

from test_book import toc_files

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = [name for name in toc_files() if name.startswith("chapters/")]
EXERCISE = re.compile(r"^\*\*Exercise (\d+): [^*]+[.?]\*\*", re.M)
SOLUTION = re.compile(r"<details class=\"toggle-details\">\n<summary class=\"toggle-details__summary\">Solution"
                      r"</summary>\n\n.+?\n\n</details>", re.S)


def markdown_cells(name: str) -> list[str]:
    cells = json.loads((ROOT / f"{name}.ipynb").read_text())["cells"]
    return ["".join(cell["source"]) for cell in cells if cell["cell_type"] == "markdown"]


@pytest.mark.parametrize("number, name", list(enumerate(CHAPTERS, start=1)), ids=lambda x: str(x))
def test_chapter_opens_with_a_numbered_title_and_the_box(number, name):
    first = markdown_cells(name)[0]
    assert first.startswith(f"# {number}. "), f"{name}: the title must start with '# {number}. '"
    box = re.search(r'<div class="admonition tip">\n<p class="admonition-title">Before you start</p>\n\n(.+?)'
                    r"\n\n</div>", first, re.S)
    assert box, f"{name}: no 'Before you start' box in the first cell"
    for part in ("**You will learn**", "**Prerequisites:**", "**Time:**"):
        assert part in box.group(1), f"{name}: the box lacks {part}"
    assert re.search(r"\*\*Time:\*\* about .+ to read; .+ runs in about .+", box.group(1)), \
        f"{name}: the box must give the time to read and to run"


@pytest.mark.parametrize("name", CHAPTERS, ids=lambda n: n.split("/")[-1])
def test_chapter_ends_with_summary_and_exercises_with_folded_solutions(name):
    cells = markdown_cells(name)
    headings = [line for cell in cells for line in cell.splitlines() if line.startswith("## ")]
    assert "## Summary" in headings and "## Exercises" in headings, f"{name}: Summary and Exercises headings"
    assert headings.index("## Summary") == len(headings) - 2 and headings[-1] == "## Exercises", \
        f"{name}: Summary and Exercises must be the last two sections"
    text = "\n\n".join(cells[[i for i, c in enumerate(cells) if "## Exercises" in c][0]:])
    numbers = [int(n) for n in EXERCISE.findall(text)]
    assert 3 <= len(numbers) <= 5, f"{name}: {len(numbers)} exercises"
    assert numbers == list(range(1, len(numbers) + 1)), f"{name}: exercises numbered {numbers}"
    assert len(SOLUTION.findall(text)) == len(numbers), f"{name}: every exercise needs one folded solution"


# Roles that only the book's Sphinx build resolves: JupyterLab (jupyterlab-myst) shows a citation's key or a
# glued value's name instead. Chapters cite with plain links to the bibliography page, and text with computed
# numbers is the Markdown output of a code cell.
SPHINX_ONLY_ROLE = re.compile(r"\{(cite(:\w+)?|glue(:\w+)?|numref|ref|doc|eq)\}`")


@pytest.mark.parametrize("name", CHAPTERS, ids=lambda n: n.split("/")[-1])
def test_chapter_prose_uses_no_role_that_jupyterlab_shows_raw(name):
    for number, cell in enumerate(markdown_cells(name), start=1):
        roles = sorted({m.group(0) for m in SPHINX_ONLY_ROLE.finditer(cell)})
        assert not roles, f"{name}, markdown cell {number}: {roles}"


@pytest.mark.parametrize("name", CHAPTERS, ids=lambda n: n.split("/")[-1])
def test_chapter_citations_link_to_the_bibliography(name):
    links = re.findall(r"\]\(([^)\s]*bibliography[^)\s]*)\)", "\n".join(markdown_cells(name)))
    assert all(link == "../book/bibliography.md" for link in links), sorted(set(links))


CODE_COLUMNS = 88  # what the book's code style sheet fits in the content column (book/_assets/code-blocks.css)
FENCE = re.compile(r"^(`{3,}|~{3,})[^\n]*\n(.*?)^\1", re.S | re.M)


@pytest.mark.parametrize("name", CHAPTERS, ids=lambda n: n.split("/")[-1])
def test_chapter_code_lines_fit_the_page(name):
    cells = json.loads((ROOT / f"{name}.ipynb").read_text())["cells"]
    code = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    code += [m.group(2) for text in markdown_cells(name) for m in FENCE.finditer(text)]
    long = [line for block in code for line in block.splitlines() if len(line) > CODE_COLUMNS]
    assert not long, f"{name}: {len(long)} code lines over {CODE_COLUMNS} characters, e.g. {long[0]!r}"
