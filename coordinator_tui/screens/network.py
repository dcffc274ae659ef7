"""Verkosto: the network directory — people, units and distribution lists, searched as you type.

`n` adds a person and `enter` edits one (checked before the form closes), `l` marks a person left
(kept for history, off every list) or back, `i` imports a CSV file through a dry-run preview.
A list shows its members as a notice to it would reach them now, resolved again after every change.
The directory is read in a worker and held as plain rows; the lists paint only what is on screen.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import Input, Static
from textual.worker import get_current_worker

from coordinator_tui.directory.validation import Draft, fold, known_roles
from coordinator_tui.i18n import N_, _, count_text
from coordinator_tui.screens.base import AREA_BY_MODE, AreaScreen
from coordinator_tui.textclean import clean_line
from coordinator_tui.timefmt import duration, fi_date, local
from coordinator_tui.widgets.directorylist import DirectoryList, Row
from coordinator_tui.widgets.maillist import fit
from coordinator_tui.widgets.safe import plain

if TYPE_CHECKING:
    from coordinator_tui.directory.csvimport import ImportPreview
    from coordinator_tui.directory.service import DirectoryService
    from coordinator_tui.meetings.figures import MeetingFigures
    from coordinator_tui.meetings.schedule import DueMeeting
    from coordinator_tui.notices.recipients import Resolution
    from store.directory import Directory, ListRow, PersonRow, UnitRow
    from store.meetings import HeldMeeting

SECTIONS: dict[str, str] = {
    "people": N_("People"),
    "units": N_("Units"),
    "lists": N_("Lists"),
    "meetings": N_("Meetings"),
}
FIRST_WINDOW = 60  # people read for the first paint, before the worker has read them all
FIRST_PAINT_WAIT_S = 0.5  # the most the first read of the whole directory waits for that paint
HEADERS: dict[str, tuple[tuple[str, int], ...]] = {
    "people": ((N_("Name"), 22), (N_("E-mail"), 34), (N_("Unit"), 0), (N_("Roles"), 20), (N_("Left on"), 11)),
    "units": ((N_("Unit"), 0), (N_("Area"), 14), (N_("Services"), 40), (N_("People"), 8)),
    "lists": ((N_("List"), 0), (N_("Kind"), 10), (N_("Members"), 44)),
    "meetings": ((N_("Unit"), 0), (N_("Due"), 11), (N_("When"), 12), (N_("Why"), 34), (N_("Last held"), 11)),
}
BUCKET_NAMES = {"overdue": N_("overdue"), "this_month": N_("this month"), "later": N_("later")}
LANGUAGE_NAMES = {"fi": N_("Finnish"), "sv": N_("Swedish")}


def rule_words(rule_text: str) -> str:
    """A rule list's rule in words: who is on it."""
    try:
        rule = json.loads(rule_text) if rule_text.strip() else None
    except ValueError:
        rule = None
    if not isinstance(rule, dict):
        return _("a rule that cannot be read; nobody is on it by the rule")
    role, service = rule.get("role"), rule.get("service")
    if role and service:
        return _("active {role} people of the units using {service}").format(role=role, service=service)
    if role:
        return _("every active {role}").format(role=role)
    if service:
        return _("every active person of the units using {service}").format(service=service)
    return _("nobody (the rule names no role and no service)")


@dataclass
class Built:
    """What the worker read, with the rows of each section made ready to paint."""

    directory: Directory
    rows: dict[str, list[Row]] = field(default_factory=dict)
    due: list[DueMeeting] = field(default_factory=list)
    held: list[HeldMeeting] = field(default_factory=list)


@dataclass
class DirectoryLoaded(Message):
    built: Built
    keep: tuple[str, int] | None  # (section, key) to keep the cursor on


@dataclass
class ListResolved(Message):
    list_id: int
    resolution: Resolution


@dataclass
class FiguresReady(Message):
    unit_id: int
    figures: MeetingFigures


@dataclass
class ImportReady(Message):
    preview: ImportPreview | None
    source: str
    error: str


def _cell(value: str, limit: int) -> str:
    """clean_line with a fast path: 25,000 cells of plain names are already clean."""
    if len(value) <= limit and value.isprintable():
        return value
    return clean_line(value, limit=limit)


