"""Open every page of the built book in headless Chromium and fail on what a reader would see broken.

Usage: python tools/check_pages.py [--html _build/html] [--toc _toc.yml] [--clipped-as-notes] [PAGE.html ...]

Each page named in _toc.yml is loaded from disk (file:// URL, every network name lookup blocked),
given time to run its JavaScript (MathJax typesetting, the widget manager drawing saved widget
state), and the resulting DOM is inspected. A page fails when it shows

- raw TeX: a math element that MathJax did not typeset, a MathJax error, or TeX markup such as
  ``$$``, ``\\(`` or ``\\frac`` in the text a reader sees; likewise a Markdown table shown as text;
- error output: a Python traceback, an error output, text written to stderr, or a Sphinx/docutils
  error box;
- a broken image: an <img> whose naturalWidth is 0 after loading;
- an empty widget area: saved widget views that the widget manager did not draw, or drew with no
  content or no height;
- an empty section: a heading with nothing under it (no text, figure, table, output or subsection);
- a clipped code line: a block of code or output wider than its box, so that the end of a line hides
  behind a sideways scroll bar (measured in a window 1280 px wide, the default of ``browser.Chromium``);
- the same image twice in the article (decoded, its plain margin cut off, shrunk to 48 × 48 pixels, the
  same to within a few levels: a figure drawn again, whatever its encoding or margin);
- a slider that does not change its figure: each slider of each widget is moved with the keyboard
  (End, or Home at the end already) and its figure, the image shown in its widget, must change; put
  back where it was, it must show its first figure again (``move_sliders``);
- a JavaScript exception, or a request the page made that failed (with name lookups blocked, any
  request to the network fails, so a page that needs a CDN is caught on any machine).

The detection works on HTML alone (``find_problems``): the browser annotates the DOM with what only
it knows (each image's naturalWidth, each widget area's height, how far each <pre> overflows) before
serialising it. ``--clipped-as-notes`` prints clipped code lines as notes instead of problems. Exit code
1 when any page has a problem, 0 otherwise.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from bs4 import BeautifulSoup

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"

# JavaScript run in each page after its load event: wait until MathJax has finished its first
# typesetting pass and the widget manager has drawn every saved view (or a deadline passes), wait
# for images, then record what only the browser knows as data- attributes and return the DOM (the pixels
# of the article's images only where PIXELS ran in the page first, as check_page does).
SETTLE_AND_SERIALISE = r"""
(async (budgetMs) => {
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const deadline = Date.now() + budgetMs;
  const mj = window.MathJax;
  if (mj && mj.startup && mj.startup.promise) {
    await Promise.race([mj.startup.promise, sleep(budgetMs)]);
  }
  const viewsDrawn = () => Array.from(
    document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]')
  ).every((view) => {
    const area = view.previousElementSibling;
    return area && area.classList.contains('widget-subarea') && area.childElementCount > 0;
  });
  while (!viewsDrawn() && Date.now() < deadline) { await sleep(100); }
  await sleep(300);  // let the last widget views lay out
  await Promise.all(Array.from(document.images).map((img) => img.complete ? null :
    Promise.race([new Promise((resolve) => { img.onload = img.onerror = resolve; }), sleep(5000)])));
  for (const img of document.images) {
    img.setAttribute('data-natural-width', String(img.naturalWidth));
    if (window.__pixels && img.closest('.bd-article') && img.getBoundingClientRect().width > 0) {
      img.setAttribute('data-pixels', window.__pixels(img));
    }
  }
  for (const area of document.querySelectorAll('.widget-subarea')) {
    area.setAttribute('data-rendered-height', String(area.getBoundingClientRect().height));
  }
  for (const pre of document.querySelectorAll('pre')) {
    const hidden = pre.scrollWidth - pre.clientWidth;
    if (hidden > 1 && pre.clientWidth > 0) pre.setAttribute('data-clipped-px', String(hidden));
  }
  return document.documentElement.outerHTML;
})
"""

# JavaScript that defines window.__pixels(img): the image decoded, without its plain margin, and shrunk to
# SIDE × SIDE pixels, as hex RGB
# ("" when it cannot be read), and window.__figure(slider): the pixels of the image a slider's widget shows,
# the first visible image in the closest widget box around the slider that has one (null if none).
PIXELS = r"""
window.__pixels = (img) => {
  try {
    const full = document.createElement('canvas');
    [full.width, full.height] = [img.naturalWidth, img.naturalHeight];
    const whole = full.getContext('2d');
    whole.drawImage(img, 0, 0);
    const [x0, y0, x1, y1] = window.__content(whole.getImageData(0, 0, full.width, full.height));
    const canvas = document.createElement('canvas');
    canvas.width = canvas.height = SIDE;
    const context = canvas.getContext('2d');
    context.imageSmoothingQuality = 'high';
    context.drawImage(full, x0, y0, x1 - x0, y1 - y0, 0, 0, SIDE, SIDE);
    const data = context.getImageData(0, 0, SIDE, SIDE).data;
    let hex = '';
    for (let i = 0; i < data.length; i += 4) {
      for (let c = 0; c < 3; c++) hex += data[i + c].toString(16).padStart(2, '0');
    }
    return `${x1 - x0}x${y1 - y0}:${hex}`;
  } catch (error) { return ''; }
};
// The box [x0, y0, x1, y1) of what differs from the colour of the top left pixel: a figure without the
// margin around it, which depends on how it was saved (bbox_inches="tight" or not).
window.__content = ({data, width, height}) => {
  const differs = (x, y) => {
    const i = 4 * (y * width + x);
    return [0, 1, 2].some((c) => Math.abs(data[i + c] - data[c]) > 24);
  };
  let [x0, y0, x1, y1] = [width, height, 0, 0];
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (differs(x, y)) { x0 = Math.min(x0, x); x1 = Math.max(x1, x + 1); y0 = Math.min(y0, y); y1 = y + 1; }
    }
  }
  return x1 > x0 ? [x0, y0, x1, y1] : [0, 0, width, height];
};
window.__figure = (slider) => {
  for (let box = slider.parentElement; box && !box.classList.contains('widget-subarea'); box = box.parentElement) {
    const shown = Array.from(box.querySelectorAll('img')).filter(
      (img) => img.complete && img.naturalWidth > 0 && img.getBoundingClientRect().width > 0);
    if (shown.length) return window.__pixels(shown[0]);
  }
  return null;
};
"""
SIDE = 48
PIXELS = PIXELS.replace("SIDE", str(SIDE))
SLIDERS = ".bd-article .widget-slider"
# Two images are the same picture when their SIDE × SIDE pixels differ by less than SAME_LEVELS on average and
# hardly any (SAME_OUTLIERS of them) by more than OUTLIER_LEVELS: that holds for a PNG and a WebP of a figure
# and for a figure saved with another margin, not for two figures of one kind on other data (other bars, an
# other title) nor for one figure with a few marks added.
SAME_LEVELS, OUTLIER_LEVELS, SAME_OUTLIERS = 6, 64, 0.005

# Elements whose text is not prose: code, program output, scripts, typeset math, navigation.
NOT_PROSE = [
    "script", "style", "noscript", "template", "textarea", "pre", "code", "kbd", "samp",
    "mjx-container", "mjx-assistive-mml", "math", "svg",
    ".highlight", ".cell_input", ".cell_output", ".MathJax", ".bd-sidebar-primary",
    ".bd-sidebar-secondary", ".bd-header", ".bd-footer", ".search-button-field",
]
# What a section may hold besides text, for it not to be empty.
CONTENT = ("img, svg, table, pre, video, iframe, canvas, section, .widget-subarea, "
           'script[type="application/vnd.jupyter.widget-view+json"]')
# TeX that leaked into prose: display/inline delimiters or a control sequence such as \frac, \sum.
RAW_TEX = re.compile(r"\$\$|\\\(|\\\)|\\\[|\\\]|\\[A-Za-z]{2,}")
# A Markdown table that was shown as text: two cells of its header separator, e.g. |---|:---:|, whose
# dashes Sphinx may have turned into em or en dashes.
RAW_TABLE = re.compile(r"\|\s*:?[-–—]+:?\s*\|\s*:?[-–—]+:?\s*\|")
TRACEBACK = re.compile(r"Traceback \(most recent call last\)|^\w*(Error|Exception): ", re.M)


@dataclass
class PageReport:
    """What was found on one page."""

    name: str
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


def _describe(element, limit: int = 80) -> str:
    text = " ".join(element.get_text(" ", strip=True).split())
    return text[:limit] + ("..." if len(text) > limit else "")


def _empty_under(heading) -> bool:
    """Whether nothing follows ``heading`` in its section: no text, no figure, table, output or subsection."""
    for sibling in heading.find_next_siblings():
        if sibling.get_text(strip=True) or sibling.name in CONTENT.split(", ") or sibling.select_one(CONTENT):
            return False
    return not any(str(s).strip() for s in heading.find_next_siblings(string=True))


def find_problems(html: str) -> list[str]:
    """Problems a reader would see on a page, from its DOM after JavaScript ran.

    ``html`` is the serialised post-script DOM. Images are judged by their ``data-natural-width``
    attribute and widget areas by ``data-rendered-height`` where the browser set them. Returns
    human-readable descriptions; an empty list means the page looks right.
    """
    soup = BeautifulSoup(html, "html.parser")
    body = soup.body or soup
    checks = (_math_problems, _error_problems, _image_and_widget_problems, _section_problems,
              _raw_markup_problems, _repeated_images)
    return [problem for check in checks for problem in check(body)]


def _math_problems(body) -> list[str]:
    """Every Sphinx math element must contain MathJax output, and MathJax must not have reported an
    error inside it."""
    problems = [f"math not typeset: {_describe(element)}"
                for element in body.select(".math") if element.find("mjx-container") is None]
    for element in body.select("mjx-merror, .mjx-merror, [data-mjx-error]"):
        problems.append(f"MathJax error: {element.get('data-mjx-error') or _describe(element)}")
    return problems


def _error_problems(body) -> list[str]:
    """Errors and tracebacks in cell outputs, and error boxes Sphinx leaves in the page."""
    problems = []
    for selector, label in [
        (".output.traceback", "traceback output"),
        (".output.error", "error output"),
        (".output.stderr", "stderr output"),
        (".system-message", "build error message"),
        (".problematic", "unresolved markup"),
        (".widget-error, .jupyter-widgets-error-widget", "widget error"),
    ]:
        for element in body.select(selector):
            problems.append(f"{label}: {_describe(element)}")
    for element in body.select(".cell_output"):
        if TRACEBACK.search(element.get_text("\n")) and not element.select(
            ".output.traceback, .output.error"
        ):
            problems.append(f"traceback text in output: {_describe(element)}")
    return problems


def _image_and_widget_problems(body) -> list[str]:
    """Images that did not load or decode, and saved widget views the widget manager did not draw
    (it inserts a .widget-subarea right before each view's script element)."""
    problems = [f"broken image: {img.get('src', '')[:100]}"
                for img in body.find_all("img") if img.get("data-natural-width") == "0"]
    for view in body.find_all("script", attrs={"type": WIDGET_VIEW}):
        area = view.find_previous_sibling()
        if area is None or "widget-subarea" not in (area.get("class") or []):
            problems.append(f"widget not rendered (empty widget area): {view.get_text()[:100]}")
        elif not area.find(True):
            problems.append("widget area rendered empty")
        elif area.get("data-rendered-height") in ("0", "0.0"):
            problems.append("widget area has zero height")
    return problems


def same_picture(a: str, b: str) -> bool:
    """Whether two ``data-pixels`` values (``WxH:hex`` of an image without its margin, see ``PIXELS``) are
    the same picture: the same shape to within 3 %, and the same pixels to within ``SAME_LEVELS`` on average
    with few outliers."""
    (size_a, hex_a), (size_b, hex_b) = a.split(":"), b.split(":")
    (wa, ha), (wb, hb) = (map(int, size.split("x")) for size in (size_a, size_b))
    if abs(wa / ha - wb / hb) > 0.03 * wa / ha:
        return False
    differences = [abs(x - y) for x, y in zip(bytes.fromhex(hex_a), bytes.fromhex(hex_b))]
    outliers = sum(d > OUTLIER_LEVELS for d in differences) / len(differences)
    return sum(differences) / len(differences) < SAME_LEVELS and outliers < SAME_OUTLIERS


def _repeated_images(body) -> list[str]:
    """Images shown more than once in the article, compared by their decoded pixels (``data-pixels``)."""
    shown = [(img, img["data-pixels"]) for img in body.select("img[data-pixels]") if img["data-pixels"]]
    problems = []
    for i, (img, pixels) in enumerate(shown):
        for other, other_pixels in shown[:i]:
            if same_picture(pixels, other_pixels):
                problems.append(f"the same image twice: {_image_name(other)} and again {_image_name(img)}")
                break
    return problems


def _image_name(img) -> str:
    """An image as a reader could find it: its file, or the heading of the section it is in."""
    src = img.get("src", "")
    if src and not src.startswith(("data:", "blob:")):
        return src.rsplit("/", 1)[-1]
    heading = img.find_previous(re.compile(r"^h[1-6]$"))
    return f"an image under {_describe(heading, 50).rstrip(' #¶')!r}" if heading else "an image"


def move_sliders(page, wait_s: float = 5.0) -> list[str]:
    """Move every slider of the page with the keyboard; a problem for each whose figure does not change.

    Each slider's handle is focused and sent End (Home where it is at its end already); its figure
    (``window.__figure``) must then show other pixels than before within ``wait_s``. The slider is then put
    back (Home, then ArrowRight as many times as its start was from the left end) and must show its first
    figure again, so that the next slider moves from the widget's starting state.
    """
    problems = []
    count = page.evaluate(f"document.querySelectorAll({SLIDERS!r}).length")
    for i in range(count):
        slider = f"document.querySelectorAll({SLIDERS!r})[{i}]"
        state = page.evaluate(f"""(() => {{ const s = {slider}; const h = s.querySelector('.noUi-handle');
            s.scrollIntoView({{block: 'center'}}); h.focus();
            return {{label: (s.querySelector('.widget-label') || {{textContent: ''}}).textContent.trim(),
                     now: +h.getAttribute('aria-valuenow'), min: +h.getAttribute('aria-valuemin'),
                     max: +h.getAttribute('aria-valuemax'), figure: window.__figure(s)}}; }})()""")
        name = f"slider {state['label'] or i + 1!r}"
        if not state["figure"]:
            problems.append(f"{name} has no figure")
            continue
        page.press("Home" if state["now"] >= state["max"] else "End")
        if not _figure_shows(page, slider, lambda after: after != state["figure"], wait_s):
            problems.append(f"{name} does not change its figure")
        page.evaluate(f"{slider}.querySelector('.noUi-handle').focus()")
        page.press("Home")
        for _ in range(round(state["now"] - state["min"])):
            page.press("ArrowRight")
        if not _figure_shows(page, slider, lambda after: after == state["figure"], wait_s):
            problems.append(f"{name} put back where it was does not show its first figure again")
    return problems


def _figure_shows(page, slider: str, wanted, wait_s: float) -> bool:
    """Whether the figure of ``slider`` (a JavaScript expression) is shown, its pixels (``window.__figure``)
    such that ``wanted(pixels)``, within ``wait_s`` seconds."""
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        after = page.evaluate(f"window.__figure({slider})")
        if after and wanted(after):
            return True
        time.sleep(0.1)
    return False


def _section_problems(body) -> list[str]:
    """Sections that render as a heading alone."""
    problems = []
    for section in body.find_all("section"):
        heading = section.find(re.compile(r"^h[1-6]$"))
        if heading is not None and _empty_under(heading):
            problems.append(f"empty section: {_describe(heading).rstrip(' #¶')}")
    return problems


def _text_lines(body, leave_out: list[str]) -> list[str]:
    """The lines of text a reader sees in ``body`` outside the elements matching ``leave_out``."""
    copy = BeautifulSoup(str(body), "html.parser")
    for element in copy.select(", ".join(leave_out)):
        element.decompose()
    return copy.get_text("\n").splitlines()


def _raw_markup_problems(body) -> list[str]:
    """TeX that reached the prose unrendered, and Markdown tables shown as text in the prose or in a
    cell's output."""
    problems = []
    for line in _text_lines(body, NOT_PROSE):
        match = RAW_TEX.search(line)
        if match:
            problems.append(f"raw TeX in text ({match.group(0)!r}): {line.strip()[:100]}")
    for line in _text_lines(body, ["script", "style", "pre", "code", ".highlight"]):
        if RAW_TABLE.search(line):
            problems.append(f"Markdown table shown as text: {line.strip()[:100]}")
    return problems


def find_clipped(html: str) -> list[str]:
    """Code or output lines cut off at the right edge of their box, from the overflow the browser measured.

    The book's style sheet (book/_assets/code-blocks.css) sizes code so that 88 columns fit and wraps
    long output lines, so a clipped line is a code line longer than 88 characters.
    """
    notes = []
    for pre in BeautifulSoup(html, "html.parser").select("pre[data-clipped-px]"):
        longest = max(pre.get_text().splitlines() or [""], key=len)
        notes.append(f"code line clipped by {pre['data-clipped-px']} px: {longest.strip()[:80]}")
    return notes


def toc_pages(toc_path: Path) -> list[str]:
    """Document names in reading order (root first) from a jb-book _toc.yml."""
    import yaml

    toc = yaml.safe_load(toc_path.read_text())
    names = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                names.append(entry["file"])
            walk(entry.get("chapters"))
            walk(entry.get("sections"))
            for part in entry.get("parts", []) or []:
                walk(part.get("chapters"))

    for part in toc.get("parts", []) or []:
        walk(part.get("chapters"))
    walk(toc.get("chapters"))
    return [re.sub(r"\.(md|ipynb|rst)$", "", name) for name in names]


def check_page(browser, path: Path, budget_s: float, clipped_as_notes: bool = False) -> PageReport:
    """What ``path`` shows wrong once loaded in ``browser``; clipped code lines are notes with
    ``clipped_as_notes``, problems otherwise."""
    started = time.monotonic()
    report = PageReport(name=str(path))
    page = browser.open_page(path.resolve().as_uri())
    try:
        page.evaluate(PIXELS)
        html = page.evaluate(f"{SETTLE_AND_SERIALISE}({int(budget_s * 1000)})", timeout=budget_s + 60)
        report.problems = find_problems(html)
        report.problems += move_sliders(page)
        (report.notes if clipped_as_notes else report.problems).extend(find_clipped(html))
        report.problems += [f"JavaScript exception: {text[:200]}" for text in page.exceptions]
        # Offline, every request must be served from the build folder: a failed one is a missing
        # asset (a font, a script, an image) or a dependency on the network.
        report.problems += [f"request failed: {text}" for text in page.failed_requests]
    finally:
        page.close()
    report.seconds = time.monotonic() - started
    return report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pages", nargs="*", type=Path, help="HTML files (default: every page in the toc)")
    parser.add_argument("--html", type=Path, default=Path("_build/html"))
    parser.add_argument("--toc", type=Path, default=Path("_toc.yml"))
    parser.add_argument("--budget", type=float, default=20.0,
                        help="seconds a page may take to typeset and draw its widgets")
    parser.add_argument("--clipped-as-notes", action="store_true",
                        help="report clipped code lines as notes, not problems")
    args = parser.parse_args(argv)

    from browser import CHROMIUM_FLAGS, Chromium

    pages = list(args.pages)
    missing = []
    if not pages:
        for name in toc_pages(args.toc):
            path = args.html / f"{name}.html"
            (pages if path.exists() else missing).append(path)
    failed = 0
    started = time.monotonic()
    # File access from files: the pixels of the book's own images (file:// URLs) can then be read.
    with Chromium(flags=(*CHROMIUM_FLAGS, "--allow-file-access-from-files")) as browser:
        for path in pages:
            report = check_page(browser, path, args.budget, clipped_as_notes=args.clipped_as_notes)
            status = "FAIL" if report.problems else "ok"
            print(f"{status:4} {report.name} ({report.seconds:.1f} s)", flush=True)
            for problem in report.problems:
                print(f"       problem: {problem}")
            for note in report.notes:
                print(f"       note: {note}")
            failed += bool(report.problems)
    for path in missing:
        print(f"FAIL {path}: page in the table of contents was not built")
    failed += len(missing)
    total = len(pages) + len(missing)
    print(f"{total - failed} of {total} pages look right ({time.monotonic() - started:.1f} s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    sys.exit(main())
