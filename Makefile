# Two entry points (see README.md):  make book   and   make test
# Each one creates the virtual environment on first use.
PYTHON ?= python3
VENV   ?= .venv
# The CPU build of PyTorch. For a CUDA machine: make TORCH=torch book
TORCH  ?= torch==2.13.0
BIN    := $(VENV)/bin

.PHONY: install test book vendor browser-model check-pages check-lab screenshots clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH)"
	$(BIN)/python -m pip install --quiet -e '.[book,test,web]'
	touch $@

install: $(VENV)/.installed

test: install
	$(BIN)/python -m pytest

# The JavaScript the pages need offline (MathJax, require.js, the widget manager, onnxruntime-web), from npm.
vendor:
	tools/fetch_vendor.sh book/_vendor

# The classification model as one ONNX graph, for the panel of chapter 7 that colorizes photos in the
# reader's browser: exported from the committed checkpoint at every build, so a new model flows through.
browser-model: install
	$(BIN)/colorlab export-onnx -o book/_generated/colorize.onnx

# Executes every chapter and writes _build/html. --all rebuilds every page, so the figures always come
# from the package as it is now; -W -n --keep-going turns every warning, and any failing cell, into a
# non-zero exit code.
book: install vendor browser-model
	$(BIN)/jupyter-book build . --all -W -n --keep-going

# Opens every page of the built book in headless Chromium (see tools/check_pages.py), then colorizes photos
# with the in-browser panel of chapter 7 served on 127.0.0.1 (see tools/check_colorize_panel.py).
check-pages: install
	$(BIN)/python tools/check_pages.py --html _build/html --toc _toc.yml
	$(BIN)/python tools/check_colorize_panel.py --html _build/html

# Runs chapters in a real JupyterLab in headless Chromium (see tools/check_lab.py): Run All, no raw
# MyST markup, every slider redraws its figure, controls usable at 1024 and 1400 px. Needs node and npm.
# By default, and in CI, it runs every chapter (about 3.5 minutes on two cores); choose others with
# make check-lab LAB_CHAPTERS="chapters/01_lab_space.ipynb".
LAB_CHAPTERS ?= chapters/*.ipynb
check-lab: install
	$(BIN)/python tools/check_lab.py --timeout 600 --screenshots screenshots/lab $(LAB_CHAPTERS)

# One PNG per page of the built book in screenshots/.
screenshots: install
	$(BIN)/python tools/screenshots.py --html _build/html --toc _toc.yml --out screenshots

clean:
	rm -rf _build .pytest_cache screenshots book/_generated
