"""The JupyterLab check judges the browser's report right: what a reader would see broken, and only that.

The reports here are shaped like those tools/lab_driver.js writes; driving a real JupyterLab takes minutes
and runs as ``make check-lab``.
"""

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
import check_lab  # noqa: E402


def cell(text, **marks):
    return {"text": text, "code_blocks": 0, **marks}


def test_rendered_prose_has_no_problems():
    sources = ["Zhang et al. {cite}`zhang2016colorful` use $\\lambda = \\frac{1}{2}$.", "```python\nx = 1\n```"]
    rendered = [cell("Zhang et al. [ZIE16a] use λ = 1/2."), cell("x = 1", code_blocks=1)]
    assert check_lab.markup_problems(sources, rendered) == {"markup": [], "citations": []}


@pytest.mark.parametrize("source, text, expected", [
    ("Zhang {cite}`zhang2016colorful`.", "Zhang {cite}`zhang2016colorful`.", "raw MyST markup {cite}"),
    ("AuC {glue:text}`auc:.1f`%.", "AuC auc:.1f%.", "{glue:text}`auc:.1f` is shown as its bare content"),
    ("$p_\\text{max}$", "p_\\text{max}", "raw TeX \\text"),
])
def test_markup_a_reader_sees_is_a_problem(source, text, expected):
    problems = check_lab.markup_problems([source], [cell(text)])["markup"]
    assert len(problems) == 1 and expected in problems[0], problems


def test_tex_braces_are_not_mistaken_for_a_role():
    assert check_lab.markup_problems(["$p_\\text{max}$"], [cell("p max")])["markup"] == []


def test_missing_code_block_and_unresolved_citation_are_problems():
    problems = check_lab.markup_problems(
        ["```{literalinclude} ../colorlab/color.py\n```", "{cite}`zhang2016colorful`"],
        [cell(""), cell("zhang2016colorful", unresolved_citations=["zhang2016colorful"])])
    assert problems["markup"] == ["markdown cell 1: 1 code blocks in the source, 0 on the page"]
    assert problems["citations"] == ["markdown cell 2: citation 'zhang2016colorful' shown as its key (not resolved)"]


def test_unrun_cells_stalled_sliders_and_narrow_controls_are_problems(tmp_path):
    notebook = tmp_path / "n.ipynb"
    notebook.write_text(json.dumps({"cells": [{"cell_type": "markdown", "source": "Text."}]}))
    report = {
        "markdown": [cell("Text.")],
        "outputs": [{"prompt": "[1]:", "errors": []}, {"prompt": "[ ]:", "errors": []},
                    {"prompt": "[3]:", "errors": ["ValueError: bad"]},
                    {"prompt": "", "input_hidden": True, "errors": []}],  # code hidden: no prompt shown
        "sliders": [{"label": "λ", "has_figure": True, "redrawn": True, "redraw_s": 0.3},
                    {"label": "T", "has_figure": True, "redrawn": False, "error": "timeout"}],
        "controls": {"1024": [{"label": "λ", "track_px": 300}, {"label": "a", "track_px": 32}]},
    }
    problems = check_lab.chapter_problems(notebook, report)
    assert problems["run"] == ["code cell 2 did not run (prompt '[ ]:')",
                               "code cell 3 error or stderr: ValueError: bad"]
    assert problems["sliders"] == ["slider 'T' did not redraw its figure (timeout)"]
    assert problems["layout"] == [f"at 1024 px: control 'a' is 32 px wide (< {check_lab.MIN_TRACK_PX})"]
    assert problems["markup"] == problems["citations"] == []


def test_lab_server_settings_never_save_the_chapters():
    settings = check_lab.lab_settings()
    assert settings["@jupyterlab/docmanager-extension/plugin.jupyterlab-settings"] == {"autosave": False}