def person_row(person: PersonRow, unit_name: str) -> Row:
    """A person's row. The search text is folded part by part: the unit's and the roles' parts are
    shared by many people and come from fold's cache, and an address folds on its ASCII fast path."""
    unit_name = _cell(unit_name, limit=120) if unit_name else ""
    roles = _cell(", ".join(person.roles), limit=120)
    status = "" if person.active else fi_date(person.left_on) if person.left_on else "✕"
    name, email = _cell(person.name, limit=120), _cell(person.email, limit=254)
    return Row(
        person.id,
        (name, email, unit_name, roles, status),
        dim=not person.active,
        search=f"{fold(name)} {fold(email)} {fold(unit_name)} {fold(roles)} {fold(person.phone)}",
    )


def build_rows(directory: Directory) -> dict[str, list[Row]]:
    """Each section's rows as cleaned text (worker side: 5,000 people cost the UI nothing)."""
    units = directory.unit_by_id()
    people_rows: list[Row] = []
    people_per_unit: dict[int, int] = {}
    for person in directory.people:
        unit = units.get(person.unit_id) if person.unit_id is not None else None
        people_rows.append(person_row(person, unit.name if unit else ""))
        if person.active and person.unit_id is not None:
            people_per_unit[person.unit_id] = people_per_unit.get(person.unit_id, 0) + 1
    unit_rows = []
    for unit in directory.units:
        name, area = _cell(unit.name, limit=120), _cell(unit.area, limit=60)
        services = _cell(", ".join(s.service for s in unit.services), limit=200)
        unit_rows.append(
            Row(
                unit.id,
                (name, area, services, str(people_per_unit.get(unit.id, 0))),
                search=fold(f"{name} {area} {unit.code} {services}"),
            )
        )
    list_rows = []
    for info in directory.lists:
        name = _cell(info.name, limit=120)
        kind = _("rule") if info.rule.strip() else _("static")
        what = (
            rule_words(info.rule)
            if info.rule.strip()
            else count_text("{n} member", "{n} members", len(info.member_ids))
        )
        list_rows.append(
            Row(
                info.id,
                (name, kind, _cell(what, limit=200)),
                search=fold(f"{name} {info.description}"),
            )
        )
    return {"people": people_rows, "units": unit_rows, "lists": list_rows}


def meeting_rows(due: list[DueMeeting]) -> list[Row]:
    rows = []
    for meeting in due:
        name = _cell(meeting.unit_name, limit=120)
        why = (
            _("a month after {service} ({date})").format(
                service=meeting.reason, date=fi_date(meeting.deployed_on) if meeting.deployed_on else "?"
            )
            if meeting.kind == "first"
            else _("a year after the last one")
        )
        rows.append(
            Row(
                meeting.unit_id,
                (
                    name,
                    fi_date(meeting.due_on),
                    _(BUCKET_NAMES[meeting.bucket]),
                    _cell(why, limit=120),
                    fi_date(meeting.last_held) if meeting.last_held else "—",
                ),
                alert=meeting.bucket == "overdue",
                dim=meeting.bucket == "later",
                search=fold(f"{name} {meeting.reason}"),
            )
        )
    return rows


def matching(rows: list[Row], query: str) -> list[Row]:
    terms = fold(query).split()
    if not terms:
        return rows
    return [row for row in rows if all(term in row.search for term in terms)]


