"""The log file: internals for the developer, 0600, never message bodies or secrets."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from coordinator_tui.locations import log_dir

LOG_ENV = "COORDINATOR_TUI_LOG_DIR"
MAX_BYTES = 1_000_000
# Libraries that trace the protocol at DEBUG: imapclient writes every FETCH literal (whole
# messages, so bodies and any henkilötunnus in them) to its log. They never log below INFO here,
# whatever level the app's own loggers run at.
PROTOCOL_TRACERS = ("imapclient", "httpcore", "hpack")


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
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(level)
    for name in PROTOCOL_TRACERS:
        logging.getLogger(name).setLevel(max(level, logging.INFO))
    return path
