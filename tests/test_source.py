"""Listings of the package's own code (colorlab.source), and the listings the chapters show."""

import ast
import inspect
import json
import re
from pathlib import Path

import pytest

import colorlab as cl
from colorlab import models
from colorlab.source import Listing, listing, show_source

ROOT = Path(__file__).resolve().parents[1]
#: A listing the book shows must fit on one screen of a laptop, and be as narrow as the chapters' own code.
SCREEN_LINES = 45
SCREEN_COLUMNS = 88
#: What each chapter must show of the package (the ideas the chapter teaches).
REQUIRED = {
    "01_lab_space": {"colorlab.color.rgb_to_lab"},
    "02_quantization": {"colorlab.bins.derive_ab_bins", "colorlab.bins.hull_linf_distance"},
    "03_soft_encoding": {"colorlab.encode.soft_encode_sparse"},
    "04_rebalancing": {"colorlab.prior.rebalance_weights"},
    "05_network": {"colorlab.models.ColorizationNet.__init__", "colorlab.models.ECCV16",
                   "colorlab.decode.annealed_mean", "colorlab.decode.annealed_mean_from_logits"},
    "06_training": {"colorlab.loss.rebalanced_cross_entropy"},
}
CALL = re.compile(r"cl\.show_source\((.*?)\)\s*$", re.S | re.M)


def test_a_function_is_cut_from_its_file():
    shown = listing(cl.rgb_to_lab)
    lines, first = inspect.getsourcelines(cl.rgb_to_lab)
    assert shown.name == "colorlab.color.rgb_to_lab"
    assert shown.path == "colorlab/color.py"
    assert (shown.first, shown.last) == (first, first + len(lines) - 1)
    assert shown.code == "".join(lines).rstrip("\n")


def test_a_method_is_dedented_and_keeps_its_decorator():
    init = listing(models.ColorizationNet.__init__)
    assert init.code.startswith("def __init__(\n    self, *,")
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


def shown_in(chapter: Path) -> list[Listing]:
    """Every listing a chapter's cells ask for with cl.show_source(...)."""
    cells = json.loads(chapter.read_text())["cells"]
    found = []
    for cell in cells:
        if cell["cell_type"] != "code":
            continue
        for arguments in CALL.findall("".join(cell["source"])):
            found.extend(eval(f"cl.show_source({arguments})", {"cl": cl}))
    return found


@pytest.mark.parametrize("chapter", sorted((ROOT / "chapters").glob("*.ipynb")), ids=lambda p: p.stem)
def test_chapters_show_their_ideas_in_listings_that_fit_one_screen(chapter):
    listings = shown_in(chapter)
    too_long = [f"{item.name} ({item.lines} lines)" for item in listings if item.lines > SCREEN_LINES]
    assert too_long == [], f"{chapter.name}: listings longer than one screen: {too_long}"
    too_wide = [f"{item.name}: {line!r}" for item in listings for line in item.code.splitlines()
                if len(line) > SCREEN_COLUMNS]
    assert too_wide == [], f"{chapter.name}: listing lines wider than {SCREEN_COLUMNS} columns: {too_wide}"
    missing = REQUIRED.get(chapter.stem, set()) - {item.name for item in listings}
    assert missing == set(), f"{chapter.name} does not show {sorted(missing)}"
