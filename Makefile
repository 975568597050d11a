# Two commands do everything on a fresh Debian machine with Python 3.11 (as root
# they also install PostgreSQL + PostGIS with apt-get):
#   make demo   - the service on the synthetic demo ward at http://127.0.0.1:8000
#   make test   - lint, type-check, the test suite on a real PostGIS, benchmark smoke
# Both are safe to run twice; the second run skips what is already done.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
LOCK   := requirements.lock
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml $(LOCK) | sha256sum | cut -c1-12)
PIP    := $(BIN)/pip install -q --disable-pip-version-check

.PHONY: demo test install lock sysdeps db lint typecheck pytest bench-smoke serve clean-db

# Every Python package at the version in requirements.lock (the versions CI tested): the
# installer and the build backend first, then the project, built with those (no isolated
# build environment fetching the newest setuptools).
$(STAMP): pyproject.toml $(LOCK)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) -c $(LOCK) pip setuptools
	$(PIP) -c $(LOCK) --no-build-isolation -e '.[dev]'
	@rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

# Rewrite requirements.lock from pyproject.toml with uv (resolving on PyPI alone, never the
# machine's own pip indexes).  Existing pins are kept unless pyproject.toml excludes them;
# `make lock LOCK_FLAGS=--upgrade` moves every package to its newest release.
lock:
	@test -x $(BIN)/uv || { test -x $(BIN)/python || $(PYTHON) -m venv $(VENV); \
	  $(PIP) -c $(LOCK) uv; }
	$(BIN)/uv pip compile --quiet --no-config --python-version 3.11 --python-platform linux \
	  --extra dev --custom-compile-command 'make lock' $(LOCK_FLAGS) -o $(LOCK) pyproject.toml

db: install
	$(BIN)/cadastre db up

demo: db
	$(BIN)/cadastre demo

serve: db
	$(BIN)/cadastre serve

lint: install
	$(BIN)/ruff check .

typecheck: install
	$(BIN)/mypy config db gis parcels certificates projects maps api data bench

# The suite and the benchmarks make databases of their own (on the embedded cluster, or on
# TEST_DATABASE_URL / BENCH_DATABASE_URL): they never touch the one DATABASE_URL names.
pytest: install sysdeps
	$(BIN)/pytest -q -p no:cacheprovider

# System packages the tests and benchmarks drive: wrk (the HTTP load benchmark), Debian's
# chromium (the map tests drive it through Playwright; never a downloaded browser),
# fonts-dejavu-core (the cadastral extract's font, with Vietnamese letters) and Debian's QGIS
# (python3-qgis, run with the system /usr/bin/python3), whose own OGC API Features provider
# tests/api/test_qgis.py signs in with.  Installed with apt-get where missing, as root.
SYSDEPS := wrk chromium fonts-dejavu-core
sysdeps:
	@missing=""; for p in $(SYSDEPS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else echo "install$$missing (apt-get install$$missing) for the tests"; exit 1; fi; fi
	@/usr/bin/python3 -c 'import qgis.core' 2>/dev/null || { [ "$$(id -u)" = 0 ] && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	   --no-install-recommends python3-qgis); } || \
	  echo "python3-qgis is missing (apt-get install python3-qgis): the QGIS tests will skip"

bench-smoke: install sysdeps
	$(BIN)/python bench/run_all.py --size tiny

test: lint typecheck pytest bench-smoke

clean-db:
	-$(BIN)/cadastre db down
