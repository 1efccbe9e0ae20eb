# Two entry points (see README.md):  make book   and   make test
# Each one creates the virtual environment on first use.
PYTHON ?= python3
VENV   ?= .venv
# The CPU build of PyTorch. For a CUDA machine: make TORCH=torch book
TORCH  ?= torch==2.13.0
BIN    := $(VENV)/bin

.PHONY: install test book vendor check-pages check-lab screenshots clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH)"
	$(BIN)/python -m pip install --quiet -e '.[book,test,web]'
	touch $@

install: $(VENV)/.installed

test: install
	$(BIN)/python -m pytest

# The JavaScript the pages need offline (MathJax, require.js, the widget manager), from npm.
vendor:
	tools/fetch_vendor.sh book/_vendor

# Executes every chapter and writes _build/html. --all rebuilds every page, so the figures always come
# from the package as it is now; -W -n --keep-going turns every warning, and any failing cell, into a
# non-zero exit code.
book: install vendor
	$(BIN)/jupyter-book build . --all -W -n --keep-going

# Opens every page of the built book in headless Chromium (see tools/check_pages.py).
check-pages: install
	$(BIN)/python tools/check_pages.py --html _build/html --toc _toc.yml

# Runs chapters in a real JupyterLab in headless Chromium (see tools/check_lab.py): Run All, no raw
# MyST markup, every slider redraws its figure, controls usable at 1024 and 1400 px. Needs node and npm.
LAB_CHAPTERS ?= chapters/04_rebalancing.ipynb
check-lab: install
	$(BIN)/python tools/check_lab.py --screenshots screenshots/lab $(LAB_CHAPTERS)

# One PNG per page of the built book in screenshots/.
screenshots: install
	$(BIN)/python tools/screenshots.py --html _build/html --toc _toc.yml --out screenshots

clean:
	rm -rf _build .pytest_cache screenshots
