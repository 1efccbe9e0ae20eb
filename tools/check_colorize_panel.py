"""Colorize photos with the in-browser panel of the built book, in headless Chromium, and compare the pixels
with ``colorlab colorize``.

Usage: python tools/check_colorize_panel.py [--html _build/html] [--page chapters/07_evaluation.html]
                                           [--screenshot panel.png]

The built book is served on 127.0.0.1 (a free port, Python's http.server, as a reader would serve it).
One tab then

1. opens the page from file:// and expects the panel to say that it must be served over HTTP;
2. opens it over HTTP, sets the panel's file input to an embedded photo (a 512 × 512 PNG) and waits for
   the result; its pixels must agree with ``colorlab colorize`` on the same file within
   ``colorlab.web.PARITY_MEAN`` / ``PARITY_MAX``. Prints the time from choosing the photo to the result
   (the first one loads the runtime and the model; target under 2 s) and the bytes downloaded so far;
3. presses End on the focused temperature slider (T = 1): the result must change and agree with
   ``colorlab colorize -T 1``;
4. gives it a photo larger than the network's input: the result keeps the photo's size and agrees too;
5. gives it a text file and a PNG above ``colorlab.web.MAX_PIXELS``, and expects a message for each;
6. checks that no request left the server, no request failed and no script raised.

With ``--screenshot``, a PNG of the panel after the first result is written too.

Exit code 1 on any failure.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import functools
import http.server
import io
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from PIL import Image

PANEL = ".colorize-panel"
# The pixels of the result canvas as [width, height, base64 of RGBA].
READ_RESULT = r"""
(() => {
  const canvas = document.querySelector('.colorize-panel canvas[aria-label="the colorized photo"]');
  const rgba = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let text = '';
  for (let i = 0; i < rgba.length; i += 0x8000) {
    text += String.fromCharCode.apply(null, rgba.subarray(i, i + 0x8000));
  }
  return [canvas.width, canvas.height, btoa(text)];
})()
"""
TARGET_SECONDS = 2.0


class Failure(Exception):
    """One check did not pass."""


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def serve(folder: Path) -> http.server.ThreadingHTTPServer:
    """Serve ``folder`` on 127.0.0.1 at a free port, from a daemon thread."""
    handler = functools.partial(QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def panel_state(page) -> dict:
    return page.evaluate(
        f"(() => {{ const p = document.querySelector('{PANEL}'); if (!p) return null; return {{"
        "state: p.dataset.state || '', runs: Number(p.dataset.runs || 0), seconds: p.dataset.seconds,"
        "status: (p.querySelector('[role=status]') || {}).textContent || ''}; })()"
    )


def wait_for(page, condition, what: str, timeout: float = 120.0, errors_fail: bool = True) -> dict:
    """Poll the panel until ``condition(state)`` holds; raise Failure with its status text when it times out,
    or as soon as the panel reports an error (unless not ``errors_fail``)."""
    deadline = time.monotonic() + timeout
    state = None
    while time.monotonic() < deadline:
        state = panel_state(page)
        if state and condition(state):
            return state
        if errors_fail and state and state["state"] == "error":
            raise Failure(f"{what}: the panel reported an error: {state['status']}")
        time.sleep(0.05)
    raise Failure(f"{what}: timed out after {timeout:.0f} s (panel: {state})")


def choose_file(page, path: Path) -> None:
    """Set the panel's file input to ``path``, as a reader picking a file does (fires change)."""
    root = page.send("DOM.getDocument", {"depth": 0})["root"]["nodeId"]
    node = page.send("DOM.querySelector", {"nodeId": root, "selector": f"{PANEL} input[type=file]"})["nodeId"]
    if not node:
        raise Failure("the panel has no file input")
    page.send("DOM.setFileInputFiles", {"nodeId": node, "files": [str(path)]})


def result_pixels(page) -> np.ndarray:
    width, height, data = page.evaluate(READ_RESULT, timeout=120)
    rgba = np.frombuffer(base64.b64decode(data), np.uint8).reshape(height, width, 4)
    return rgba[..., :3]


