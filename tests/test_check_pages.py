"""The rendered-page check must catch what a reader would see broken, and only that.

Most tests feed small HTML documents, shaped like the DOM of a built page after its scripts ran, to
``find_problems``. The last ones load pages in headless Chromium through the same code path the
book check uses.
"""

import importlib.util
import sys
from pathlib import Path

import pytest

TOOLS = Path(__file__).resolve().parents[1] / "tools"


def _load(name):
    spec = importlib.util.spec_from_file_location(name, TOOLS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


check_pages = _load("check_pages")
browser = _load("browser")

VIEW = '<script type="application/vnd.jupyter.widget-view+json">{"model_id": "abc"}</script>'
TYPESET = '<span class="math notranslate nohighlight"><mjx-container class="MathJax">x</mjx-container></span>'


def page(body: str) -> str:
    return f"<html><head><title>t</title></head><body><main>{body}</main></body></html>"


def clean_body() -> str:
    """A page as it should look: typeset math, a drawn widget, a loaded image, code with TeX."""
    return (
        f"<p>The temperature {TYPESET} sharpens the distribution.</p>"
        '<div class="highlight"><pre>w = r"\\frac{1}{p}"  # $$ in code is fine</pre></div>'
        '<div class="cell_output"><div class="output text_plain"><pre>313</pre></div></div>'
        '<img src="figure.png" data-natural-width="640">'
        '<div class="cell_output"><div class="widget-subarea" data-rendered-height="42">'
        '<div class="jupyter-widgets widget-slider">L</div></div>' + VIEW + "</div>"
    )


def test_clean_page_has_no_problems():
    assert check_pages.find_problems(page(clean_body())) == []


@pytest.mark.parametrize(
    "prose",
    [
        r"<p>The weight is $$w = \frac{1}{p}$$ for each bin.</p>",
        r"<p>The mean \(\mathbb{E}[w] = 1\) holds.</p>",
        r"<p>We sum \sum_q over the bins.</p>",
    ],
)
def test_raw_tex_in_prose_is_a_problem(prose):
    problems = check_pages.find_problems(page(clean_body() + prose))
    assert any(p.startswith("raw TeX") for p in problems), problems


@pytest.mark.parametrize("separator", ["|---|---|", "|—|:—:|", "| --- | ---: |"])
def test_markdown_table_shown_as_text_is_a_problem(separator):
    raw = f'<div class="cell_output"><p>| claim | ours | {separator} | beats L2 | no |</p></div>'
    problems = check_pages.find_problems(page(clean_body() + raw))
    assert any(p.startswith("Markdown table shown as text") for p in problems), problems
    rendered = "<table><tr><th>claim</th></tr><tr><td>beats L2</td></tr></table>"
    assert check_pages.find_problems(page(clean_body() + rendered)) == []


def test_math_element_left_untypeset_is_a_problem():
    html = page(r'<p><span class="math notranslate nohighlight">\(L^*\)</span></p>')
    problems = check_pages.find_problems(html)
    assert any(p.startswith("math not typeset") for p in problems), problems


def test_mathjax_error_is_a_problem():
    html = page('<span class="math"><mjx-container><mjx-merror data-mjx-error="Undefined control'
                ' sequence \\frak">x</mjx-merror></mjx-container></span>')
    assert any("MathJax error" in p for p in check_pages.find_problems(html))


@pytest.mark.parametrize(
    "output, label",
    [
        ('<div class="output traceback"><pre>ValueError: ab must be (B, 2, H, W)</pre></div>',
         "traceback output"),
        ('<div class="output error"><pre>boom</pre></div>', "error output"),
        ('<div class="output stderr"><pre>UserWarning: careful</pre></div>', "stderr output"),
        ('<div class="output text_plain"><pre>Traceback (most recent call last):\n  File "x"\n'
         "KeyError: 1</pre></div>", "traceback text in output"),
        ('<div class="system-message"><p>Unknown directive type</p></div>', "build error message"),
    ],
)
def test_error_outputs_are_problems(output, label):
    html = page(clean_body() + f'<div class="cell_output">{output}</div>')
    problems = check_pages.find_problems(html)
    assert any(p.startswith(label) for p in problems), problems


def test_broken_image_is_a_problem():
    html = page(clean_body() + '<img src="missing.png" data-natural-width="0">')
    problems = check_pages.find_problems(html)
    assert problems == ["broken image: missing.png"]


@pytest.mark.parametrize(
    "widget_output, expected",
    [
        (VIEW, "widget not rendered"),  # the manager never ran
        ('<div class="widget-subarea" data-rendered-height="0"></div>' + VIEW, "widget area rendered empty"),
        ('<div class="widget-subarea" data-rendered-height="0"><div></div></div>' + VIEW,
         "widget area has zero height"),
    ],
)
def test_empty_widget_area_is_a_problem(widget_output, expected):
    html = page(clean_body() + f'<div class="cell_output">{widget_output}</div>')
    problems = check_pages.find_problems(html)
    assert any(p.startswith(expected) for p in problems), problems


def test_clipped_code_line_is_found():
    html = page(clean_body() + '<div class="highlight"><pre data-clipped-px="96">x = 1\n'
                'y = a_long_call(with_many, arguments)</pre></div>')
    assert check_pages.find_clipped(html) == ["code line clipped by 96 px: y = a_long_call(with_many, arguments)"]
    assert check_pages.find_clipped(page(clean_body())) == []


@pytest.mark.parametrize("content, empty", [
    ('<div class="cell tag_remove-input"><div class="cell_output docutils container"></div></div>', True),
    ("", True),
    ("<p>The validation split.</p>", False),
    ('<div class="cell_output"><img src="figure.png" data-natural-width="640"></div>', False),
    ('<section id="b"><h3>Part<a class="headerlink" href="#b">#</a></h3><p>text</p></section>', False),
])
def test_section_with_only_its_heading_is_a_problem(content, empty):
    html = page(f'<section id="a"><h2>Validation<a class="headerlink" href="#a">#</a></h2>{content}</section>')
    assert check_pages.find_problems(html) == (["empty section: Validation"] if empty else [])


def test_toc_pages_lists_root_then_chapters_in_order(tmp_path):
    toc = tmp_path / "_toc.yml"
    toc.write_text(
        "format: jb-book\nroot: book/intro\nparts:\n"
        "  - caption: A\n    chapters:\n      - file: chapters/01_a.ipynb\n"
        "      - file: chapters/02_b\n        sections:\n          - file: chapters/02_c\n"
        "  - caption: B\n    chapters:\n      - file: book/bibliography.md\n"
    )
    assert check_pages.toc_pages(toc) == [
        "book/intro", "chapters/01_a", "chapters/02_b", "chapters/02_c", "book/bibliography",
    ]


# -- in a real browser ---------------------------------------------------------------------------

def _chromium_or_skip():
    try:
        return browser.find_chromium()
    except FileNotFoundError:
        pytest.skip("Chromium is not installed")


@pytest.mark.slow
def test_browser_finds_broken_image_raw_tex_and_undrawn_widget(tmp_path):
    _chromium_or_skip()
    from PIL import Image

    Image.new("RGB", (8, 4), (200, 30, 30)).save(tmp_path / "good.png")
    (tmp_path / "bad.html").write_text(page(
        '<img src="good.png">'
        '<img src="does-not-exist.png">'
        r"<p>Raw: $$\frac{1}{p}$$</p>"
        '<div class="cell_output">' + VIEW + "</div>"
    ))
    (tmp_path / "good.html").write_text(page('<p>Fine.</p><img src="good.png">'))
    with browser.Chromium() as chromium:
        bad = check_pages.check_page(chromium, tmp_path / "bad.html", budget_s=1.0)
        good = check_pages.check_page(chromium, tmp_path / "good.html", budget_s=1.0)
    kinds = sorted({p.split(":")[0].split(" (")[0] for p in bad.problems})
    assert kinds == ["broken image", "raw TeX in text", "request failed", "widget not rendered"], bad.problems
    assert bad.problems.count("broken image: does-not-exist.png") == 1
    assert good.problems == []


@pytest.mark.slow
def test_browser_measures_clipped_code(tmp_path):
    _chromium_or_skip()
    code = '<pre style="width: 200px; overflow-x: auto">{}</pre>'
    (tmp_path / "code.html").write_text(page(code.format("x = " + "1 + " * 60) + code.format("y = 2")))
    with browser.Chromium() as chromium:
        report = check_pages.check_page(chromium, tmp_path / "code.html", budget_s=1.0)
        notes = check_pages.check_page(chromium, tmp_path / "code.html", budget_s=1.0, clipped_as_notes=True)
    assert len(report.problems) == 1 and report.problems[0].startswith("code line clipped by"), report.problems
    assert notes.problems == [] and len(notes.notes) == 1, notes


def _article_with_code(code: str, output: str) -> str:
    """A page with the book's code style sheet: a code cell and an output in an article as wide as the
    content column of a 1280 px window (688 px), each <pre> padded and scrolling like the theme's."""
    css = (TOOLS.parent / "book" / "_assets" / "code-blocks.css").as_uri()
    pre = '<pre style="padding: 1rem; border: 1px solid; overflow: auto; font-family: monospace">{}</pre>'
    return (f'<html><head><link rel="stylesheet" href="{css}"></head><body style="margin: 0">'
            f'<article class="bd-article" style="width: 688px">'
            f'<div class="cell_input">{pre.format(code)}</div>'
            f'<div class="cell_output">{pre.format(output)}</div></article></body></html>')


@pytest.mark.slow
def test_book_style_sheet_fits_88_columns_of_code_and_wraps_output(tmp_path):
    _chromium_or_skip()
    output = "loss 4.67, " * 30  # one 330-character line of output
    (tmp_path / "fits.html").write_text(_article_with_code("x" * 88, output))
    (tmp_path / "long.html").write_text(_article_with_code("x" * 100, output))
    with browser.Chromium() as chromium:
        fits = check_pages.check_page(chromium, tmp_path / "fits.html", budget_s=1.0)
        long = check_pages.check_page(chromium, tmp_path / "long.html", budget_s=1.0)
    assert fits.problems == [], fits.problems
    assert len(long.problems) == 1 and long.problems[0].endswith("x" * 80), long.problems  # the code, not the output


@pytest.mark.slow
def test_browser_reports_javascript_exceptions_and_blocks_the_network(tmp_path):
    _chromium_or_skip()
    (tmp_path / "js.html").write_text(page(
        '<script src="https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-chtml.js"></script>'
        "<script>undefinedFunction()</script><p>text</p>"
    ))
    with browser.Chromium() as chromium:
        report = check_pages.check_page(chromium, tmp_path / "js.html", budget_s=1.0)
    assert any("undefinedFunction" in p for p in report.problems), report.problems
    # Name lookups are blocked, so a CDN script fails even on a machine with a network.
    assert any(p.startswith("request failed") and "cdn.jsdelivr.net" in p for p in report.problems), report.problems


@pytest.mark.slow
def test_screenshot_of_a_page_is_a_png(tmp_path):
    _chromium_or_skip()
    (tmp_path / "p.html").write_text(page("<h1>Hello</h1>" + "<p>line</p>" * 80))
    with browser.Chromium() as chromium:
        tab = chromium.open_page((tmp_path / "p.html").as_uri())
        tab.screenshot(tmp_path / "p.png", width=640)
        tab.close()
    from PIL import Image

    with Image.open(tmp_path / "p.png") as image:
        assert image.format == "PNG"
        assert image.width == 640
        assert image.height > 900  # the whole page, not only the first screen


@pytest.mark.slow
def test_screenshot_starts_at_the_left_edge_of_a_page_scrolled_sideways(tmp_path):
    _chromium_or_skip()
    (tmp_path / "wide.html").write_text(
        '<html><body style="margin: 0"><div style="width: 40px; height: 40px; background: red"></div>'
        '<div style="width: 3000px; height: 2000px"></div>'
        "<script>window.scrollTo(900, 300)</script></body></html>")
    with browser.Chromium() as chromium:
        tab = chromium.open_page((tmp_path / "wide.html").as_uri())
        tab.screenshot(tmp_path / "wide.png", width=640)
        tab.close()
    from PIL import Image

    with Image.open(tmp_path / "wide.png") as image:
        assert image.width == 640
        assert image.convert("RGB").getpixel((5, 5)) == (255, 0, 0)


@pytest.mark.slow
def test_screenshot_shows_a_sliding_sidebar_where_it_ends(tmp_path):
    _chromium_or_skip()
    # Like the book theme's left sidebar: off the page in a narrow window, sliding in when it widens.
    (tmp_path / "slide.html").write_text(
        '<html><head><style>#side { width: 60px; height: 60px; background: red; transition: margin-left 30s }'
        " @media (max-width: 700px) { #side { margin-left: -60px } }</style></head>"
        '<body style="margin: 0"><div id="side"></div><div style="height: 2000px"></div></body></html>')
    with browser.Chromium(width=640) as chromium:
        tab = chromium.open_page((tmp_path / "slide.html").as_uri())
        tab.screenshot(tmp_path / "slide.png", width=1000)
        tab.close()
    from PIL import Image

    with Image.open(tmp_path / "slide.png") as image:
        assert image.convert("RGB").getpixel((5, 5)) == (255, 0, 0)


# -- the same image twice, and sliders that do not change their figure ---------------------------------------------


def pixels_attribute(size, fill, spots=0):
    """A ``data-pixels`` value (see check_pages.PIXELS): ``size`` (w, h) and one RGB colour for every pixel,
    but ``spots`` of them white."""
    count = check_pages.SIDE ** 2
    return f"{size[0]}x{size[1]}:" + bytes(fill).hex() * (count - spots) + "ffffff" * spots


def test_the_same_picture_twice_is_a_problem_whatever_its_encoding():
    first = f'<h2>One</h2><img src="a.png" data-pixels="{pixels_attribute((300, 200), (10, 120, 200))}">'
    again = f'<img src="blob:x" data-pixels="{pixels_attribute((303, 200), (13, 117, 203))}">'  # a WebP of it
    other = f'<img src="b.png" data-pixels="{pixels_attribute((300, 200), (200, 120, 10))}">'
    taller = f'<img src="c.png" data-pixels="{pixels_attribute((300, 260), (10, 120, 200))}">'
    marked = f'<img src="d.png" data-pixels="{pixels_attribute((300, 200), (10, 120, 200), spots=30)}">'
    problems = check_pages.find_problems(page(first + again))
    assert problems == ["the same image twice: a.png and again an image under 'One'"]
    assert check_pages.find_problems(page(first + other + taller)) == []
    assert check_pages.find_problems(page(first + marked)) == []  # a few marks make another figure


def png_data_uri(colour, margin=0):
    """A data: URI of a 40 × 30 PNG of one colour with a white margin of ``margin`` pixels around it."""
    import base64
    import io

    from PIL import Image

    picture = Image.new("RGB", (40 + 2 * margin, 30 + 2 * margin), "white")
    picture.paste(Image.new("RGB", (40, 30), colour), (margin, margin))
    buffer = io.BytesIO()
    picture.save(buffer, format="png")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


# A slider shaped like an ipywidgets 8 one (a noUiSlider handle that takes the keyboard) over a figure;
# with `works`, a key moves the handle and shows the image of its new position, as the book's frames do.
SLIDER_PAGE = """<html><body><div class="bd-article"><div class="widget-subarea"><div class="widget-vbox">
<div class="widget-slider"><div class="widget-label">L</div>
<div class="noUi-handle" tabindex="0" aria-valuemin="0" aria-valuenow="1" aria-valuemax="2"></div></div>
<img id="figure" src="{srcs[1]}"></div></div></div>
<script>
const srcs = {srcs_json}, handle = document.querySelector('.noUi-handle');
handle.addEventListener('keydown', (event) => {{
  const now = +handle.getAttribute('aria-valuenow');
  const next = {{End: 2, Home: 0, ArrowRight: Math.min(2, now + 1), ArrowLeft: Math.max(0, now - 1)}}[event.key];
  handle.setAttribute('aria-valuenow', String(next));
  if ({works}) document.getElementById('figure').src = srcs[next];
}});
</script></body></html>"""


def slider_page(tmp_path, name, works):
    import json

    srcs = [png_data_uri(colour) for colour in ((200, 0, 0), (0, 150, 0), (0, 0, 200))]
    path = tmp_path / f"{name}.html"
    path.write_text(SLIDER_PAGE.format(srcs=srcs, srcs_json=json.dumps(srcs), works="true" if works else "false"))
    return path


def test_browser_moves_sliders_and_fails_one_that_does_not_change_its_figure(tmp_path):
    _chromium_or_skip()
    with browser.Chromium() as chromium:
        works = check_pages.check_page(chromium, slider_page(tmp_path, "works", True), budget_s=1.0)
        dead = check_pages.check_page(chromium, slider_page(tmp_path, "dead", False), budget_s=1.0)
        tab = chromium.open_page(slider_page(tmp_path, "back", True).as_uri())
        tab.evaluate(check_pages.PIXELS)
        assert check_pages.move_sliders(tab) == []
        assert tab.evaluate("document.querySelector('.noUi-handle').getAttribute('aria-valuenow')") == "1"
        tab.close()
    assert works.problems == []
    assert dead.problems == ["slider 'L' does not change its figure"]


def test_browser_finds_the_same_figure_twice_with_another_margin(tmp_path):
    _chromium_or_skip()
    twice = (f'<img src="{png_data_uri((0, 150, 0))}"><p>and again, saved with a margin</p>'
             f'<img src="{png_data_uri((0, 150, 0), margin=6)}">')
    other = f'<img src="{png_data_uri((0, 150, 0))}"><img src="{png_data_uri((150, 0, 150), margin=6)}">'
    for name, body in (("twice", twice), ("other", other)):
        (tmp_path / f"{name}.html").write_text(f'<html><body><div class="bd-article">{body}</div></body></html>')
    with browser.Chromium() as chromium:
        twice = check_pages.check_page(chromium, tmp_path / "twice.html", budget_s=1.0)
        other = check_pages.check_page(chromium, tmp_path / "other.html", budget_s=1.0)
    assert len(twice.problems) == 1 and twice.problems[0].startswith("the same image twice")
    assert other.problems == []
