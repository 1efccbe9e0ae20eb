# Two entry points (see README.md):  make book   and   make test
# Each one creates the virtual environment on first use.
PYTHON ?= python3
VENV   ?= .venv
# The CPU build of PyTorch. For a CUDA machine: make TORCH=torch book
TORCH  ?= torch==2.13.0
BIN    := $(VENV)/bin

.PHONY: install test book clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH)"
	$(BIN)/python -m pip install --quiet -e '.[book,test]'
	touch $@

install: $(VENV)/.installed

test: install
	$(BIN)/python -m pytest

clean:
	rm -rf _build .pytest_cache
