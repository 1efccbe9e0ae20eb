"""Listings of the package's own code (colorlab.source), and the listings the chapters show."""

import ast
import inspect

import pytest

import colorlab as cl
from colorlab import models
from colorlab.source import listing, show_source


def test_a_function_is_cut_from_its_file():
    shown = listing(cl.rgb_to_lab)
    lines, first = inspect.getsourcelines(cl.rgb_to_lab)
    assert shown.name == "colorlab.color.rgb_to_lab"
    assert shown.path == "colorlab/color.py"
    assert (shown.first, shown.last) == (first, first + len(lines) - 1)
    assert shown.code == "".join(lines).rstrip("\n")


def test_a_method_is_dedented_and_keeps_its_decorator():
    init = listing(models.ColorizationNet.__init__)
    assert init.code.startswith("def __init__(") and "super().__init__()" in init.code
    colorize = listing(models.ColorizationNet.colorize)  # wrapped by torch.no_grad()
    assert colorize.code.startswith("@torch.no_grad()\ndef colorize(")


def test_a_constant_comes_with_its_doc_comment():
    blocks = listing("colorlab.models.ECCV16_BLOCKS")
    assert blocks.code.startswith("#: Blocks conv1")
    assert "ECCV16_BLOCKS = (" in blocks.code and blocks.code.endswith(")")
    assert ast.parse(blocks.code)  # a complete statement


def test_markdown_display_is_a_fenced_python_block_headed_by_file_and_lines():
    shown = show_source(cl.annealed_mean, "colorlab.decode.T_ANNEALED")
    text = shown._repr_markdown_()
    assert text.count("```python\n") == 2
    first = listing(cl.annealed_mean)
    assert f"`colorlab/decode.py`, lines {first.first}–{first.last}" in text
    assert "def annealed_mean(" in str(shown) and "T_ANNEALED = 0.38" in str(shown)


def test_bad_targets_are_named():
    with pytest.raises(TypeError, match="target must be a function"):
        listing(3)
    with pytest.raises(ValueError, match="'no_such_name' is not defined"):
        listing("colorlab.decode.no_such_name")
    with pytest.raises(ValueError, match="importable module"):
        listing("no_such_module.thing")
    with pytest.raises(ValueError, match="at least one"):
        show_source()