def reference(photo: Path, T: float, folder: Path) -> tuple[np.ndarray, float]:
    """``colorlab colorize PHOTO -o OUT.png -T T`` (run in this process), read back, and the seconds it took."""
    from colorlab.cli import main as colorlab

    out = folder / f"{photo.stem}-T{T}.png"
    started = time.monotonic()
    with contextlib.redirect_stdout(io.StringIO()):
        code = colorlab(["colorize", str(photo), "-o", str(out), "-T", str(T)])
    seconds = time.monotonic() - started
    if code != 0:
        raise Failure(f"colorlab colorize failed on {photo}")
    return np.asarray(Image.open(out).convert("RGB")), seconds


def compare(page, photo: Path, T: float, folder: Path, label: str) -> tuple[str, float]:
    """Check the panel's result against ``colorlab colorize``; a summary line, and the command's seconds."""
    from colorlab.web import PARITY_MAX, PARITY_MEAN, parity

    got = result_pixels(page)
    want, seconds = reference(photo, T, folder)
    if got.shape != want.shape:
        raise Failure(f"{label}: the result is {got.shape[1]} × {got.shape[0]}, the photo "
                      f"{want.shape[1]} × {want.shape[0]}")
    mean, largest, ok = parity(got, want)
    summary = (f"{label}: against colorlab colorize -T {T}: mean |diff| {np.round(mean, 3).tolist()}, max "
               f"{largest.tolist()} (8-bit levels per channel; allowed {PARITY_MEAN:g} and {PARITY_MAX})")
    if not ok:
        raise Failure(summary)
    return summary, seconds


def reader_files(work: Path) -> dict[str, Path]:
    """The files the reader picks: a 512² photo, a larger one, a text file, and one above the pixel limit."""
    import colorlab as cl
    from colorlab.web import MAX_PIXELS

    files = {name: work / name for name in ("astronaut.png", "chelsea-large.png", "notes.txt", "huge.png")}
    Image.fromarray(cl.sample_photo("astronaut")).save(files["astronaut.png"])
    small = Image.fromarray(cl.sample_photo("chelsea"))
    small.resize((small.width * 4, small.height * 4), Image.Resampling.BICUBIC).save(files["chelsea-large.png"])
    files["notes.txt"].write_text("not a photo\n")
    side = int((MAX_PIXELS * 1.2) ** 0.5)
    Image.new("RGB", (side, side), (90, 120, 150)).save(files["huge.png"])
    return files


def check_file_url(browser, page_url: str) -> str:
    """Opened from a file, the panel says how to serve the book instead."""
    page = browser.open_page(page_url)
    try:
        state = wait_for(page, lambda s: s["state"] in ("unavailable", "ready"), "opened from file://")
    finally:
        page.close()
    if state["state"] != "unavailable" or "http.server" not in state["status"]:
        raise Failure(f"opened from file://, the panel should ask to serve the folder; it says {state['status']!r}")
    return f"file://: the panel says: {state['status']}"


def check_first_photo(page, photo: Path, work: Path) -> list[str]:
    """The first photo: parity, the time to the result (runtime and model load included), the bytes loaded."""
    loaded = page.bytes_received
    started = time.monotonic()
    choose_file(page, photo)
    state = wait_for(page, lambda s: s["runs"] >= 1 and s["state"] == "done", "first photo")
    waited = time.monotonic() - started
    summary, command_s = compare(page, photo, 0.38, work, "512 × 512 photo, T = 0.38")
    seconds = float(state["seconds"])
    verdict = "within" if seconds < TARGET_SECONDS else "OVER"
    return [
        summary,
        f"time to first result: {seconds:.2f} s in the page ({waited:.2f} s seen by this check), model and "
        f"runtime load included; {verdict} the {TARGET_SECONDS:g} s target. colorlab colorize on the same file, "
        f"in this process, model load included: {command_s:.2f} s (the page took {seconds / command_s:.1f}×)",
        f"the panel says: {state['status']}",
        f"bytes downloaded: {loaded:,} for the page, {page.bytes_received:,} with the runtime and the model",
    ]


def save_panel(page, path: Path, width: int = 1280) -> str:
    """A PNG of the panel alone, as it is drawn now (the window is made tall enough to show all of it)."""
    height = page.evaluate(f"document.querySelector('{PANEL}').getBoundingClientRect().height")
    page.send("Emulation.setDeviceMetricsOverride",
              {"width": width, "height": int(height) + 40, "deviceScaleFactor": 1, "mobile": False})
    page.evaluate(f"document.querySelector('{PANEL}').scrollIntoView({{block: 'center'}})")
    time.sleep(1.0)  # the page lays itself out again for the new window size, and scrolls
    x, y, width, height = page.evaluate(
        f"(() => {{ const r = document.querySelector('{PANEL}').getBoundingClientRect(); "
        "return [r.left + scrollX, r.top + scrollY, r.width, r.height]; })()")
    data = page.send("Page.captureScreenshot", {
        "format": "png", "clip": {"x": x, "y": y, "width": width, "height": height, "scale": 1}})["data"]
    path.write_bytes(base64.b64decode(data))
    return f"screenshot of the panel: {path}"


