"""Write the hidden first code cell that lets each chapter run on Colab.

Usage: python tools/colab_cell.py [--check]

A chapter opened on Colab (its launch button) comes without the repository: no ``colorlab`` package,
no committed models. The cell written here, the first code cell of every chapter, tagged
``remove-input`` (the HTML book shows nothing of it) and folded in JupyterLab, clones the repository
named in ``_config.yml`` (the one place that names it), installs the package with pip and moves into
the clone's ``chapters/`` folder, as if the chapter had been opened from a checkout. Everywhere else
``google.colab`` is not imported and the cell does nothing.

With ``--check`` nothing is written; the exit code says whether every chapter has the cell as it
would be written.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


ROOT = Path(__file__).resolve().parents[1]
TAG = "remove-input"
MARK = "# On Colab only"


def repository_url(config: Path = ROOT / "_config.yml") -> str:
    """The repository URL of the book's configuration (``repository: url:``)."""
    from colorlab.provenance import repository_url as from_config

    return from_config(config)


def cell_source(url: str) -> str:
    """The code of the Colab cell for the repository at ``url``."""
    name = url.rstrip("/").rsplit("/", 1)[-1]
    return f'''{MARK}: clone the book's repository (package, models), install the package
# and run in its chapters/ folder, as from a checkout. Elsewhere this does nothing.
import os
import subprocess
import sys

if "google.colab" in sys.modules:
    repository = "{url}"
    checkout = "/content/{name}"
    if not os.path.isdir(checkout):
        subprocess.run(["git", "clone", "--depth=1", repository, checkout], check=True)
        pip = [sys.executable, "-m", "pip", "install", "--quiet"]
        subprocess.run([*pip, checkout], check=True)
    sys.path.insert(0, checkout)  # importable at once, without restarting the runtime
    os.chdir(os.path.join(checkout, "chapters"))'''


def colab_cell(url: str) -> dict:
    # source_hidden: JupyterLab shows the cell folded, as one line, above the chapter's own code.
    metadata = {"jupyter": {"source_hidden": True}, "tags": [TAG]}
    return {"cell_type": "code", "execution_count": None, "id": "colab", "metadata": metadata,
            "outputs": [], "source": cell_source(url).splitlines(keepends=True)}


def first_code_cell(cells: list[dict]) -> int:
    return next(i for i, cell in enumerate(cells) if cell["cell_type"] == "code")


def with_colab_cell(notebook: dict, url: str) -> dict:
    """``notebook`` with the Colab cell as its first code cell (replacing an older one, else inserted there)."""
    cells = notebook["cells"]
    first = first_code_cell(cells)
    if "".join(cells[first]["source"]).startswith(MARK):
        cells[first] = colab_cell(url)
    else:
        cells.insert(first, colab_cell(url))
    return notebook


def chapters() -> list[Path]:
    return sorted((ROOT / "chapters").glob("*.ipynb"))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check; write nothing")
    args = parser.parse_args(argv)
    url, stale = repository_url(), []
    for path in chapters():
        text = path.read_text()
        new = json.dumps(with_colab_cell(json.loads(text), url), indent=1, ensure_ascii=False) + "\n"
        if new != text:
            stale.append(path.name)
            if not args.check:
                path.write_text(new)
    print(f"{'stale' if args.check else 'written'}: {', '.join(stale) or 'none'}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
