"""Schema migrations: Alembic, run at start-up, with a copy of the store taken before any upgrade.

The common case (the store is already at the newest revision) is answered from the
``alembic_version`` table with the standard library alone, so opening the app does not pay
for importing Alembic.
"""

from __future__ import annotations

import os
import re
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from store.errors import N_, StoreError, refused, store_error_from

if TYPE_CHECKING:
    from store.engine import Store

VERSIONS_DIR = Path(__file__).parent / "migrations" / "versions"
_REVISION_FILE = re.compile(r"^(\d{4})_\w+\.py$")


def known_revisions() -> list[str]:
    """Revision ids this build knows, oldest first (file names start with the revision id)."""
    return sorted(
        match.group(1) for match in (_REVISION_FILE.match(p.name) for p in VERSIONS_DIR.iterdir()) if match
    )


def head_revision() -> str:
    return known_revisions()[-1]


def current_revision_sqlite(path: Path) -> str | None:
    """The store's revision, None for an empty new file. Raises StoreError for a damaged file."""
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            tables = {
                row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
            if not tables:
                return None
            if "alembic_version" not in tables:
                raise refused(
                    N_("The file {path} is a SQLite database but not a coordinator-tui store."),
                    N_("Nothing was changed. Point [store] url at the right file, or move this one aside."),
                    path=path,
                )
            row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
            return row[0] if row else None
        finally:
            connection.close()
    except sqlite3.DatabaseError as error:
        problem = store_error_from(error, path)
        if problem.kind in ("locked", "full", "read-only"):  # the file is fine: something is in its way
            raise problem from error
        raise damaged(path, error) from error


def damaged(path: Path, error: Exception) -> StoreError:
    return StoreError(
        N_("The store file {path} is damaged and cannot be read ({said})."),
        N_(
            "Nothing was changed. Restore it from a backup (a copy named *.before-* is taken before "
            "each upgrade), or move it aside and start a new store; `coordinator-tui doctor` checks it."
        ),
        kind="damaged",
        params={"path": path, "said": error},
    )


def ensure_current(store: Store) -> None:
    """Bring the store to the newest revision, refusing stores written by a newer app."""
    head = head_revision()
    if store.path is not None:
        current = current_revision_sqlite(store.path)
        if current == head:
            return
        if current is not None and current not in known_revisions():
            raise refused(
                N_(
                    "The store file {path} was written by a newer version of coordinator-tui "
                    "(schema revision {current}; this version knows up to {head})."
                ),
                N_("Nothing was changed. Upgrade coordinator-tui, or use another store file."),
                path=store.path,
                current=current,
                head=head,
            )
        if current is not None:
            backup_before_upgrade(store.path, current)
    upgrade(store, head)


def backup_before_upgrade(path: Path, revision: str) -> Path:
    """Copy the store with SQLite's backup API (consistent even with a WAL) before changing it.

    The copy is written as ``<name>.before-….partial`` and gets its real name only when whole: a
    process killed mid-copy leaves a ``.partial`` file, never an empty store named like a backup.
    """
    label = f"before-{revision}-{datetime.now():%Y%m%d-%H%M%S}"
    partial = _new_private_file(path, f"{label}.partial")
    try:
        source = sqlite3.connect(path)
        destination = sqlite3.connect(partial)
        with destination:
            source.backup(destination)
        source.close()
        destination.close()
        return _publish(partial, path, label)
    except (sqlite3.Error, OSError) as error:
        partial.unlink(missing_ok=True)
        raise refused(
            N_("Could not copy the store {path} before upgrading it ({reason})."),
            N_("Nothing was changed. Free some disk space and start again."),
            path=path,
            reason=error,
        ) from error


def _publish(partial: Path, beside: Path, label: str) -> Path:
    """Give the finished copy the first free name ``<name>.<label>`` (``-2``, ``-3``, ...), atomically."""
    for attempt in range(1, 1000):
        suffix = label if attempt == 1 else f"{label}-{attempt}"
        target = beside.with_name(f"{beside.name}.{suffix}")
        try:
            os.link(partial, target)  # never replaces: two starts in one second keep both copies
        except FileExistsError:
            continue
        except OSError:  # a file system without hard links: a rename, if the name is still free
            if target.exists():
                continue
            os.replace(partial, target)
            return target
        partial.unlink()
        return target
    raise OSError(f"too many backups of {beside.name} in one second")


def _new_private_file(beside: Path, label: str) -> Path:
    """Create ``<name>.<label>`` (or ``-2``, ``-3``, ... when taken) 0600 and return its path.

    Two starts in the same second (a retry, the app and `sync`) must not fail or overwrite.
    """
    for attempt in range(1, 1000):
        suffix = label if attempt == 1 else f"{label}-{attempt}"
        target = beside.with_name(f"{beside.name}.{suffix}")
        try:
            os.close(os.open(target, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o600))
            return target
        except FileExistsError:
            continue
        except OSError as error:
            raise refused(
                N_("Could not copy the store {path} before upgrading it ({reason})."),
                N_("Nothing was changed. Free some disk space and start again."),
                path=beside,
                reason=error.strerror,
            ) from error
    raise refused(
        N_("Too many backups of {path} in one second."), N_("Nothing was changed. Start again."), path=beside
    )


def alembic_config(store: Store):  # type: ignore[no-untyped-def]
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    config.set_main_option("sqlalchemy.url", store.url)
    config.attributes["store"] = store
    return config


def upgrade(store: Store, revision: str = "head") -> None:
    """Run Alembic's upgrade to ``revision`` on the store, as one transaction on SQLite."""
    from alembic import command
    from sqlalchemy.exc import DatabaseError, OperationalError

    try:
        command.upgrade(alembic_config(store), revision)
    except OperationalError as error:
        problem = store_error_from(error, store.path or store.url)
        if problem.kind in ("locked", "full", "read-only"):
            raise problem from error  # the upgrade was rolled back; the words say what is in the way
        raise refused(
            N_("The store {path} could not be upgraded: {reason}."),
            N_(
                "Nothing was lost: the upgrade was rolled back. Check free disk space and that the "
                "directory is writable, then start again."
            ),
            path=store.path or store.url,
            reason=error.orig,
        ) from error
    except DatabaseError as error:
        if store.path is not None:
            raise damaged(store.path, error.orig or error) from error
        raise