def check_slider(page, photo: Path, work: Path) -> list[str]:
    """The End key on the focused slider sets T = 1: the result changes, and agrees with the command."""
    page.evaluate(f"document.querySelector('{PANEL} input[type=range]').focus()")
    before = result_pixels(page)
    for kind in ("keyDown", "keyUp"):
        page.send("Input.dispatchKeyEvent", {"type": kind, "key": "End", "code": "End",
                                             "windowsVirtualKeyCode": 35})
    state = wait_for(page, lambda s: s["runs"] >= 2 and s["state"] == "done", "slider moved to T = 1")
    changed = float(np.abs(result_pixels(page).astype(int) - before.astype(int)).mean())
    if changed == 0:
        raise Failure("moving the slider did not change the result")
    return [f"slider (End key): the result changed by {changed:.2f} levels on average; {float(state['seconds']):.2f} s",
            compare(page, photo, 1.0, work, "slider at T = 1")[0]]


def check_messages(page, files: dict[str, Path]) -> list[str]:
    """A text file and a photo above the pixel limit each get a message."""
    lines = []
    for name, expected in (("notes.txt", "is not an image"), ("huge.png", "megapixels")):
        choose_file(page, files[name])
        state = wait_for(page, lambda s: s["state"] == "error" and expected in s["status"],
                         f"{name} (expecting a message with {expected!r})", timeout=60, errors_fail=False)
        lines.append(f"{name}: {state['status']}")
    return lines


def check_requests(page, origin: str) -> str:
    foreign = [url for url in page.requested_urls.values() if not url.startswith((origin, "data:", "blob:"))]
    problems = foreign + page.failed_requests + page.exceptions
    if problems:
        raise Failure("requests outside the server, failed requests or script errors: " + "; ".join(problems[:5]))
    return f"{len(page.requested_urls)} requests, all to {origin}; no script errors"


def check(html: Path, page_path: str, work: Path, screenshot: Path | None = None) -> list[str]:
    from browser import CHROMIUM_FLAGS, Chromium

    # every name lookup still fails, as in the page check, except for the address this check serves on
    flags = [f"{flag}, EXCLUDE 127.0.0.1" if flag.startswith("--host-resolver-rules=") else flag
             for flag in CHROMIUM_FLAGS]
    files = reader_files(work)
    server = serve(html)
    origin = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with Chromium(flags=flags) as browser:
            lines = [check_file_url(browser, (html / page_path).resolve().as_uri())]
            page = browser.open_page(f"{origin}/{page_path}")
            wait_for(page, lambda s: s["state"] == "ready", "opened over HTTP", timeout=30)
            lines += check_first_photo(page, files["astronaut.png"], work)
            if screenshot:
                lines.append(save_panel(page, screenshot))
            lines += check_slider(page, files["astronaut.png"], work)
            large = files["chelsea-large.png"]
            choose_file(page, large)
            wait_for(page, lambda s: s["runs"] >= 3 and s["state"] == "done", "large photo")
            width, height = Image.open(large).size
            lines.append(compare(page, large, 1.0, work, f"{large.name} ({width} × {height})")[0])
            lines += check_messages(page, files)
            lines.append(check_requests(page, origin))
    finally:
        server.shutdown()
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--html", type=Path, default=Path("_build/html"))
    parser.add_argument("--page", default="chapters/07_evaluation.html")
    parser.add_argument("--screenshot", type=Path, help="also save a PNG of the panel after the first result")
    args = parser.parse_args(argv)
    if not (args.html / args.page).is_file():
        print(f"FAIL {args.html / args.page} does not exist (build the book first: make book)")
        return 1
    with tempfile.TemporaryDirectory(prefix="colorize-panel-") as work:
        try:
            lines = check(args.html, args.page, Path(work), args.screenshot)
        except Failure as failure:
            print(f"FAIL colorize panel: {failure}")
            return 1
    print("ok   colorize panel")
    for line in lines:
        print(f"       {line}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    sys.exit(main())
