"""Save a full-page PNG of every page of the built book, for people to look at.

Usage: python tools/screenshots.py [--html _build/html] [--toc _toc.yml] [--out screenshots]

Pages are taken in table-of-contents order, each after MathJax and the widget manager have finished
(the same wait as tools/check_pages.py), and written as screenshots/NN_<page>.png.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from browser import Chromium  # noqa: E402
from check_pages import SETTLE_AND_SERIALISE, toc_pages  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--html", type=Path, default=Path("_build/html"))
    parser.add_argument("--toc", type=Path, default=Path("_toc.yml"))
    parser.add_argument("--out", type=Path, default=Path("screenshots"))
    parser.add_argument("--width", type=int, default=1280, help="page width in CSS pixels")
    parser.add_argument("--budget", type=float, default=20.0)
    args = parser.parse_args(argv)

    args.out.mkdir(parents=True, exist_ok=True)
    missing = 0
    with Chromium(width=args.width) as browser:
        for number, name in enumerate(toc_pages(args.toc)):
            path = args.html / f"{name}.html"
            if not path.exists():
                print(f"missing {path}")
                missing += 1
                continue
            started = time.monotonic()
            page = browser.open_page(path.resolve().as_uri())
            page.evaluate(f"{SETTLE_AND_SERIALISE}({int(args.budget * 1000)})",
                          timeout=args.budget + 60)
            target = args.out / f"{number:02d}_{Path(name).name}.png"
            page.screenshot(target, width=args.width)
            page.close()
            print(f"{target} ({time.monotonic() - started:.1f} s)", flush=True)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
