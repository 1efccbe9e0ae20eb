"""Drive headless Chromium through the DevTools protocol over a pipe (standard library only).

Chromium started with ``--remote-debugging-pipe`` reads protocol messages from file descriptor 3
and writes its answers to descriptor 4, each message a JSON object terminated by a NUL byte. That
is all the page checks and screenshots need: no debugging port, no WebSocket library, no Node.

Example::

    with Chromium() as browser:
        page = browser.open_page("file:///tmp/page.html")
        html = page.evaluate("document.title")
"""

from __future__ import annotations

import base64
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

# Flags known to work for Debian's chromium in a container, with no network access needed. The
# host-resolver rule makes every name lookup fail, so a page that depends on a CDN breaks here the
# same way it breaks for a reader without a network, even on a machine that has one.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--mute-audio",
    "--host-resolver-rules=MAP * ~NOTFOUND",
)


def find_chromium() -> str:
    """Path of the Chromium executable: $CHROMIUM, /usr/bin/chromium, or one found on PATH."""
    candidates = [os.environ.get("CHROMIUM"), "/usr/bin/chromium"]
    candidates += [shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome")]
    for path in candidates:
        if path and os.access(path, os.X_OK):
            return path
    raise FileNotFoundError(
        "no Chromium found: install it (apt-get install -y chromium) or set CHROMIUM=/path/to/it"
    )

# JavaScript that turns off CSS transitions and animations in a page, so that it shows every change of
# layout in its final state at once (for screenshots).
NO_MOTION = """(() => {
  const style = document.createElement('style');
  style.textContent = '*, *::before, *::after { transition: none !important; animation: none !important; }';
  document.head.appendChild(style);
})()"""


# Windows virtual key codes of the keys Page.press knows (the protocol wants one with the key's name).
KEY_CODES = {"End": 35, "Home": 36, "ArrowLeft": 37, "ArrowRight": 39}


class BrowserError(RuntimeError):
    """The browser answered a command with an error, died, or did not answer in time."""


class Page:
    """One browser tab, attached with its own protocol session."""

    def __init__(self, browser: "Chromium", target_id: str, session_id: str):
        self.browser = browser
        self.target_id = target_id
        self.session_id = session_id
        self.exceptions: list[str] = []  # uncaught JavaScript exceptions
        self.failed_requests: list[str] = []  # URLs the page could not load, with the reason
        self.requested_urls: dict[str, str] = {}  # request id -> URL
        self.bytes_received = 0  # bytes of every finished response (headers and body, as transferred)

    def send(self, method: str, params: dict | None = None, timeout: float = 60.0) -> dict:
        return self.browser.send(method, params, session_id=self.session_id, timeout=timeout)

    def evaluate(self, expression: str, timeout: float = 60.0):
        """Value of a JavaScript expression; promises are awaited. Raises BrowserError on a throw."""
        result = self.send(
            "Runtime.evaluate",
            {"expression": expression, "awaitPromise": True, "returnByValue": True},
            timeout=timeout,
        )
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            raise BrowserError(f"JavaScript error: {text}")
        return result["result"].get("value")

    def screenshot(self, path: Path, width: int = 1280) -> None:
        """Save a PNG of the whole page (not only the visible part) at the given CSS width.

        CSS transitions and animations are turned off first, so that a change of the window's size
        shows its end state at once: the book theme slides its left sidebar in over 0.25 s
        (``transition: margin-left``) when the layout changes, and a capture taken during the slide
        showed the sidebar cut off and the article shifted sideways. The page is then laid out at
        ``width``, scrolled to its top left corner, and the capture is clipped to the page's own box
        from (0, 0): without the clip, Chromium captures from wherever the view was scrolled to.
        """
        self.evaluate(NO_MOTION)
        metrics = {"width": width, "deviceScaleFactor": 1, "mobile": False}
        self.send("Emulation.setDeviceMetricsOverride", {**metrics, "height": 900})
        height = int(self.evaluate("window.scrollTo(0, 0); Math.ceil(document.documentElement.scrollHeight)")
                     or 900)
        self.send("Emulation.setDeviceMetricsOverride", {**metrics, "height": height})
        self.evaluate("window.scrollTo(0, 0)")
        clip = {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}
        data = self.send(
            "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": clip}, timeout=120
        )["data"]
        Path(path).write_bytes(base64.b64decode(data))

    def press(self, key: str) -> None:
        """Press and release one key (e.g. "End", "Home", "ArrowRight") in the focused element."""
        code = KEY_CODES[key]
        event = {"key": key, "code": key, "windowsVirtualKeyCode": code, "nativeVirtualKeyCode": code}
        self.send("Input.dispatchKeyEvent", {"type": "rawKeyDown", **event})
        self.send("Input.dispatchKeyEvent", {"type": "keyUp", **event})

    def close(self) -> None:
        self.browser.send("Target.closeTarget", {"targetId": self.target_id})


