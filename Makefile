# Two commands do everything on a fresh machine:
#   make run   - print how to connect Claude Code, Claude Desktop and Cursor to this checkout, then start
#                the MCP server (streamable HTTP on 127.0.0.1:8000/mcp) on the embedded backend
#   make test  - run the whole test suite
VENV    ?= .venv
PYTHON  ?= python3
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed
BENCH_ARGS ?=

.PHONY: run stdio test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev,tensordb]'
	touch $(STAMP)

run: $(STAMP)
	@$(VENV)/bin/deeplake-mcp client-config
	$(VENV)/bin/deeplake-mcp serve --transport http

stdio: $(STAMP)
	$(VENV)/bin/deeplake-mcp serve

test: $(STAMP)
	$(PY) -m pytest -q
	$(VENV)/bin/ruff check server tests bench scripts
	$(VENV)/bin/mypy

lint: $(STAMP)
	$(VENV)/bin/ruff check server tests bench scripts
	$(VENV)/bin/ruff format --check server tests bench scripts
	$(VENV)/bin/mypy

# the benchmark suite (bench/README.md): results, table and plots in bench/results/; BENCH_ARGS=--large for
# bigger sizes and the 1M-row load. matplotlib draws the plots: a bench-only dependency, never a runtime one.
bench: $(STAMP)
	$(PY) -c "import matplotlib" 2>/dev/null || $(PY) -m pip install -q matplotlib
	$(PY) bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
