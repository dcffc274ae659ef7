# The two commands of the README: `make demo` and `make test`. Everything else is a helper of those.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
LOCK := requirements/lock.txt
# A .pth path entry instead of setuptools' import-hook finder, which costs ~25 ms at every start.
EDITABLE := --config-settings editable_mode=compat
# Debian packages the tests need: tmux (terminal checks), Dovecot (the real IMAP server of the
# mail tests), isync (mbsync, the peer in the IMAP benchmark), newsboat (the feed peer).
DEBIAN_TEST_PACKAGES := tmux dovecot-imapd isync newsboat

.PHONY: demo test install install-test lint i18n lock bench clean

demo: install
	$(BIN)/coordinator-tui demo

test: install-test lint
	$(BIN)/python -m pytest

install: $(BIN)/coordinator-tui
$(BIN)/coordinator-tui: pyproject.toml $(LOCK)
	scripts/ensure-venv.sh "$(PYTHON)" "$(VENV)"
	$(BIN)/pip install --quiet --disable-pip-version-check -c $(LOCK) -e . $(EDITABLE)
	@touch $@

install-test: install
	scripts/ensure-debian-packages.sh $(DEBIAN_TEST_PACKAGES)
	$(BIN)/pip install --quiet --disable-pip-version-check -c $(LOCK) -e '.[test]' $(EDITABLE)

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

# Re-extract the UI strings, merge them into the Finnish catalog, compile it.
i18n:
	$(BIN)/pybabel extract -F babel.cfg -k _ -k N_ -k count_text:1,2 -k ngettext:1,2 -k label \
		--no-location --sort-output --omit-header -o /tmp/coordinator_tui.pot . >/dev/null
	$(BIN)/pybabel update -i /tmp/coordinator_tui.pot -d coordinator_tui/locale -D coordinator_tui \
		--no-fuzzy-matching --ignore-obsolete --ignore-pot-creation-date
	$(BIN)/pybabel compile -d coordinator_tui/locale -D coordinator_tui

# Re-pin every dependency to what is installed now (after a deliberate upgrade).
lock:
	$(BIN)/pip freeze --exclude-editable --disable-pip-version-check | grep -v '^coordinator-tui' > $(LOCK)

bench: install-test
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
