"""The log file: internals for the developer, 0600, never message bodies or secrets."""

from __future__ import annotations

import logging
import os
import traceback
from pathlib import Path
from typing import Any

from coordinator_tui.locations import log_dir

LOG_ENV = "COORDINATOR_TUI_LOG_DIR"
MAX_BYTES = 1_000_000
# Libraries that trace the protocol at DEBUG: imapclient writes every FETCH literal (whole
# messages, so bodies and any henkilötunnus in them) to its log. They never log below INFO here,
# whatever level the app's own loggers run at.
PROTOCOL_TRACERS = ("imapclient", "httpcore", "hpack")


class PrivateFormatter(logging.Formatter):
    """Tracebacks with where and what type, never the exceptions' own words: those can quote what
    failed (SQLAlchemy puts a failed INSERT's parameters, whole message bodies, in its message)."""

    def format(self, record: logging.LogRecord) -> str:
        # Another handler (a test's capture) may have cached the full traceback in exc_text.
        cached, record.exc_text = record.exc_text, None
        try:
            return super().format(record)
        finally:
            record.exc_text = cached

    def formatException(self, ei: Any) -> str:
        _kind, error, trace = ei
        lines: list[str] = []
        seen: set[int] = set()
        while error is not None and id(error) not in seen:
            seen.add(id(error))
            frames = traceback.extract_tb(trace if not lines else error.__traceback__)
            lines.append(f"{type(error).__module__}.{type(error).__qualname__} (message not logged)")
            lines.extend(f"  at {frame.filename}:{frame.lineno} in {frame.name}" for frame in frames)
            error = error.__cause__ or error.__context__
            if error is not None:
                lines.append("caused by:")
        return "\n".join(lines)


def log_path() -> Path:
    directory = Path(os.environ[LOG_ENV]) if os.environ.get(LOG_ENV) else log_dir()
    return directory / "coordinator-tui.log"


def setup_logging(level: int = logging.INFO) -> Path | None:
    """Log to a private rotating file; with no writable place, log nowhere rather than fail."""
    path = log_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # Rotate once at start-up rather than with logging.handlers, whose import (socket, ssl,
        # pickle) costs more of the start-up than the app's whole log ever will.
        if path.exists() and path.stat().st_size > MAX_BYTES:
            os.replace(path, path.with_suffix(".log.1"))
        if not path.exists():
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        handler = logging.FileHandler(path, encoding="utf-8")
    except OSError:
        logging.getLogger().addHandler(logging.NullHandler())
        return None
    handler.setFormatter(PrivateFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(level)
    for name in PROTOCOL_TRACERS:
        logging.getLogger(name).setLevel(max(level, logging.INFO))
    return path
