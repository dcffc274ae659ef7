"""Saved drafts of notices (ctrl+s): one JSON file each in ``<data dir>/notice-drafts/``.

A draft is the coordinator's own unfinished work, not part of the shared record: it never shows on
the Today screen or in the status feed, and nothing in it is sent until it is sent from the
compose screen. A draft of a new notice is ``new-<stamp>.json``; a draft of an update or a resolve
of notice 7 is ``notice-7.json`` (one per notice). Written to a temporary file and renamed.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from coordinator_tui.i18n import _

FOLDER = "notice-drafts"


def drafts_dir() -> Path:
    from coordinator_tui.locations import data_dir

    return data_dir() / FOLDER


@dataclass
class SavedDraft:
    """What the compose screen holds, as typed (times as text, texts as templates)."""

    key: str = ""  # the file's name without .json; "" until first saved
    mode: str = "new"  # new, update, resolve
    notice_id: int | None = None
    kind: str = "häiriö"
    services: list[str] = field(default_factory=list)
    status: str = "tutkitaan"
    start: str = ""
    expected_end: str = ""
    actual_end: str = ""
    send_at: str = ""
    impact: str = ""
    instructions: str = ""
    contact: str = ""
    source_fi: str = ""
    source_sv: str = ""
    changes: str = ""
    lists: list[int] = field(default_factory=list)
    units: list[int] = field(default_factory=list)
    everyone: bool = False
    message_id: str = ""
    saved_at: float = 0.0


def save(draft: SavedDraft, directory: Path | None = None) -> SavedDraft:
    """Write ``draft`` (giving it a key the first time); returns it with its key and time."""
    folder = directory or drafts_dir()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not draft.key:
        draft.key = f"notice-{draft.notice_id}" if draft.notice_id is not None else f"new-{time.time_ns()}"
    draft.saved_at = time.time()
    data = json.dumps(asdict(draft), ensure_ascii=False, indent=1).encode("utf-8")
    handle, temporary = tempfile.mkstemp(prefix=".draft-", suffix=".json", dir=folder)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, folder / f"{draft.key}.json")
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return draft


def _read(path: Path) -> SavedDraft | None:
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(values, dict):
        return None
    known = set(SavedDraft.__dataclass_fields__)
    try:
        draft = SavedDraft(**{name: value for name, value in values.items() if name in known})
    except TypeError:
        return None
    draft.key = path.stem
    return draft


def load_all(directory: Path | None = None) -> list[SavedDraft]:
    """Every readable draft, newest first (an unreadable file is skipped)."""
    folder = directory or drafts_dir()
    try:
        paths = [
            path
            for path in folder.iterdir()
            if path.suffix == ".json" and not path.name.startswith(".") and path.name != CHOICES_FILE
        ]
    except OSError:
        return []
    found = [draft for draft in (_read(path) for path in paths) if draft is not None]
    return sorted(found, key=lambda draft: draft.saved_at, reverse=True)


def for_notice(notice_id: int, directory: Path | None = None) -> SavedDraft | None:
    return _read((directory or drafts_dir()) / f"notice-{notice_id}.json")


def delete(key: str, directory: Path | None = None) -> None:
    if not key or "/" in key or key.startswith("."):
        return
    try:
        ((directory or drafts_dir()) / f"{key}.json").unlink(missing_ok=True)
    except OSError as error:
        raise OSError(_("The draft could not be removed: {reason}").format(reason=error.strerror)) from error


# --- who each thread went to, so that an update and the resolve go to the same lists ---------------

CHOICES_FILE = "recipients.json"


def remember_choice(
    notice_id: int, lists: list[int], units: list[int], everyone: bool, directory: Path | None = None
) -> None:
    """Note the lists and units ``notice_id`` was sent to (best effort: a failure loses only the default)."""
    folder = directory or drafts_dir()
    path = folder / CHOICES_FILE
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            known = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            known = {}
        if not isinstance(known, dict):
            known = {}
        known[str(notice_id)] = {"lists": lists, "units": units, "everyone": everyone}
        handle, temporary = tempfile.mkstemp(prefix=".choices-", suffix=".json", dir=folder)
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(known, out)
        os.replace(temporary, path)
    except OSError:
        return


def last_choice(notice_id: int, directory: Path | None = None) -> tuple[list[int], list[int], bool] | None:
    """The lists, units and everyone-flag ``notice_id`` was last sent to, if this machine knows."""
    try:
        known = json.loads(((directory or drafts_dir()) / CHOICES_FILE).read_text(encoding="utf-8"))
        entry = known[str(notice_id)]
        return (
            [int(value) for value in entry.get("lists", [])],
            [int(value) for value in entry.get("units", [])],
            bool(entry.get("everyone", False)),
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
