"""People as CSV for the yearly review: Excel set to Finnish opens it as columns, and it imports back.

UTF-8 with a BOM, `;` between fields, Finnish dates; the header names the same columns the import
reads. Left people are included (with the day they left). Text that Excel would run as a formula
is written as text (``'+358 …``; the import takes the quote off again). A Finnish personal identity
code in any field blocks the whole export, as every export from the app does.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import IO

from coordinator_tui.hetu import contains_hetu
from coordinator_tui.i18n import _
from coordinator_tui.textclean import clean_line
from store.directory import ExportPerson

COLUMNS = ("name", "email", "phone", "unit", "roles", "language", "active", "left_on")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class PeopleExportBlocked(Exception):
    """A person's fields carry a personal identity code; nothing was written."""

    def __init__(self, row: int) -> None:
        self.row = row
        super().__init__(
            _(
                "Person {row} of the export contains a Finnish personal identity code; nothing was "
                "exported. Fix the person on the Network screen and export again."
            ).format(row=row)
        )


def _cell(text: str) -> str:
    text = clean_line(text)
    return "'" + text if text.startswith(_FORMULA_START) else text


def record(person: ExportPerson) -> list[str]:
    left = person.left_on
    return [
        _cell(person.name),
        _cell(person.email),
        _cell(person.phone),
        _cell(person.unit),
        _cell(", ".join(person.roles)),
        person.language,
        "kyllä" if person.active else "ei",
        f"{left.day}.{left.month}.{left.year}" if left else "",
    ]


def write_csv(people: Iterable[ExportPerson], stream: IO[str]) -> int:
    stream.write("\ufeff")
    writer = csv.writer(stream, delimiter=";", lineterminator="\r\n")
    writer.writerow(COLUMNS)
    count = 0
    for count, person in enumerate(people, start=1):
        fields = (person.name, person.email, person.phone, person.unit, *person.roles)
        if any(contains_hetu(value) for value in fields):
            raise PeopleExportBlocked(count)
        writer.writerow(record(person))
    return count


def rendered(people: Iterable[ExportPerson]) -> str:
    buffer = io.StringIO(newline="")
    write_csv(people, buffer)
    return buffer.getvalue()


def export(people: Iterable[ExportPerson], out: Path | None, stdout: IO[bytes] | None = None) -> int:
    """Write to ``out`` (replaced whole only when complete) or to standard output; the row count."""
    handle, temporary = tempfile.mkstemp(
        prefix=".people-", suffix=".csv", dir=out.parent if out is not None else None
    )
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            count = write_csv(people, stream)
        if out is None:
            import sys

            target = stdout if stdout is not None else sys.stdout.buffer
            with open(temporary, "rb") as finished:
                for chunk in iter(lambda: finished.read(1 << 16), b""):
                    target.write(chunk)
            target.flush()
        else:
            os.replace(temporary, out)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return count


def run_command(output: str | None, url: str) -> int:
    """``coordinator-tui export people [--output PATH]``: 0 done, 1 failed or blocked, 2 usage."""
    import sys

    from store.directory import export_people
    from store.engine import open_store
    from store.errors import StoreError

    out = Path(output).expanduser() if output and output != "-" else None
    if out is not None and not out.parent.is_dir():
        print(f"Cannot write {out}: the directory {out.parent} does not exist.", file=sys.stderr)
        return 2
    try:
        store = open_store(url)
        count = export(export_people(store), out)
    except PeopleExportBlocked as error:
        print(str(error), file=sys.stderr)
        return 1
    except StoreError as error:
        print(f"{error.what}\n{error.todo}".strip(), file=sys.stderr)
        return 1
    except OSError as error:
        print(f"Cannot write {out or 'the output'}: {error.strerror}.", file=sys.stderr)
        return 1
    if out is not None:
        print(f"Exported {count} people to {out}.", file=sys.stderr)
    return 0
