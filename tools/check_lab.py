"""Run chapters in a real JupyterLab, in headless Chromium, and fail on what a reader would see broken.

Usage: python tools/check_lab.py [--no-run] [--screenshots DIR] [--widths 1024,1400] CHAPTER.ipynb ...

A JupyterLab server is started on 127.0.0.1 (a free port, a random token, its own settings with
autosave off, so the chapters on disk are never written), and tools/lab_driver.js opens each
chapter in it with playwright-core: Run All, wait for the kernel to be idle, move every slider
and wait for its figure to be redrawn, measure every control at each window width. A chapter
fails when

- a cell did not run, or wrote an error or text on stderr;
- its prose shows MyST markup or TeX instead of text: a role or directive left raw (``{cite}`...```),
  a role that JupyterLab shows as its bare content (``{glue:text}`auc:.1f``` appears as
  "auc:.1f"), a directive MyST does not know, a code block of the source missing from the page
  (``literalinclude`` renders nothing in JupyterLab), or a citation JupyterLab cannot resolve;
- a slider does not redraw its figure, or a control is narrower than ``MIN_TRACK_PX``.

playwright-core is installed from npm into tools/node_modules on first use (tools/package.json).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

TOOLS = Path(__file__).resolve().parent
ROOT = TOOLS.parent
DRIVER = TOOLS / "lab_driver.js"
MIN_TRACK_PX = 120  # a slider track narrower than this cannot be set to a chosen value by hand

# MyST roles whose content is meant to be read as it is written (so seeing it is no problem).
VERBATIM_ROLES = {"sub", "sup", "abbr", "kbd", "u", "strong", "emphasis", "code", "math"}
ROLE = re.compile(r"\{([a-zA-Z][\w:+-]*)\}`([^`]+)`")
RAW_ROLE = re.compile(r"(\{[a-zA-Z][\w:+-]*\})`")  # a role has its backtick (TeX's \text{max} has none)
# TeX a reader sees as source: display delimiters or a control sequence such as \frac, \lambda.
RAW_TEX = re.compile(r"\$\$|\\[A-Za-z]{2,}")
CODE_BLOCK = re.compile(r"^(```+|~~~+|:::+)\s*(\{(code-block|code-cell|code|literalinclude)\}|[\w+-]+\s*$)",
                        re.M)


def lab_settings() -> dict:
    """User settings of the server the checks start: nothing saved, nothing fetched, no pop-ups."""
    return {
        "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
        # Every cell in the page, not only those scrolled into view, so that all of them are checked.
        "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
        "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
            "fetchNews": "false", "checkForUpdates": False},
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LabServer:
    """A JupyterLab server on 127.0.0.1 serving ``root``, with a token and throwaway settings."""

    def __init__(self, root: Path = ROOT, startup_s: float = 60.0):
        self.root = Path(root)
        self.startup_s = startup_s
        self.token = secrets.token_hex(16)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> "LabServer":
        self._home = tempfile.TemporaryDirectory(prefix="jupyterlab-check-")
        home = Path(self._home.name)
        for name, values in lab_settings().items():
            target = home / "settings" / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(values))
        (home / "config").mkdir()
        # The language-server extension would write .virtual_documents/ into the chapters' folder.
        (home / "config" / "jupyter_server_config.json").write_text(
            json.dumps({"ServerApp": {"jpserver_extensions": {"jupyter_lsp": False}}}))
        env = dict(os.environ, JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTER_RUNTIME_DIR=str(home / "runtime"),
                   JUPYTERLAB_SETTINGS_DIR=str(home / "settings"),
                   JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"))
        command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={self.port}",
                   f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={self.root}",
                   "--ServerApp.port_retries=0", f"--FileCheckpoints.checkpoint_dir={home / 'checkpoints'}"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            command.append("--allow-root")
        self._log = open(home / "server.log", "w+")
        self.process = subprocess.Popen(command, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + self.startup_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(f"{self.url}/api/status?token={self.token}", timeout=2):
                    return self
            time.sleep(0.3)
        self.__exit__()
        raise RuntimeError(f"JupyterLab did not start within {self.startup_s:.0f} s:\n{self.log()}")

    def log(self) -> str:
        """The end of the server's log."""
        self._log.flush()
        with open(self._log.name) as log:
            return log.read()[-3000:]

    def __exit__(self, *exc) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        self._home.cleanup()


def ensure_driver() -> str:
    """Path of node, after installing playwright-core into tools/node_modules if it is missing."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        raise FileNotFoundError("node and npm are needed to drive JupyterLab (apt-get install -y npm)")
    if not (TOOLS / "node_modules" / "playwright-core").is_dir():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--prefix", str(TOOLS)], check=True,
                       env=dict(os.environ, PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD="1"), stdout=subprocess.DEVNULL)
    return node


def drive(server: LabServer, notebook: Path, *, run: bool = True, sliders: bool = True, widths=(1024,),
          screenshots: Path | None = None, timeout_s: float = 120.0) -> dict:
    """Open ``notebook`` in ``server`` with tools/lab_driver.js and return the browser's report."""
    from browser import find_chromium

    node = ensure_driver()
    job = {"url": server.url, "token": server.token, "chromium": find_chromium(),
           "notebook": Path(notebook).resolve().relative_to(server.root.resolve()).as_posix(),
           "cells": len(json.loads(Path(notebook).read_text())["cells"]),
           "run": run, "sliders": sliders, "widths": list(widths), "timeout_s": timeout_s,
           "screenshots": str(Path(screenshots).resolve()) if screenshots else None}
    if screenshots:
        Path(screenshots).mkdir(parents=True, exist_ok=True)
    result = subprocess.run([node, str(DRIVER)], input=json.dumps(job), capture_output=True, text=True,
                            timeout=4 * timeout_s + 60, cwd=TOOLS)
    if result.returncode != 0:
        raise RuntimeError(f"the JupyterLab driver failed on {notebook}:\n{result.stderr[-3000:]}\n"
                           f"server log:\n{server.log()}")
    return json.loads(result.stdout)


