"""The launch buttons start a chapter with the package: the Colab cell of every chapter and the Binder setup.

The Colab cell cannot run Colab here; it is executed with ``google.colab`` faked and with the commands it
would run recorded, and without the fake, where it must do nothing at all.
"""

import json
import os
import re
import subprocess
import sys
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import colab_cell  # noqa: E402

URL = colab_cell.repository_url()


def test_every_chapter_starts_its_code_with_the_colab_cell():
    assert colab_cell.main(["--check"]) == 0, "run: python tools/colab_cell.py"
    for path in colab_cell.chapters():
        cells = json.loads(path.read_text())["cells"]
        cell = cells[colab_cell.first_code_cell(cells)]
        assert "".join(cell["source"]) == colab_cell.cell_source(URL), path.name
        assert cell["metadata"]["tags"] == ["remove-input"] and cell["outputs"] == [], path.name
        assert cell["metadata"]["jupyter"] == {"source_hidden": True}, path.name
        assert "parameters" in cells[colab_cell.first_code_cell(cells) + 1]["metadata"].get("tags", []), \
            f"{path.name}: the parameters cell follows the Colab cell"


def run_cell(monkeypatch, tmp_path, colab: bool) -> list[list[str]]:
    """Execute the cell in ``tmp_path``; the commands it ran (recorded, not run)."""
    commands = []
    monkeypatch.setattr(subprocess, "run", lambda command, **kw: commands.append(command))
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.chdir(tmp_path)
    if colab:
        monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
        monkeypatch.setattr(os.path, "isdir", lambda path: False)
        monkeypatch.setattr(os, "chdir", lambda path: commands.append(["cd", path]))
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    exec(colab_cell.cell_source(URL), {})
    return commands


def test_colab_cell_does_nothing_elsewhere(monkeypatch, tmp_path):
    path_before = list(sys.path)
    assert run_cell(monkeypatch, tmp_path, colab=False) == []
    assert Path.cwd() == tmp_path and sys.path == path_before


def test_colab_cell_clones_installs_and_moves_into_the_chapters(monkeypatch, tmp_path):
    clone, install, cd = run_cell(monkeypatch, tmp_path, colab=True)
    checkout = "/content/" + URL.rsplit("/", 1)[-1]
    assert clone == ["git", "clone", "--depth=1", URL, checkout]
    assert install[:4] == [sys.executable, "-m", "pip", "install"] and checkout in install
    assert cd == ["cd", f"{checkout}/chapters"] and sys.path[0] == checkout


def test_chapters_import_only_what_the_colab_cell_installs():
    """Beyond the package (the cell installs it with its dependencies), a chapter imports only what Colab has."""
    colab_has = {"numpy", "torch", "IPython", "pathlib", "math", "shutil", "tempfile", "os", "subprocess", "sys"}
    allowed = colab_has | {"colorlab"}
    for path in colab_cell.chapters():
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] == "code":
                modules = re.findall(r"^\s*(?:import|from) (\w+)", "".join(cell["source"]), re.M)
                assert set(modules) <= allowed, f"{path.name} imports {set(modules) - allowed}"


def test_the_repository_url_is_named_in_one_place():
    """_config.yml names it; the chapters' Colab cells are written from it; nothing else repeats it."""
    naming, skip = [], {".git", ".venv", "_build", "node_modules", "runs", "screenshots", "_vendor"}
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in skip]
        for name in files:
            path = Path(folder) / name
            if path.suffix in {".py", ".md", ".yml", ".yaml", ".toml", ".txt", ".cfg", ".ipynb", ".js", ""} \
                    and URL in path.read_text(errors="ignore"):
                naming.append(path.relative_to(ROOT).as_posix())
    assert sorted(naming) == sorted(["_config.yml"] + [f"chapters/{p.name}" for p in colab_cell.chapters()])


def test_binder_installs_the_cpu_torch_of_the_makefile_and_the_book():
    lines = [line for line in (ROOT / "binder" / "requirements.txt").read_text().splitlines()
             if line and not line.startswith("#")]
    torch = re.search(r"^TORCH\s*\?=\s*(\S+)", (ROOT / "Makefile").read_text(), re.M).group(1)
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in lines
    assert f"{torch}+cpu" in lines, "the CPU build of the Makefile's torch"
    assert "-e .[book]" in lines
    runtime = (ROOT / "binder" / "runtime.txt").read_text().strip()
    assert runtime == "python-3.11"

