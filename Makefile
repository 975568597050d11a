# Two commands do everything on a fresh Debian machine with Python 3.11 (as root
# they also install PostgreSQL + PostGIS with apt-get):
#   make demo   - the service on the synthetic demo ward at http://127.0.0.1:8000
#   make test   - lint, type-check, the test suite on a real PostGIS, benchmark smoke
# Both are safe to run twice; the second run skips what is already done.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell sha256sum pyproject.toml | cut -c1-12)

.PHONY: demo test install sysdeps db lint typecheck pytest bench-smoke serve clean-db

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check --upgrade pip
	$(BIN)/pip install -q --disable-pip-version-check -e '.[dev]'
	@rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

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

pytest: db sysdeps
	$(BIN)/pytest -q -p no:cacheprovider

# System packages the tests and benchmarks drive: wrk (the HTTP load benchmark), Debian's
# chromium (the map tests drive it through Playwright; never a downloaded browser) and
# fonts-dejavu-core (the cadastral extract's font, with Vietnamese letters).
SYSDEPS := wrk chromium fonts-dejavu-core
sysdeps:
	@missing=""; for p in $(SYSDEPS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else echo "install$$missing (apt-get install$$missing) for the tests"; exit 1; fi; fi

bench-smoke: db sysdeps
	$(BIN)/python bench/run_all.py --size tiny

test: lint typecheck pytest bench-smoke

clean-db:
	-$(BIN)/cadastre db down