def markdown_sources(notebook: Path) -> list[str]:
    cells = json.loads(Path(notebook).read_text())["cells"]
    return ["".join(c["source"]) if isinstance(c["source"], list) else c["source"]
            for c in cells if c["cell_type"] == "markdown"]


def markup_problems(sources: list[str], rendered: list[dict]) -> dict[str, list[str]]:
    """Markup a reader sees instead of text, by kind, from each markdown cell's source and rendering.

    ``rendered`` holds one entry per markdown cell, as tools/lab_driver.js reports it: the prose
    ``text``, the ``unresolved_citations`` and ``unknown_directives`` MyST marked, the number of
    ``code_blocks`` and the ``directives_as_code`` (directives a plain Markdown renderer showed as
    code). Kinds: ``"markup"`` (raw or unrendered roles and directives, missing code blocks) and
    ``"citations"`` (citations JupyterLab cannot resolve).
    """
    problems: dict[str, list[str]] = {"markup": [], "citations": []}
    if len(sources) != len(rendered):
        problems["markup"].append(f"{len(sources)} markdown cells in the notebook, {len(rendered)} on the page")
        return problems
    for number, (source, cell) in enumerate(zip(sources, rendered), start=1):
        where = f"markdown cell {number}"
        text = cell["text"]
        for raw in sorted(set(RAW_ROLE.findall(text))):
            problems["markup"].append(f"{where}: raw MyST markup {raw} in the text")
        for raw in sorted(set(RAW_TEX.findall(text))):
            problems["markup"].append(f"{where}: raw TeX {raw} in the text")
        for directive in cell.get("directives_as_code", []):
            problems["markup"].append(f"{where}: a directive shown as a code block ({directive})")
        for mark in cell.get("unknown_directives", []):
            problems["markup"].append(f"{where}: {mark}")
        for name, content in ROLE.findall(source):
            if name in VERBATIM_ROLES or name.startswith("cite"):
                continue
            if content in text:
                problems["markup"].append(f"{where}: {{{name}}}`{content}` is shown as its bare content")
        expected = len(CODE_BLOCK.findall(source))
        if cell.get("code_blocks", 0) < expected:
            problems["markup"].append(f"{where}: {expected} code blocks in the source, "
                                      f"{cell.get('code_blocks', 0)} on the page")
        for key in cell.get("unresolved_citations", []):
            problems["citations"].append(f"{where}: citation {key!r} shown as its key (not resolved)")
    return problems


def chapter_problems(notebook: Path, report: dict, min_track_px: int = MIN_TRACK_PX) -> dict[str, list[str]]:
    """Every problem of one driven notebook, by kind: run, markup, citations, sliders, layout."""
    problems = markup_problems(markdown_sources(notebook), report["markdown"])
    problems["run"] = [f"page error: {e}" for e in report.get("page_errors", [])]
    for number, cell in enumerate(report.get("outputs", []), start=1):
        if not cell.get("input_hidden") and not re.fullmatch(r"\[\d+\]:?", cell["prompt"]):
            problems["run"].append(f"code cell {number} did not run (prompt {cell['prompt']!r})")
        problems["run"] += [f"code cell {number} error or stderr: {e[:200]}" for e in cell["errors"]]
    problems["sliders"] = [
        f"slider {s['label']!r} did not redraw its figure ({s.get('error', 'no figure')})"
        for s in report.get("sliders", []) if s["has_figure"] and not s["redrawn"]
    ]
    problems["layout"] = [
        f"at {width} px: control {c['label']!r} is {c['track_px']} px wide (< {min_track_px})"
        for width, controls in report.get("controls", {}).items()
        for c in controls if c["track_px"] < min_track_px
    ]
    return problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--widths", default="1024,1400", help="window widths to measure, comma-separated")
    parser.add_argument("--screenshots", type=Path, help="save screenshots of each notebook here")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds for each step of a notebook")
    parser.add_argument("--no-run", action="store_true",
                        help="only open each notebook and check its prose (fast: no cell runs, no slider moves)")
    args = parser.parse_args(argv)
    widths = [int(w) for w in args.widths.split(",")]
    failed = 0
    with LabServer() as server:
        for notebook in args.notebooks:
            report = drive(server, notebook, run=not args.no_run, widths=widths, screenshots=args.screenshots,
                           timeout_s=args.timeout)
            problems = chapter_problems(notebook, report)
            count = sum(map(len, problems.values()))
            failed += bool(count)
            print(f"{'FAIL' if count else 'ok':4} {notebook} (run {report.get('run_s', 0):.1f} s)", flush=True)
            for slider in report.get("sliders", []):
                if slider.get("redrawn"):
                    print(f"       slider {slider['label']!r}: redrawn in {slider['redraw_s']:.2f} s")
            for kind, found in problems.items():
                for problem in found:
                    print(f"       {kind}: {problem}")
    print(f"{len(args.notebooks) - failed} of {len(args.notebooks)} notebooks read right in JupyterLab")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.path.insert(0, str(TOOLS))
    sys.exit(main())
