# make run: set up and serve the app with demo data.  make test: set up and run every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
STAMP := $(VENV)/.installed
CATALOGS := webapp/translations
PO := $(CATALOGS)/fr/LC_MESSAGES/messages.po
MO := $(PO:.po=.mo)

.PHONY: setup run test lint bench worker i18n-extract fonts clean

setup: $(STAMP) $(MO)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

$(MO): $(PO) $(STAMP)
	$(BIN)/pybabel compile --statistics -d $(CATALOGS) -D messages

run: setup
	$(FLASK) db upgrade
	$(FLASK) seed-demo
	FLASK_EMBEDDED_WORKER=true FLASK_DEV_MAIL_CATCHER=true $(FLASK) run --debug --port 5000

worker: setup
	$(FLASK) worker

# Tests run in parallel, one worker per core (TEST_WORKERS=0: in this process, e.g. to debug).
# Python keeps its compiled modules even where PYTHONDONTWRITEBYTECODE is set: every worker and
# every process a test starts would otherwise compile the app, and pytest rewrite each test
# module, again on each run.
TEST_WORKERS ?= auto
test: setup
	$(BIN)/ruff check .
	PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist worksteal $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check .

bench: setup
	$(BIN)/python -m bench

# Developers: after changing UI strings, refresh the catalog, then translate the new entries.
i18n-extract: setup
	$(BIN)/pybabel extract --no-location --sort-output -F $(CATALOGS)/babel.cfg -k _l -o $(CATALOGS)/messages.pot .
	$(BIN)/pybabel update -i $(CATALOGS)/messages.pot -d $(CATALOGS) -D messages --no-fuzzy-matching --ignore-obsolete --no-wrap

# After changing the DejaVu fonts or letter_fonts.LATIN_BLOCKS: cut the letters' Latin fonts.
fonts: setup
	$(BIN)/python -m webapp.services.letter_fonts

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
