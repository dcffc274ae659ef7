"""The log file never holds an exception's own words: they can quote message bodies (SQLAlchemy puts a
failed INSERT's parameters in its message; the 30-minute soak logged a mail body that way)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from coordinator_tui import logs

BODY = "Hei, henkilötunnukseni on tässä viestissä"


def failing_insert() -> None:
    try:
        raise KeyError(BODY)  # the driver's error
    except KeyError as error:
        raise RuntimeError(f"INSERT INTO mail_message VALUES ('{BODY}')") from error


def test_a_logged_traceback_keeps_where_and_what_but_not_the_words(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(logs.LOG_ENV, str(tmp_path))
    root = logging.getLogger()
    handlers = list(root.handlers)
    path = logs.setup_logging()
    assert path is not None
    try:
        try:
            failing_insert()
        except RuntimeError as error:
            logging.getLogger("coordinator_tui.test").error("worker %s failed", "mail sync", exc_info=error)
    finally:
        for handler in root.handlers:
            if handler not in handlers:
                handler.close()
                root.removeHandler(handler)
    text = path.read_text(encoding="utf-8")
    assert "worker mail sync failed" in text
    assert "builtins.RuntimeError (message not logged)" in text
    assert "caused by:" in text and "builtins.KeyError" in text
    assert "in failing_insert" in text  # where it happened is still there
    assert BODY not in text and "henkilötunnus" not in text
