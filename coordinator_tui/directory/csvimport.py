"""Importing people from CSV: a dry-run preview first, then one transaction when the coordinator confirms.

Both flavours a coordinator meets are read: UTF-8 with `,` and the Excel-Finnish one (`;` between
fields, Windows-1252 or UTF-8 with a BOM); the encoding and the separator are detected. Rows are
matched to the directory by e-mail address: each is added, changed, unchanged or rejected with the
reason, and a rejected row never stops the others. Columns the file does not have keep the
directory's values; unknown columns are ignored (and named in the preview).
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from coordinator_tui.directory.validation import (
    ACTIVE_INVALID,
    DATE_INVALID,
    EMAIL_AMBIGUOUS,
    EMAIL_REPEATED,
    FIELD_COUNT,
    Draft,
    Problem,
    check_draft,
    email_key,
    fold,
    hetu_problem,
    known_roles,
    may_hold_hetu,
    parse_active,
    parse_day,
    role_index,
)
from coordinator_tui.hetu import contains_hetu
from coordinator_tui.i18n import _
from store.directory import Directory, PersonRow, PersonValues

Status = Literal["added", "changed", "unchanged", "rejected"]
MAX_BYTES = 20 * 1024 * 1024  # a directory of a county is a few hundred kilobytes

# Column names as they come, folded (see validation.fold): English, Finnish, Swedish.
COLUMN_NAMES: dict[str, tuple[str, ...]] = {
    "name": ("name", "nimi", "koko nimi", "namn"),
    "email": ("email", "e-mail", "sahkoposti", "sahkopostiosoite", "mail", "e-post", "epost"),
    "phone": ("phone", "puhelin", "puhelinnumero", "puh", "telefon"),
    "unit": ("unit", "yksikko", "enhet"),
    "roles": ("roles", "role", "roolit", "rooli", "roller"),
    "language": ("language", "kieli", "sprak"),
    "active": ("active", "aktiivinen", "tila", "status"),
    "left_on": ("left_on", "left on", "lahtenyt", "lahtopaiva", "poistunut"),
}
REQUIRED = ("name", "email")
FIELD_LABELS = {
    "name": "name",
    "email": "e-mail address",
    "phone": "phone",
    "unit": "unit",
    "roles": "roles",
    "language": "language",
    "active": "active",
    "left_on": "left on",
}


class ImportFileError(Exception):
    """The file as a whole cannot be read as a directory CSV; the words are for the user."""


@dataclass(frozen=True)
class RowResult:
    line: int  # the row's line in the file (the header is line 1)
    status: Status
    name: str
    email: str
    problems: tuple[Problem, ...] = ()
    changes: tuple[str, ...] = ()  # the fields that change
    person_id: int | None = None
    values: PersonValues | None = None

    @property
    def reason(self) -> str:
        return " ".join(problem.text for problem in self.problems)

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(problem.code for problem in self.problems)


@dataclass(frozen=True)
class ImportPreview:
    rows: list[RowResult]
    encoding: str  # utf-8, utf-8-sig, cp1252, utf-16
    delimiter: str
    columns: tuple[str, ...]  # the known columns found, in our names
    ignored_columns: tuple[str, ...] = ()
    counts: dict[str, int] = field(default_factory=dict)

    def of(self, status: Status) -> list[RowResult]:
        return [row for row in self.rows if row.status == status]

    @property
    def writes(self) -> int:
        return self.counts.get("added", 0) + self.counts.get("changed", 0)


def decode(data: bytes) -> tuple[str, str]:
    """The text and its encoding: a BOM decides; else UTF-8 if it decodes, else Windows-1252."""
    try:
        if data.startswith(b"\xef\xbb\xbf"):
            return data[3:].decode("utf-8", errors="strict"), "utf-8-sig"
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            return data.decode("utf-16"), "utf-16"  # Excel's "Unicode text"
    except UnicodeDecodeError:
        raise ImportFileError(
            _("The file starts as Unicode text but is not; save it from Excel as CSV and try again.")
        ) from None
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        raise ImportFileError(
            _("The file is neither UTF-8 nor Windows-1252 text; save it from Excel as CSV and try again.")
        ) from None


def sniff_delimiter(header: str) -> str:
    """The separator of the header line: the most common of `;`, `,` and tab (`;` on a tie)."""
    counts = {delimiter: header.count(delimiter) for delimiter in (";", ",", "\t")}
    best = max(counts.values())
    if best == 0:
        return ";"
    return next(delimiter for delimiter in (";", "\t", ",") if counts[delimiter] == best)


def _column_key(title: str) -> str:
    return " ".join(fold(title.replace("\ufeff", "")).replace("_", " ").split())


def _map_header(header: Sequence[str]) -> tuple[dict[str, int], list[str]]:
    by_fold = {_column_key(alias): name for name, aliases in COLUMN_NAMES.items() for alias in aliases}
    found: dict[str, int] = {}
    ignored: list[str] = []
    for index, title in enumerate(header):
        name = by_fold.get(_column_key(title))
        if name is None or name in found:
            if title.strip():
                ignored.append(title.strip())
            continue
        found[name] = index
    return found, ignored


def _unformula(text: str) -> str:
    """A cell our export wrote as text (``'+358 …``) comes back as it was."""
    text = text.strip()
    if len(text) > 1 and text[0] == "'" and text[1] in "=+-@":
        return text[1:]
    return text


def _values_of(person: PersonRow) -> PersonValues:
    return PersonValues(
        person.name,
        person.email,
        person.phone,
        person.unit_id,
        person.roles,
        person.language,
        person.active,
        person.left_on,
    )


def _differences(old: PersonValues, new: PersonValues) -> tuple[str, ...]:
    changed = []
    for name in ("name", "email", "phone", "unit_id", "roles", "language", "active", "left_on"):
        if getattr(old, name) != getattr(new, name):
            changed.append("unit" if name == "unit_id" else name)
    return tuple(changed)


def preview(data: bytes, directory: Directory, *, today: date) -> ImportPreview:
    """What importing ``data`` would do to ``directory``; writes nothing. Raises ImportFileError."""
    if len(data) > MAX_BYTES:
        raise ImportFileError(
            _(
                "The file is over {size} MB; a directory is much smaller. Check that it is the right file."
            ).format(size=MAX_BYTES // (1024 * 1024))
        )
    text, encoding = decode(data)
    first_line = text.split("\n", 1)[0]
    if not first_line.strip():
        raise ImportFileError(
            _("The file is empty or its first line is blank; the first line must name the columns.")
        )
    delimiter = sniff_delimiter(first_line)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        raise ImportFileError(_("The file has no header line naming the columns.")) from None
    columns, ignored = _map_header(header)
    missing = [name for name in REQUIRED if name not in columns]
    if missing:
        raise ImportFileError(
            _(
                "The file has no column for {columns}; the first line must name the columns (e.g. {example})."
            ).format(
                columns=", ".join(_(FIELD_LABELS[name]) for name in missing),
                example=delimiter.join(("name", "email", "phone", "unit", "roles")),
            )
        )

    units = {fold(unit.name): unit.id for unit in directory.units}
    roles = known_roles(role for person in directory.people for role in person.roles)
    roles_by_fold = role_index(roles)
    emails: dict[str, list[int]] = {}
    labels: dict[int, str] = {}
    by_id: dict[int, PersonRow] = {}
    for person in directory.people:
        emails.setdefault(email_key(person.email), []).append(person.id)
        labels[person.id] = person.name
        by_id[person.id] = person
    seen_in_file: dict[str, int] = {}
    results: list[RowResult] = []

    def cell(record: list[str], name: str) -> str:
        index = columns.get(name)
        return _unformula(record[index]) if index is not None and index < len(record) else ""

    while True:
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            results.append(
                RowResult(
                    reader.line_num,
                    "rejected",
                    "",
                    "",
                    (Problem(FIELD_COUNT, _("The row cannot be read as CSV: {error}.").format(error=error)),),
                )
            )
            continue
        line = reader.line_num
        if not any(value.strip() for value in record):
            continue  # Excel leaves rows of bare separators at the end
        name, address = cell(record, "name"), cell(record, "email")
        joined = "\x00".join(record)  # \x00 is no word character: each cell still stands alone
        if may_hold_hetu(joined) and contains_hetu(joined):
            # Nothing of such a row is shown back, not even its name: it may be the code's owner.
            results.append(RowResult(line, "rejected", "", "", (hetu_problem(_("row")),)))
            continue
        if len(record) != len(header):
            results.append(
                RowResult(
                    line,
                    "rejected",
                    name,
                    address,
                    (
                        Problem(
                            FIELD_COUNT,
                            _(
                                "The row has {found} fields but the header has {expected}; a value may hold "
                                "an unquoted {delimiter}."
                            ).format(found=len(record), expected=len(header), delimiter=delimiter),
                        ),
                    ),
                )
            )
            continue
        key = email_key(address)
        existing_ids = emails.get(key, []) if key else []
        if len(existing_ids) > 1:
            results.append(
                RowResult(
                    line,
                    "rejected",
                    name,
                    address,
                    (
                        Problem(
                            EMAIL_AMBIGUOUS,
                            _(
                                "{count} people in the directory have {address}; fix them on the Network "
                                "screen first, then import again."
                            ).format(count=len(existing_ids), address=address.strip()),
                        ),
                    ),
                )
            )
            continue
        person = by_id[existing_ids[0]] if existing_ids else None
        draft = Draft(
            name=name,
            email=address,
            phone=cell(record, "phone") if "phone" in columns else (person.phone if person else ""),
            unit=cell(record, "unit") if "unit" in columns else "",
            roles=cell(record, "roles") if "roles" in columns else "",
            language=cell(record, "language")
            if "language" in columns
            else (person.language if person else "fi"),
        )
        checked, problems = check_draft(
            draft,
            units=units,
            roles=roles,
            emails=emails,
            person_id=person.id if person else None,
            labels=labels,
            roles_by_fold=roles_by_fold,
            hetu_checked=True,
        )
        active_text = cell(record, "active")
        active = parse_active(active_text) if "active" in columns else (person.active if person else True)
        if active is None:
            problems.append(
                Problem(
                    ACTIVE_INVALID,
                    _("The active column says {value}; write kyllä or ei.").format(value=active_text),
                )
            )
        left_on: date | None = None
        if "left_on" in columns:
            try:
                left_on = parse_day(cell(record, "left_on"))
            except ValueError:
                problems.append(
                    Problem(
                        DATE_INVALID,
                        _("{value} is not a date; write e.g. 31.1.2026 or 2026-01-31.").format(
                            value=cell(record, "left_on")
                        ),
                    )
                )
        if checked is not None and key:
            earlier = seen_in_file.get(email_key(checked.email))
            if earlier is not None:
                problems.append(
                    Problem(
                        EMAIL_REPEATED,
                        _("{address} is on line {line} of the file already.").format(
                            address=checked.email, line=earlier
                        ),
                    )
                )
        if checked is not None:
            seen_in_file.setdefault(email_key(checked.email), line)
        if problems or checked is None:
            results.append(RowResult(line, "rejected", name, address, tuple(problems)))
            continue
        assert active is not None
        if not active:
            left_on = left_on or (person.left_on if person and not person.active else None) or today
        values = PersonValues(
            name=checked.name,
            # Matched case-insensitively: a differently cased address is the same, kept as it was.
            email=person.email if person is not None else checked.email,
            phone=checked.phone,
            unit_id=checked.unit_id if "unit" in columns else (person.unit_id if person else None),
            roles=checked.roles if "roles" in columns else (person.roles if person else ()),
            language=checked.language,
            active=active,
            left_on=None if active else left_on,
        )
        if person is None:
            results.append(RowResult(line, "added", values.name, values.email, values=values))
            continue
        old = _values_of(person)
        changes = _differences(old, values)
        status: Status = "changed" if changes else "unchanged"
        results.append(
            RowResult(
                line, status, values.name, values.email, changes=changes, person_id=person.id, values=values
            )
        )
    counts = Counter(row.status for row in results)
    return ImportPreview(
        rows=results,
        encoding=encoding,
        delimiter=delimiter,
        columns=tuple(name for name in COLUMN_NAMES if name in columns),
        ignored_columns=tuple(ignored),
        counts={status: counts.get(status, 0) for status in ("added", "changed", "unchanged", "rejected")},
    )


def rejected_with(preview: ImportPreview, code: str) -> list[RowResult]:
    """The rejected rows that have a problem of this kind (for tests and the preview's filter)."""
    return [row for row in preview.rows if code in row.codes]
