# usagebill: make demo (set up + run on a generated workspace), make test, make bench.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DEMO   := data/demo
N      ?= 10000000
KILLS  ?= 200

.PHONY: install demo test browser soak bench bench-dask bench-render clean mutation

install: $(BIN)/usagebill

$(BIN)/usagebill: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

demo: install
	rm -rf $(DEMO)
	$(BIN)/python tests/tools/generate.py $(DEMO)/ws --customers 300 --events 200000 --seed 7 --terms
	$(BIN)/usagebill run $(DEMO)/ws --from 2026-10-01 --to 2026-11-01 --out $(DEMO)/out
	@echo "invoices: $(DEMO)/out/invoices.csv and invoice_lines.csv (Parquet beside them); run report: $(DEMO)/out/report.html"

# the suite in parallel processes, one per core up to 4 (each test has its own folders, ports and ledgers)
test: install browser
	$(BIN)/python -m pytest -q -rs -n auto --maxprocesses=4

# Debian's chromium, for the test that opens report.html in a real headless browser
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
		else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; fi; }

# make soak KILLS=200: the fault tests with many random SIGKILLs of `run`, and the bad-input corpus;
# figures appended to data/reliability.jsonl (RELIABILITY.md)
soak: install
	mkdir -p data
	USAGEBILL_KILLS=$(KILLS) USAGEBILL_RELIABILITY_LOG=$(CURDIR)/data/reliability.jsonl \
		$(BIN)/python -m pytest -q -s tests/test_faults.py tests/test_corpus.py

# make bench N=100000000: times usagebill against the floor and pandas; see BENCHMARKS.md
bench: install
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python tests/perf/bench.py --events $(N)

# make bench-dask N=10000000: the dask engine against the local one on the same events (BENCHMARKS.md)
bench-dask: install
	$(BIN)/python tests/perf/bench_dask.py --events $(N)

# make bench-render: render --format pdf|ubl for a month of 1,000 customers' issued documents (BENCHMARKS.md)
bench-render: install
	$(BIN)/python tests/perf/bench_render.py

clean:
	rm -rf $(DEMO) data/bench .pytest_cache .hypothesis

# make mutation: mutants of the money and safety modules (ast driver) and hand-written SQL mutants, each run
# against its mapped test files; figures in RELIABILITY.md, details in data/mutation.json. ARGS="--limit 20".
mutation: install
	mkdir -p data
	$(BIN)/python tests/mutation/mutate.py --jobs 2 $(ARGS)