class Chromium:
    """A headless Chromium process and a blocking client for its DevTools protocol pipe."""

    def __init__(self, executable: str | None = None, flags=CHROMIUM_FLAGS, width: int = 1280,
                 height: int = 900):
        self.executable = executable or find_chromium()
        self.flags = tuple(flags)
        self.size = (width, height)
        self.process: subprocess.Popen | None = None
        self._next_id = 0
        self._buffer = b""
        self._events: list[dict] = []
        self._pages: dict[str, Page] = {}

    # -- process ------------------------------------------------------------------------------
    def __enter__(self) -> "Chromium":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def start(self) -> None:
        self._profile = tempfile.TemporaryDirectory(prefix="chromium-profile-")
        to_browser_r, to_browser_w = os.pipe()
        from_browser_r, from_browser_w = os.pipe()
        # Chromium expects the pipe ends exactly on descriptors 3 and 4 of its own process.
        def wire_pipes():
            moved_r = os.dup(to_browser_r)
            moved_w = os.dup(from_browser_w)
            os.dup2(moved_r, 3)
            os.dup2(moved_w, 4)

        args = [
            self.executable,
            *self.flags,
            "--remote-debugging-pipe",
            f"--user-data-dir={self._profile.name}",
            f"--window-size={self.size[0]},{self.size[1]}",
            "about:blank",
        ]
        self.process = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=wire_pipes,
            close_fds=False,
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._write_fd = to_browser_w
        self._read_fd = from_browser_r
        self.send("Target.setDiscoverTargets", {"discover": False}, timeout=60)

    def close(self) -> None:
        if self.process is None:
            return
        try:
            self.send("Browser.close", timeout=5)
        except BrowserError:
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for fd in (self._write_fd, self._read_fd):
            try:
                os.close(fd)
            except OSError:
                pass
        self.process = None
        self._profile.cleanup()

    # -- protocol -----------------------------------------------------------------------------
    def _read_message(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise BrowserError("timed out waiting for the browser")
            ready, _, _ = select.select([self._read_fd], [], [], min(remaining, 1.0))
            if ready:
                chunk = os.read(self._read_fd, 1 << 20)
                if not chunk:
                    raise BrowserError("the browser closed its protocol pipe (did it crash?)")
                self._buffer += chunk
            elif self.process is not None and self.process.poll() is not None:
                raise BrowserError(f"the browser exited with code {self.process.returncode}")
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)

    def _dispatch_event(self, message: dict) -> None:
        page = self._pages.get(message.get("sessionId", ""))
        method = message.get("method")
        params = message.get("params", {})
        if page is not None and method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            page.exceptions.append(
                details.get("exception", {}).get("description") or details.get("text", "")
            )
        elif page is not None and method == "Network.loadingFailed":
            url = page.requested_urls.get(params.get("requestId"), "?")
            if not params.get("canceled"):
                page.failed_requests.append(f"{url} ({params.get('errorText', 'failed')})")
        elif page is not None and method == "Network.requestWillBeSent":
            page.requested_urls[params["requestId"]] = params["request"]["url"]
        elif page is not None and method == "Network.loadingFinished":
            page.bytes_received += int(params.get("encodedDataLength", 0))
        self._events.append(message)

    def send(self, method: str, params: dict | None = None, session_id: str | None = None,
             timeout: float = 60.0) -> dict:
        """Send one command and return its result, recording the events that arrive meanwhile."""
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session_id:
            message["sessionId"] = session_id
        data = json.dumps(message).encode() + b"\0"
        while data:
            written = os.write(self._write_fd, data)
            data = data[written:]
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error'].get('message')}")
                return reply.get("result", {})
            if "method" in reply:
                self._dispatch_event(reply)

    def wait_for_event(self, method: str, session_id: str, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            for index, event in enumerate(self._events):
                if event.get("method") == method and event.get("sessionId") == session_id:
                    return self._events.pop(index)
            message = self._read_message(deadline)
            if "method" in message:
                self._dispatch_event(message)

    # -- pages --------------------------------------------------------------------------------
    def open_page(self, url: str, timeout: float = 60.0) -> Page:
        """Open url in a new tab and wait for its load event (scripts may still be running)."""
        target_id = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session_id = self.send("Target.attachToTarget", {"targetId": target_id, "flatten": True})[
            "sessionId"
        ]
        page = Page(self, target_id, session_id)
        self._pages[session_id] = page
        for domain in ("Page.enable", "Runtime.enable", "Network.enable"):
            page.send(domain)
        page.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": self.size[0], "height": self.size[1], "deviceScaleFactor": 1,
             "mobile": False},
        )
        self._events.clear()
        page.send("Page.navigate", {"url": url})
        self.wait_for_event("Page.loadEventFired", session_id, timeout)
        return page
