# dlbook: two commands from a fresh clone.
#   make book   build the HTML book into _build/html
#   make test   run every test (unit, parity, gradient checks, nbval on every notebook)
#   make scaling  re-train chapter 8's scaling ladder (minutes) into src/dlbook/scale/data
# Every target bootstraps .venv first; a second run installs nothing.

SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NOTEBOOKS := chapters exercises
SANITIZE ?= tests/nbval_sanitize.cfg
PYTEST_NB = --nbval --nbval-current-env --nbval-cell-timeout=300 --nbval-sanitize-with $(SANITIZE)
export PYTHONHASHSEED := 0
export TF_CPP_MIN_LOG_LEVEL := 3
export TF_ENABLE_ONEDNN_OPTS := 0
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: venv browser book dist llm-life llm-life-classify bench test test-fast test-unit test-notebooks test-gpu lint execute scaling clean distclean

venv: $(STAMP)

# Re-install only when a pin changes.
$(STAMP): requirements.txt constraints.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "dlbook needs Python 3.11 or 3.12 ($(PYTHON) not found). Set PYTHON=/path/to/python3.11."; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -r requirements.txt -c constraints.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	$(BIN)/python tools/build_lite.py fetch  # the in-browser runtime, once (hash-checked)
	$(BIN)/python -m ipykernel install --prefix $(VENV) --name python3 >/dev/null
	touch $(STAMP)

book: $(STAMP)
	rm -rf _build/html
	$(BIN)/python tools/exec_stats_page.py
	$(BIN)/jupyter-book build . --warningiserror --keep-going --builder html
	$(BIN)/python tools/build_lite.py build --html _build/html
	@echo "The book is in _build/html/index.html"

# Every test: units, parity and gradient checks, nbval on every notebook (which
# records the execution statistics), then the book is built and checked in a
# real browser (Debian's Chromium, installed here if missing), offline.
test: $(STAMP) browser lint
	$(BIN)/python -m pytest tests $(NOTEBOOKS) --ignore=tests/book $(PYTEST_NB) --durations=15
	$(MAKE) --no-print-directory book
	$(BIN)/python -m pytest tests/book

# Debian's Chromium for tests/book (Playwright drives it; nothing downloads a browser).
CHROMIUM ?= /usr/bin/chromium
browser:
	@test -x $(CHROMIUM) || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "tests/book need Chromium at $(CHROMIUM): sudo apt-get install chromium"; exit 1; fi; }

test-unit: $(STAMP)
	$(BIN)/python -m pytest tests --ignore=tests/book

test-notebooks: $(STAMP)
	$(BIN)/python -m pytest $(NOTEBOOKS) $(PYTEST_NB)

# On a CUDA machine: the same notebooks, compared with tolerances (numbers are
# rounded by a second sanitize file, since GPU kernels sum in another order).
test-gpu: $(STAMP)
	DLBOOK_EXPECT_CUDA=1 $(MAKE) test SANITIZE=tests/nbval_sanitize_gpu.cfg

# ruff's lint rules and its formatter (make test runs this first).
lint: $(STAMP)
	$(BIN)/ruff check src tests tools benchmarks reference _ext conftest.py
	$(BIN)/ruff format --check src tests tools benchmarks

# A quick loop while editing: every unit test except the slow ones, no notebooks.
test-fast: $(STAMP)
	$(BIN)/python -m pytest tests --ignore=tests/book -m "not slow" -q

# Speed of the backends against PyTorch (medians of interleaved runs, 1 thread):
# NumPy/PyTorch and TF/PyTorch for the MLP, LSTM, attention and GPT steps, and
# dlbook's GPT step against a nanoGPT-style one. Not a test: it prints figures.
bench: $(STAMP)
	$(BIN)/python benchmarks/bench.py
	$(BIN)/python benchmarks/bench_cnn.py

# Re-execute every notebook in place (after editing one): stores fresh outputs.
execute: $(STAMP)
	$(BIN)/python tools/execute_notebooks.py $(NOTEBOOKS)

# Re-train chapter 8's scaling ladder and rewrite src/dlbook/scale/data/scaling_ladder.json.
scaling: $(STAMP)
	$(BIN)/python tools/scaling_ladder.py

# Re-train chapter 7's small LLM (pretraining, SFT, DPO over 3 seeds; minutes) and rewrite
# the checkpoints and results in src/dlbook/llm/data, which the chapter loads.
llm-life: $(STAMP)
	$(BIN)/python tools/train_llm_life.py --jobs 2

# Only chapter 7's classification sweep (labels per book x probe / fine-tuned / scratch),
# re-pretraining each seed's body (checked against the recorded loss) or reading it from --cache.
llm-life-classify: $(STAMP)
	$(BIN)/python tools/train_llm_life.py --only classify --jobs 2 --cache _build/llm_bodies

# The offline bundle for readers: the built book with its in-browser Python, and dlbook's wheel.
dist: book
	$(BIN)/python tools/build_lite.py dist --html _build/html --out _build/dist

clean:
	rm -rf _build .pytest_cache .hypothesis
	find . -name __pycache__ -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