class NetworkScreen(AreaScreen):
    AREA = "network"
    STYLES_IN_APP_CSS = True
    AUTO_FOCUS = "#network-list"
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("slash", "search", N_("Search"), id="network.search", tooltip=N_("Search as you type")),
        Binding(
            "n",
            "new_person",
            N_("New"),
            id="network.new",
            tooltip=N_("Add a person, a unit or a list; on Meetings, record a meeting held with the unit"),
        ),
        Binding("enter", "open", N_("Edit"), id="network.edit", tooltip=N_("Edit the person, unit or list")),
        Binding(
            "l",
            "toggle_left",
            N_("Left / back"),
            id="network.left",
            tooltip=N_("Mark the person left (off every list, kept for history) or active again"),
        ),
        Binding(
            "a",
            "lists_of_person",
            N_("Static lists"),
            id="network.lists",
            tooltip=N_("Put the person on a static list or take them off"),
        ),
        Binding("i", "import_csv", N_("Import CSV"), id="network.import", tooltip=N_("Preview, then import")),
        Binding("right", "next_section", N_("Next section"), id="network.next", show=False),
        Binding("left", "previous_section", N_("Previous section"), id="network.previous", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.service: DirectoryService | None = None
        self.section = "people"
        self.query_text = ""
        self.built: Built | None = None
        self._resolved_for: int | None = None
        self._list_painted = threading.Event()
        self._first_total: int | None = None  # the people counted for the first window
        self._figures: dict[int, MeetingFigures] = {}  # unit id → its meeting's figures (this load)
        self._pending_keep: tuple[str, int] | None = None

    def compose_body(self) -> ComposeResult:
        with Vertical(id="network-main"):
            yield Static(Content(""), id="network-sections")
            yield Static(Content(""), id="network-title")
            yield DirectoryList(id="network-list")
            with Vertical(id="network-detail"):
                yield Static(Content(""), id="network-fields")

    @property
    def directory_list(self) -> DirectoryList:
        return self.query_one("#network-list", DirectoryList)

    def on_mount(self) -> None:
        self._list_painted = self.directory_list.painted  # for the worker: no DOM query there
        self._show_first_window()
        self._show_sections()

    def _show_first_window(self) -> None:
        """The first screenful of people, read here so that the first paint shows them.

        Two index reads of a few milliseconds (as the Mail screen's first rows, screens/mail.py):
        the whole directory (5,000 people, the lists, the meetings) is read and built by the worker
        that starts after this first paint, and replaces these rows with the cursor where it was.
        """
        store = self.coordinator.store
        if store is None or self.built is not None:
            return
        from store.directory import first_people
        from store.errors import StoreError

        try:
            first = first_people(store, FIRST_WINDOW)
        except StoreError:
            return  # the worker reads again and reports what is wrong
        self._first_total = first.total
        rows = [
            person_row(person, first.unit_names.get(person.unit_id, "") if person.unit_id is not None else "")
            for person in first.people
        ]
        header = tuple(_(title) for title, _width in HEADERS["people"])
        widths = tuple(width for _title, width in HEADERS["people"])
        self.directory_list.set_rows(rows, header, widths)
        self.query_one("#network-title", Static).update(
            Content.assemble((_(SECTIONS["people"]), "bold"), " · ", str(first.total))
        )

    def on_screen_resume(self) -> None:
        self.sub_title = _(AREA_BY_MODE[self.AREA].title)
        self.action_refresh()

    def action_refresh(self) -> None:
        if self.coordinator.store is not None:
            self.load(None)

    def _service(self) -> DirectoryService:
        if self.service is None:
            from coordinator_tui.directory.service import DirectoryService

            store = self.coordinator.store
            assert store is not None
            self.service = DirectoryService(store, clock=self.coordinator.now)
        return self.service

    # --- reading ----------------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="network-load", exit_on_error=False)
    def load(self, keep: tuple[str, int] | None) -> None:
        # The first paint first: reading and building 5,000 rows here would hold the GIL against it
        # (at most a moment: the list's first paint sets this, whether it has rows or not).
        self._list_painted.wait(FIRST_PAINT_WAIT_S)
        service = self._service()
        directory = service.load()
        due, held = service.meetings(directory)
        rows = build_rows(directory)
        rows["meetings"] = meeting_rows(due)
        built = Built(directory, rows, due, held)
        if not get_current_worker().is_cancelled:
            self.post_message(DirectoryLoaded(built, keep))

    @on(DirectoryLoaded)
    def loaded(self, message: DirectoryLoaded) -> None:
        self.built = message.built
        # A dialog closing resumes the screen, whose reload may replace the one that named the row.
        keep = message.keep or self._pending_keep
        self._pending_keep = None
        if keep is not None and keep[0] != self.section:
            self.section = keep[0]
        current = self.directory_list.current_row()
        key = keep[1] if keep is not None else (current.key if current is not None else None)
        self._resolved_for = None
        self._figures = {}
        self._show_sections()
        self._show_rows(keep_key=key)
        self.loaded_at = self.coordinator.now()

    def _show_sections(self) -> None:
        """The section bar: ← and → move between the sections; each with its count."""
        counts: dict[str, int] = (
            {name: len(rows) for name, rows in self.built.rows.items()}
            if self.built
            else {"people": self._first_total}
            if self._first_total is not None
            else {}
        )
        parts: list[Content | str | tuple[str, str]] = []
        for name, label in SECTIONS.items():
            text = f" {_(label)} {counts.get(name, '')} ".replace("  ", " ")
            parts.append((text, "reverse bold" if name == self.section else "dim"))
            parts.append(" ")
        parts.append(("← →", "dim"))
        self.query_one("#network-sections", Static).update(Content.assemble(*parts))

    def _show_rows(self, *, keep_key: int | None = None) -> None:
        if self.built is None:
            return
        rows = matching(self.built.rows[self.section], self.query_text)
        header = tuple(_(title) for title, _width in HEADERS[self.section])
        widths = tuple(width for _title, width in HEADERS[self.section])
        self.directory_list.set_rows(rows, header, widths, keep_key=keep_key)
        self._show_title(len(rows))

    def _show_title(self, shown: int) -> None:
        assert self.built is not None
        total = len(self.built.rows[self.section])
        parts: list[Content | str | tuple[str, str]] = [(_(SECTIONS[self.section]), "bold")]
        if self.query_text:
            parts += [" · ", _("{shown} of {total}").format(shown=shown, total=total)]
            parts += [" · ", _("search") + ": ", plain(self.query_text, limit=60)]
        else:
            parts += [" · ", str(total)]
        self.query_one("#network-title", Static).update(Content.assemble(*parts))

    def _change_section(self, section: str) -> None:
        if section == self.section:
            return
        self.section = section
        self._show_sections()
        self._show_rows()

    def action_next_section(self) -> None:
        names = list(SECTIONS)
        self._change_section(names[(names.index(self.section) + 1) % len(names)])

    def action_previous_section(self) -> None:
        names = list(SECTIONS)
        self._change_section(names[(names.index(self.section) - 1) % len(names)])

    # --- search -----------------------------------------------------------------------------------

    def _search_field(self) -> Input | None:
        found = self.query("#network-search")
        return found.first(Input) if found else None

    def action_search(self) -> None:
        # Mounted on the first `/`: the screen opens faster without it (Textual parses the styles
        # again the first time an Input appears).
        field = self._search_field()
        if field is None:
            field = Input(placeholder=_("Search: name, e-mail, unit, role"), id="network-search")
            self.query_one("#network-main", Vertical).mount(field, before="#network-title")
        field.focus()

    @on(Input.Changed, "#network-search")
    def search_changed(self, event: Input.Changed) -> None:
        self.query_text = event.value.strip()
        self._show_rows()

    @on(Input.Submitted, "#network-search")
    def search_submitted(self, event: Input.Submitted) -> None:
        self.directory_list.focus()

    def action_back(self) -> None:
        search = self._search_field()
        if search is not None and search.has_focus:
            self.directory_list.focus()
            return
        if search is not None and self.query_text:
            search.value = ""
            return
        super().action_back()

    # --- the detail pane --------------------------------------------------------------------------

    @on(DirectoryList.Highlighted, "#network-list")
    def row_highlighted(self, event: DirectoryList.Highlighted) -> None:
        fields = self.query_one("#network-fields", Static)
        if self.built is None or event.row is None:
            fields.update(Content(_("Nothing found.") if self.query_text else ""))
            return
        directory = self.built.directory
        key = event.row.key
        if self.section == "people":
            person = next((p for p in directory.people if p.id == key), None)
            if person is not None:
                fields.update(self._person_detail(directory, person))
        elif self.section == "units":
            unit = next((u for u in directory.units if u.id == key), None)
            if unit is not None:
                fields.update(self._unit_detail(directory, unit))
        elif self.section == "meetings":
            fields.update(self._meeting_detail(directory, key))
            if key not in self._figures:
                self.read_figures(key, self.built.held)
        else:
            info = next((item for item in directory.lists if item.id == key), None)
            if info is not None:
                fields.update(self._list_detail(info, None))
                if self._resolved_for != info.id:
                    self.resolve_list(info.id, directory)

    @staticmethod
    def _line(label: str, value: Content | str) -> Content:
        return Content.assemble((f"{fit(label, 15):<16}", "bold"), value)

    def _person_detail(self, directory: Directory, person: PersonRow) -> Content:
        units = directory.unit_by_id()
        unit = units.get(person.unit_id) if person.unit_id is not None else None
        status = (
            _("active")
            if person.active
            else _("left {date}; on no list").format(date=fi_date(person.left_on) if person.left_on else "")
        )
        static_lists = [info.name for info in directory.lists if person.id in info.member_ids]
        lines = [
            Content.assemble((clean_line(person.name, limit=120), "bold")),
            self._line(_("E-mail"), plain(person.email, limit=254)),
            self._line(_("Phone"), plain(person.phone or "—", limit=60)),
            self._line(_("Unit"), plain(unit.name if unit else "—", limit=120)),
            self._line(_("Roles"), plain(", ".join(person.roles) or "—", limit=200)),
            self._line(_("Language"), _(LANGUAGE_NAMES.get(person.language, person.language))),
            self._line(_("Status"), status),
            self._line(_("Static lists"), plain(", ".join(static_lists) or "—", limit=400)),
        ]
        return Content("\n").join(lines)

    def _unit_detail(self, directory: Directory, unit: UnitRow) -> Content:
        people = [p for p in directory.people if p.unit_id == unit.id and p.active]
        unknown = _("date unknown")
        services = [
            f"{service.service} ({fi_date(service.deployed_on) if service.deployed_on else unknown})"
            for service in unit.services
        ]
        lines = [
            Content.assemble((clean_line(unit.name, limit=120), "bold")),
            self._line(_("Area"), plain(unit.area or "—", limit=80)),
            self._line(_("Code"), plain(unit.code or "—", limit=40)),
            self._line(_("Services"), plain(", ".join(services) or "—", limit=400)),
            self._line(
                _("People"),
                plain(
                    ", ".join(f"{p.name} ({', '.join(p.roles)})" if p.roles else p.name for p in people)
                    or "—",
                    limit=1000,
                ),
            ),
        ]
        return Content("\n").join(lines)

    def _meeting_detail(self, directory: Directory, unit_id: int) -> Content:
        assert self.built is not None
        unit = directory.unit_by_id().get(unit_id)
        due = next((meeting for meeting in self.built.due if meeting.unit_id == unit_id), None)
        if unit is None or due is None:
            return Content("")
        names = {person.id: person.name for person in directory.people}
        lines = [
            Content.assemble((_cell(unit.name, limit=120), "bold")),
            self._line(
                _("Next meeting"),
                Content.assemble(
                    (fi_date(due.due_on), "bold $text-error" if due.bucket == "overdue" else "bold"),
                    " · ",
                    _(BUCKET_NAMES[due.bucket]),
                ),
            ),
            self._line(
                _("Deployments"),
                plain(
                    ", ".join(
                        f"{s.service} {fi_date(s.deployed_on)}"
                        for s in unit.services
                        if s.deployed_on is not None
                    ),
                    limit=400,
                ),
            ),
            Content(""),
            *self._figures_lines(self._figures.get(unit_id)),
            Content(""),
            Content.assemble(
                (_("Meetings held"), "bold $accent"), ("  " + _("n: record a held meeting"), "dim")
            ),
        ]
        held = [meeting for meeting in self.built.held if meeting.unit_id == unit_id]
        if not held:
            lines.append(Content(_("None yet.")))
        for meeting in held:
            who = ", ".join(names.get(person_id, "?") for person_id in meeting.participants)
            lines.append(
                Content.assemble(
                    (fi_date(meeting.held_on), "bold"),
                    "  ",
                    plain(who or "—", limit=300),
                    (
                        "  · " + _("HaiPro reports: {n}").format(n=meeting.haipro_count)
                        if meeting.haipro_count is not None
                        else ""
                    ),
                )
            )
            if meeting.notes:
                lines.append(Content.assemble("    ", plain(meeting.notes, limit=400)))
            if meeting.actions:
                lines.append(Content.assemble("    → ", plain(meeting.actions, limit=400)))
        return Content("\n").join(lines)

    def _figures_lines(self, figures: MeetingFigures | None) -> list[Content]:
        """What the meeting looks at: the unit's requests over the period, and the HaiPro counts."""
        if figures is None:
            return [Content.assemble((_("Figures for the meeting"), "bold $accent")), Content(_("Reading…"))]
        from coordinator_tui.requests.rules import category_label

        span = f"{fi_date(figures.since)}–{fi_date(figures.until)}"
        period = (
            _("since the last meeting, {span}") if figures.since_meeting else _("the last 12 months, {span}")
        ).format(span=span)
        median = (
            _("median resolution time {time} ({n} resolved)").format(
                time=duration(figures.median_resolution), n=figures.resolved
            )
            if figures.median_resolution is not None
            else _("none resolved yet")
        )
        lines = [
            Content.assemble((_("Figures for the meeting"), "bold $accent"), ("  " + period, "dim")),
            self._line(
                _("Requests"),
                Content.assemble((str(figures.total), "bold"), " · " + median if figures.total else ""),
            ),
        ]
        if figures.per_category:
            by_category = " · ".join(
                f"{category_label(category) if category else _('not triaged')} {count}"
                for category, count in figures.per_category
            )
            lines.append(self._line(_("By category"), plain(by_category, limit=600)))
        if figures.haipro:
            day, count = figures.haipro[0]
            haipro = _("{n} at the last meeting ({date}); enter the new count when you record it").format(
                n=count, date=fi_date(day)
            )
        else:
            haipro = _("none entered yet; enter the count when you record the meeting")
        lines.append(self._line(_("HaiPro reports"), haipro))
        return lines

    @work(thread=True, exclusive=True, group="network-figures", exit_on_error=False)
    def read_figures(self, unit_id: int, held: list[HeldMeeting]) -> None:
        figures = self._service().meeting_figures(unit_id, held)
        if not get_current_worker().is_cancelled:
            self.post_message(FiguresReady(unit_id, figures))

    @on(FiguresReady)
    def figures_ready(self, message: FiguresReady) -> None:
        self._figures[message.unit_id] = message.figures
        row = self.directory_list.current_row()
        if self.section != "meetings" or row is None or row.key != message.unit_id or self.built is None:
            return
        self.query_one("#network-fields", Static).update(self._meeting_detail(self.built.directory, row.key))

    def _list_detail(self, info: ListRow, resolution: Resolution | None) -> Content:
        kind = rule_words(info.rule) if info.rule.strip() else _("static: members added by hand")
        lines = [
            Content.assemble((clean_line(info.name, limit=120), "bold")),
            self._line(_("Description"), plain(info.description or "—", limit=300)),
            self._line(_("Who"), kind),
        ]
        if info.bilingual:
            lines.append(self._line(_("Languages"), _("Finnish and Swedish")))
        if resolution is None:
            lines.append(Content(_("Resolving the members…")))
            return Content("\n").join(lines)
        lines.append(
            Content.assemble(
                (
                    count_text("{n} recipient now", "{n} recipients now", resolution.count),
                    "bold $accent",
                ),
                (" · " + _("as a notice to the list would go now"), "dim"),
            )
        )
        by_address: dict[str, str] = {}
        if self.built is not None:
            for person in self.built.directory.people:
                by_address.setdefault(person.email.strip().casefold(), person.name)
        for address in resolution.addresses[:500]:
            name = by_address.get(address.casefold(), "")
            lines.append(
                Content.assemble("  ", plain(name, limit=60), "  ", (clean_line(address, limit=254), "dim"))
            )
        if resolution.count > 500:
            lines.append(Content(_("… and {n} more").format(n=resolution.count - 500)))
        for name, address in resolution.invalid:
            lines.append(
                Content.assemble(
                    ("  ! ", "bold $text-error"),
                    plain(name, limit=60),
                    "  ",
                    plain(address, limit=254),
                    (" · " + _("cannot be sent to; left out"), "$text-error"),
                )
            )
        return Content("\n").join(lines)

    @work(thread=True, exclusive=True, group="network-resolve", exit_on_error=False)
    def resolve_list(self, list_id: int, directory: Directory) -> None:
        resolution = self._service().resolve(list_id, directory)
        if not get_current_worker().is_cancelled:
            self.post_message(ListResolved(list_id, resolution))

    @on(ListResolved)
    def list_resolved(self, message: ListResolved) -> None:
        row = self.directory_list.current_row()
        if self.section != "lists" or row is None or row.key != message.list_id or self.built is None:
            return
        info = next((item for item in self.built.directory.lists if item.id == message.list_id), None)
        if info is None:
            return
        self._resolved_for = message.list_id
        self.query_one("#network-fields", Static).update(self._list_detail(info, message.resolution))

    # --- editing ----------------------------------------------------------------------------------

    def _form_choices(self) -> tuple[list[str], list[str]]:
        if self.built is None:
            return [], known_roles(())
        directory = self.built.directory
        units = [unit.name for unit in directory.units]
        roles = known_roles(role for person in directory.people for role in person.roles)
        return units, roles

    def action_new_person(self) -> None:
        if self.coordinator.store is None or self.built is None:
            return
        if self.section == "meetings":
            self._record_meeting()
            return
        if self.section == "units":
            self._unit_form(None)
            return
        if self.section == "lists":
            self._list_form(None)
            return
        from coordinator_tui.screens.networkdialogs import PersonForm

        units, roles = self._form_choices()
        self.app.push_screen(PersonForm(self._service(), units=units, roles=roles), self._person_saved)

    def _record_meeting(self) -> None:
        row = self.directory_list.current_row()
        if row is None or self.built is None:
            return
        unit = self.built.directory.unit_by_id().get(row.key)
        if unit is None:
            return
        from coordinator_tui.screens.networkdialogs import MeetingForm

        unit_id = unit.id

        def recorded(meeting_id: int | None) -> None:
            if meeting_id is not None:
                self.notify(_("Meeting recorded."), markup=False)
                self._pending_keep = ("meetings", unit_id)
                self.load(("meetings", unit_id))

        today = local(self.coordinator.now()).date()
        self.app.push_screen(MeetingForm(self._service(), unit_id, unit.name, today), recorded)

    def _current_person(self) -> PersonRow | None:
        row = self.directory_list.current_row()
        if self.section != "people" or row is None or self.built is None:
            return None
        return next((p for p in self.built.directory.people if p.id == row.key), None)

    def action_open(self) -> None:
        row = self.directory_list.current_row()
        if self.section == "units" and row is not None:
            self._unit_form(row.key)
            return
        if self.section == "lists" and row is not None:
            self._list_form(row.key)
            return
        if self.section != "people":
            return
        person = self._current_person()
        if person is None or self.built is None:
            return
        from coordinator_tui.screens.networkdialogs import PersonForm

        units_by_id = self.built.directory.unit_by_id()
        unit = units_by_id.get(person.unit_id) if person.unit_id is not None else None
        draft = Draft(
            name=person.name,
            email=person.email,
            phone=person.phone,
            unit=unit.name if unit else "",
            roles=", ".join(person.roles),
            language=person.language,
        )
        units, roles = self._form_choices()
        self.app.push_screen(
            PersonForm(self._service(), person_id=person.id, draft=draft, units=units, roles=roles),
            self._person_saved,
        )

    def _saved_in(self, section: str) -> Callable[[int | None], None]:
        def saved(row_id: int | None) -> None:
            if row_id is not None:
                self.notify(_("Saved."), markup=False)
                self._pending_keep = (section, row_id)
                self.load((section, row_id))

        return saved

    def _unit_form(self, unit_id: int | None) -> None:
        from coordinator_tui.directory.units import UnitDraft, services_text
        from coordinator_tui.screens.networkdialogs import FormField, RecordForm

        assert self.built is not None
        unit = self.built.directory.unit_by_id().get(unit_id) if unit_id is not None else None
        if unit_id is not None and unit is None:
            return
        service = self._service()
        known = sorted({s.service for u in self.built.directory.units for s in u.services})
        fields = [
            FormField("name", _("Name"), unit.name if unit else ""),
            FormField("area", _("Area"), unit.area if unit else ""),
            FormField("code", _("Code"), unit.code if unit else ""),
            FormField(
                "services",
                _("Services"),
                services_text((s.service, s.deployed_on) for s in unit.services) if unit else "",
            ),
        ]
        hints = [
            _(
                "Services with their deployment dates, separated by ;, "
                "e.g. oirearviot 4.3.2024; työjonolähetys"
            ),
            _("Known services: {services}").format(services=", ".join(known) or "—"),
        ]

        def save(values: dict[str, str]) -> int:
            return service.save_unit(
                UnitDraft(values["name"], values["area"], values["code"], values["services"]), unit_id
            )

        title = _("New unit") if unit is None else _("Edit unit")
        self.app.push_screen(RecordForm(title, fields, hints, save), self._saved_in("units"))

    def _list_form(self, list_id: int | None) -> None:
        from coordinator_tui.directory.lists import rule_of
        from coordinator_tui.directory.units import ListDraft
        from coordinator_tui.screens.networkdialogs import FormField, RecordForm

        assert self.built is not None
        info = next((item for item in self.built.directory.lists if item.id == list_id), None)
        if list_id is not None and info is None:
            return
        rule = (rule_of(info) if info else None) or {}
        service = self._service()
        _units, roles = self._form_choices()
        known = sorted({s.service for u in self.built.directory.units for s in u.services})
        fields = [
            FormField("name", _("Name"), info.name if info else ""),
            FormField("description", _("Description"), info.description if info else ""),
            FormField("role", _("Role"), str(rule.get("role", "")), tuple(roles)),
            FormField("service", _("Service"), str(rule.get("service", "")), tuple(known)),
            FormField("bilingual", _("Swedish too"), ("kyllä" if info.bilingual else "ei") if info else "ei"),
        ]
        hints = [
            _(
                "A rule list takes every active person with the role (in the units using the service, if "
                "one is given); leave both empty for a static list, whose members you add on the people (a)."
            ),
            _("Swedish too: kyllä warns when a notice to the list has no Swedish text."),
        ]

        def save(values: dict[str, str]) -> int:
            draft = ListDraft(
                values["name"], values["description"], values["role"], values["service"], values["bilingual"]
            )
            return service.save_list(draft, list_id)

        title = _("New list") if info is None else _("Edit list")
        self.app.push_screen(RecordForm(title, fields, hints, save), self._saved_in("lists"))

    def action_lists_of_person(self) -> None:
        person = self._current_person()
        if person is None or self.built is None:
            return
        from coordinator_tui.screens.networkdialogs import MembershipScreen

        lists = [
            (info.id, info.name, person.id in info.member_ids)
            for info in self.built.directory.lists
            if not info.rule.strip()
        ]
        person_id = person.id

        def closed(_result: None) -> None:
            self._pending_keep = ("people", person_id)
            self.load(("people", person_id))

        self.app.push_screen(MembershipScreen(self._service(), person.id, person.name, lists), closed)

    def _person_saved(self, person_id: int | None) -> None:
        if person_id is not None:
            self.notify(_("Saved."), markup=False)
            self._pending_keep = ("people", person_id)
            self.load(("people", person_id))

    def action_toggle_left(self) -> None:
        person = self._current_person()
        if person is None:
            return
        self.set_left(person.id, person.active, person.name)

    @work(thread=True, exclusive=True, group="network-change", exit_on_error=False)
    def set_left(self, person_id: int, left: bool, name: str) -> None:
        self._service().set_active(person_id, not left)
        said = (
            _("{name} marked left: off every list, kept for history.")
            if left
            else _("{name} is active again.")
        ).format(name=clean_line(name, limit=80))
        self.app.call_from_thread(self.notify, said, markup=False)
        self.app.call_from_thread(self.load, ("people", person_id))

    # --- import -----------------------------------------------------------------------------------

    def action_import_csv(self) -> None:
        if self.coordinator.store is None:
            return
        from coordinator_tui.screens.networkdialogs import PathScreen

        self.app.push_screen(PathScreen(), self._path_given)

    def _path_given(self, path: str | None) -> None:
        if path:
            self.read_import(path)

    @work(thread=True, exclusive=True, group="network-import", exit_on_error=False)
    def read_import(self, path_text: str) -> None:
        from coordinator_tui.directory.csvimport import ImportFileError

        path = Path(path_text).expanduser()
        try:
            data = path.read_bytes()
        except OSError as error:
            self.post_message(
                ImportReady(
                    None,
                    str(path),
                    _("Cannot read {path}: {reason}.").format(path=path, reason=error.strerror or error),
                )
            )
            return
        try:
            preview = self._service().preview_import(data)
        except ImportFileError as error:
            self.post_message(ImportReady(None, str(path), str(error)))
            return
        self.post_message(ImportReady(preview, str(path), ""))

    @on(ImportReady)
    def import_ready(self, message: ImportReady) -> None:
        if message.preview is None:
            self.notify(clean_line(message.error, limit=400), severity="error", markup=False, timeout=10)
            return
        from coordinator_tui.screens.networkdialogs import ImportPreviewScreen

        self.app.push_screen(
            ImportPreviewScreen(self._service(), message.preview, message.source), self._import_closed
        )

    def _import_closed(self, written: bool | None) -> None:
        if written:
            self.load(None)
