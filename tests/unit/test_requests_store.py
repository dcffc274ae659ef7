"""The request store: numbering, changes with history, conflicts, merge, bulk, undo, views, figures."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from coordinator_tui.requests import rules
from coordinator_tui.requests.service import RequestService, Selected
from store import requests as db
from store.engine import Store, open_store
from store.models import MailFolder, MailMessage, Person, RequestAction, RequestEvent, RequestMail, Unit
from tests.conftest import FIXED_NOW

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)  # Wednesday 10.00 in Helsinki
ME = "Sanna Kivelä"


@pytest.fixture(scope="module")
def store_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated store with a unit, a person and three messages, built once; tests copy it."""
    path = tmp_path_factory.mktemp("requests") / "store.sqlite"
    store = open_store(f"sqlite:///{path}")
    with store.session() as session:
        unit = Unit(name="Limingan terveysasema")
        session.add(unit)
        session.flush()
        session.add(Person(name="Anu Oikarinen", email="anu@example.fi", unit_id=unit.id))
        folder = MailFolder(name="INBOX", role="inbox")
        session.add(folder)
        session.flush()
        for uid in (1, 2, 3):
            session.add(MailMessage(folder_id=folder.id, uid=uid, subject=f"viesti {uid}", date=NOW))
    store.dispose()
    return path


@pytest.fixture
def store(store_template: Path, tmp_path: Path) -> Iterator[Store]:
    path = tmp_path / "store.sqlite"
    source, target = sqlite3.connect(store_template), sqlite3.connect(path)
    source.backup(target)
    source.close()
    target.close()
    path.chmod(0o600)
    store = open_store(f"sqlite:///{path}")
    yield store
    store.dispose()


class Clock:
    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def service(store: Store, clock: Clock | None = None, actor: str = ME) -> RequestService:
    return RequestService(store, actor=actor, clock=clock or Clock())


def events_of(store: Store, request_id: int) -> list[RequestEvent]:
    with store.session() as session:
        return list(
            session.exec(
                select(RequestEvent).where(RequestEvent.request_id == request_id).order_by(RequestEvent.id)
            )
        )


def links_of(store: Store, request_id: int) -> set[int]:
    with store.session() as session:
        rows = session.exec(select(RequestMail).where(RequestMail.request_id == request_id))
        return {row.mail_message_id for row in rows}


# --- create and change ---------------------------------------------------------------------------


def test_references_are_numbered_per_local_year(store: Store) -> None:
    clock = Clock(datetime(2026, 12, 31, 21, 30, tzinfo=UTC))  # 31.12. 23.30 in Helsinki
    requests = service(store, clock)
    first = requests.create("Tunnukset puuttuvat")
    second = requests.create("Työjono ei toimi")
    clock.now = datetime(2026, 12, 31, 22, 30, tzinfo=UTC)  # 1.1.2027 0.30 in Helsinki
    third = requests.create("Uusi vuosi")
    assert [r.reference for r in (first, second, third)] == [
        "OMA-2026-0001",
        "OMA-2026-0002",
        "OMA-2027-0001",
    ]
    assert first.status == "uusi" and first.version == 1
    assert first.due_at is not None  # a working day for triage
    created = events_of(store, first.id)
    assert [(e.kind, e.actor, e.text) for e in created] == [("created", ME, "Tunnukset puuttuvat")]


def test_create_from_mail_links_it(store: Store) -> None:
    row = service(store).create("Viestistä", mail=[(1, "manual")], requester_email="anu@example.fi")
    assert links_of(store, row.id) == {1}
    assert row.requester_email == "anu@example.fi"


def test_change_records_who_when_field_old_and_new(store: Store) -> None:
    clock = Clock()
    requests = service(store, clock)
    row = requests.create("Tunnukset")
    clock.advance(minutes=5)
    changed = requests.set_priority(row.id, row.version, 1)
    assert changed.version == row.version + 1
    assert changed.priority == 1
    assert changed.updated_at == clock.now
    changes = [(e.field, e.old, e.new, e.actor, e.at) for e in events_of(store, row.id) if e.kind == "change"]
    assert ("priority", "", "1", ME, clock.now.replace(tzinfo=None)) in [
        (f, o, n, a, at.replace(tzinfo=None)) for f, o, n, a, at in changes
    ]
    assert {f for f, *_ in changes} == {"priority", "due_at"}  # the due time follows the priority


def test_full_triage_moves_the_request_on(store: Store) -> None:
    requests = service(store)
    row = requests.create("Tunnukset")
    row = requests.set_priority(row.id, row.version, 3)
    row = requests.set_category(row.id, row.version, "käyttöoikeus")
    assert row.status == "uusi"
    row = requests.assign(row.id, row.version, ME)
    assert row.status == "käsittelyssä"
    assert row.first_response_at is not None


def test_rules_refuse_bad_values(store: Store) -> None:
    requests = service(store)
    row = requests.create("Tunnukset")
    with pytest.raises(rules.RuleError):
        requests.set_priority(row.id, row.version, 5)
    with pytest.raises(rules.RuleError):
        requests.set_category(row.id, row.version, "arvaus")
    row = requests.set_status(row.id, row.version, "käsittelyssä")
    with pytest.raises(rules.RuleError):
        requests.set_status(row.id, row.version, "uusi")


def test_status_effects_and_the_paused_clock(store: Store) -> None:
    clock = Clock()
    requests = service(store, clock)
    row = requests.create("Tunnukset", priority=1, category="käyttoikeus" if False else "käyttöoikeus")
    assert row.due_at == datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # 10.00 + 4 office hours = 14.00
    row = requests.set_status(row.id, row.version, "käsittelyssä")
    clock.advance(hours=1)  # 11.00: three office hours left
    row = requests.set_status(row.id, row.version, "odottaa pyytäjää")
    state = requests.due_state(row, clock.now + timedelta(days=1))
    assert state is not None and state.paused and state.left == timedelta(hours=3)
    clock.now = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)  # Friday 11.00: the requester answered
    row = requests.set_status(row.id, row.version, "käsittelyssä")
    assert row.due_at == datetime(2026, 11, 27, 12, 0, tzinfo=UTC)  # Friday 14.00, three hours on
    row = requests.set_status(row.id, row.version, "ratkaistu")
    assert row.resolved_at == clock.now
    row = requests.set_status(row.id, row.version, "suljettu")
    assert row.closed_at == clock.now and row.resolved_at is not None
    row = requests.set_status(row.id, row.version, "käsittelyssä")  # reopened
    assert row.resolved_at is None and row.closed_at is None


def test_escalate_sets_the_ticket_and_status(store: Store) -> None:
    requests = service(store)
    row = requests.create("Työjono ei toimi")
    row = requests.escalate(row.id, row.version, " DF-12345 ")
    assert (row.status, row.digifinland_ticket) == ("odottaa DigiFinlandia", "DF-12345")
    with pytest.raises(rules.RuleError):
        requests.escalate(row.id, row.version, "  ")


# --- conflicts -----------------------------------------------------------------------------------


def test_two_instances_with_the_same_version_conflict(store: Store) -> None:
    assert store.path is not None
    other_store = open_store(f"sqlite:///{store.path}")
    try:
        mine, theirs = service(store), service(other_store, actor="Jari Pesonen")
        row = mine.create("Tunnukset")
        seen_by_both = row.version
        theirs.set_priority(row.id, seen_by_both, 1)
        with pytest.raises(db.Conflict) as caught:
            mine.set_priority(row.id, seen_by_both, 4)
        conflict = caught.value
        assert conflict.changed_by == "Jari Pesonen"
        assert conflict.current.priority == 1
        by_field = {f.field: (f.mine, f.theirs) for f in conflict.fields}
        assert by_field["priority"] == (4, 1)
        assert "OMA-2026-0001" in conflict.what
        # Nothing was overwritten; with the new version the change goes through.
        assert mine.get(row.id).priority == 1  # type: ignore[union-attr]
        assert mine.set_priority(row.id, conflict.current.version, 4).priority == 4
    finally:
        other_store.dispose()


def test_a_note_never_conflicts_and_bumps_no_version(store: Store) -> None:
    requests = service(store)
    row = requests.create("Tunnukset")
    requests.add_note(row.id, "Soitettu, ei vastausta")
    after = requests.get(row.id)
    assert after is not None and after.version == row.version
    assert [e.text for e in events_of(store, row.id) if e.kind == "note"] == ["Soitettu, ei vastausta"]
    with pytest.raises(rules.RuleError):
        requests.add_note(row.id, "   ")


# --- merge ---------------------------------------------------------------------------------------


def test_merge_moves_links_and_events_and_closes_the_duplicate(store: Store) -> None:
    requests = service(store)
    survivor = requests.create("Tunnukset", mail=[(1, "manual"), (3, "manual")])
    duplicate = requests.create("Tunnukset (uudelleen)", mail=[(2, "header"), (3, "subject_tag")])
    requests.add_note(duplicate.id, "Sama asia")
    moved_events = {e.id for e in events_of(store, duplicate.id)}
    source, target = requests.merge(
        Selected(duplicate.id, duplicate.version), Selected(survivor.id, survivor.version)
    )
    assert source.status == "suljettu" and source.merged_into_id == survivor.id
    assert source.closed_at is not None
    assert target.version == survivor.version + 1
    assert links_of(store, survivor.id) == {1, 2, 3}
    assert links_of(store, duplicate.id) == set()
    survivor_events = {e.id for e in events_of(store, survivor.id)}
    assert moved_events <= survivor_events
    merge_in = [e for e in events_of(store, survivor.id) if e.kind == "merge_in"]
    assert len(merge_in) == 1 and merge_in[0].old == duplicate.reference
    closing = {e.field for e in events_of(store, duplicate.id)}
    assert {"status", "merged_into_id", "closed_at"} <= closing
    with store.session() as session:
        actions = session.exec(select(RequestAction).where(RequestAction.kind == "merge")).all()
    assert len(actions) == 1  # one undo step


def test_merge_with_a_stale_version_changes_nothing(store: Store) -> None:
    requests = service(store)
    survivor = requests.create("A", mail=[(1, "manual")])
    duplicate = requests.create("B", mail=[(2, "manual")])
    requests.set_priority(duplicate.id, duplicate.version, 2)
    with pytest.raises(db.Conflict):
        requests.merge(Selected(duplicate.id, duplicate.version), Selected(survivor.id, survivor.version))
    assert links_of(store, duplicate.id) == {2}
    assert requests.get(duplicate.id).status == "uusi"  # type: ignore[union-attr]


def test_merge_into_itself_is_refused(store: Store) -> None:
    requests = service(store)
    row = requests.create("A")
    with pytest.raises(db.StoreError, match="itself"):
        requests.merge(Selected(row.id, row.version), Selected(row.id, row.version))


# --- bulk ----------------------------------------------------------------------------------------


def test_bulk_change_is_one_transaction_and_one_action(store: Store) -> None:
    requests = service(store)
    rows = [requests.create(f"Pyyntö {n}") for n in range(3)]
    changed = requests.bulk([Selected(r.id, r.version) for r in rows], "category", "muu")
    assert [r.category for r in changed] == ["muu"] * 3
    with store.session() as session:
        bulk = session.exec(select(RequestAction).where(RequestAction.kind == "bulk")).one()
        events = session.exec(select(RequestEvent).where(RequestEvent.action_id == bulk.id)).all()
    assert {e.request_id for e in events} == {r.id for r in rows}


def test_bulk_with_one_stale_row_writes_nothing(store: Store) -> None:
    requests = service(store)
    rows = [requests.create(f"Pyyntö {n}") for n in range(3)]
    requests.set_priority(rows[1].id, rows[1].version, 1)  # someone changed the middle one
    with pytest.raises(db.BulkConflict) as caught:
        requests.bulk([Selected(r.id, r.version) for r in rows], "priority", 4)
    assert [c.current.reference for c in caught.value.conflicts] == [rows[1].reference]
    assert [requests.get(r.id).priority for r in rows] == [None, 1, None]  # type: ignore[union-attr]


# --- undo ----------------------------------------------------------------------------------------


def snapshot(store: Store, request_id: int) -> dict[str, Any]:
    row = db.get_request(store, request_id)
    assert row is not None
    values = {name: db.to_text(row.value(name)) for name in db.FIELDS}
    values["links"] = sorted(links_of(store, request_id))
    values["events"] = sorted(
        (e.id, e.kind, e.field, e.old, e.new, e.text)
        for e in events_of(store, request_id)
        if e.kind != "note"
    )
    return values


def test_undo_a_change(store: Store) -> None:
    requests = service(store)
    row = requests.create("A")
    before = db.get_request(store, row.id)
    assert before is not None
    requests.set_priority(row.id, row.version, 1)
    result = requests.undo()
    assert result is not None and result.request_ids == [row.id]
    after = requests.get(row.id)
    assert after is not None
    assert (after.priority, after.due_at) == (before.priority, before.due_at)
    assert after.version == before.version + 2  # the change and its undo are both in the history
    undo_events = [e for e in events_of(store, row.id) if e.field == "priority"]
    assert [(e.old, e.new) for e in undo_events] == [("", "1"), ("1", "")]


def test_undo_goes_back_step_by_step(store: Store) -> None:
    requests = service(store)
    row = requests.create("A")
    row = requests.set_priority(row.id, row.version, 1)
    row = requests.set_category(row.id, row.version, "muu")
    requests.undo()
    assert requests.get(row.id).category == ""  # type: ignore[union-attr]
    requests.undo()
    assert requests.get(row.id).priority is None  # type: ignore[union-attr]
    requests.undo()  # the creation
    assert requests.get(row.id) is None
    assert requests.undo() is None  # nothing left


def test_undo_escalation(store: Store) -> None:
    requests = service(store)
    row = requests.set_status(*_new(requests), "käsittelyssä")
    requests.escalate(row.id, row.version, "DF-1")
    requests.undo()
    after = requests.get(row.id)
    assert after is not None and (after.status, after.digifinland_ticket) == ("käsittelyssä", "")


def _new(requests: RequestService) -> tuple[int, int]:
    row = requests.create("A")
    return row.id, row.version


def test_undo_a_note_keeps_its_text_in_the_history(store: Store) -> None:
    requests = service(store)
    row = requests.create("A")
    requests.add_note(row.id, "Väärä pyyntö")
    requests.undo()
    kinds = [(e.kind, e.text) for e in events_of(store, row.id)]
    assert ("note", "Väärä pyyntö") not in kinds
    assert ("note_removed", "Väärä pyyntö") in kinds


def test_undo_a_bulk_change(store: Store) -> None:
    requests = service(store)
    rows = [requests.create(f"Pyyntö {n}") for n in range(3)]
    requests.bulk([Selected(r.id, r.version) for r in rows], "status", "ratkaistu")
    result = requests.undo()
    assert result is not None and sorted(result.request_ids) == sorted(r.id for r in rows)
    for row in rows:
        after = requests.get(row.id)
        assert after is not None
        assert (after.status, after.resolved_at, after.first_response_at) == ("uusi", None, None)


def test_undo_a_merge_puts_everything_back(store: Store) -> None:
    requests = service(store)
    survivor = requests.create("A", mail=[(1, "manual"), (3, "manual")])
    duplicate = requests.create("B", mail=[(2, "header"), (3, "subject_tag")])
    requests.add_note(duplicate.id, "Sama asia")
    before = {survivor.id: snapshot(store, survivor.id), duplicate.id: snapshot(store, duplicate.id)}
    notes_before = [e.id for e in events_of(store, duplicate.id) if e.kind == "note"]
    requests.merge(Selected(duplicate.id, duplicate.version), Selected(survivor.id, survivor.version))
    requests.undo()
    for request_id, values in before.items():
        now = snapshot(store, request_id)
        assert now["links"] == values["links"]
        assert {k: v for k, v in now.items() if k not in ("events",)} == {
            k: v for k, v in values.items() if k not in ("events",)
        }
        assert set(values["events"]) <= set(now["events"])  # the history is back, with the undo on top
    assert [e.id for e in events_of(store, duplicate.id) if e.kind == "note"] == notes_before
    with store.session() as session:
        reason = session.get(RequestMail, (duplicate.id, 3))
    assert reason is not None and reason.reason == "subject_tag"


def test_undo_refuses_what_was_changed_since(store: Store) -> None:
    assert store.path is not None
    other_store = open_store(f"sqlite:///{store.path}")
    try:
        mine, theirs = service(store), service(other_store, actor="Jari Pesonen")
        row = mine.create("A")
        row = mine.set_category(row.id, row.version, "muu")
        theirs.set_category(row.id, row.version, "käyttöoikeus")
        with pytest.raises(db.CannotUndo, match="category"):
            mine.undo()
        assert mine.get(row.id).category == "käyttöoikeus"  # type: ignore[union-attr]
    finally:
        other_store.dispose()


def test_undo_is_per_person(store: Store) -> None:
    mine, theirs = service(store), service(store, actor="Jari Pesonen")
    a = mine.create("A")
    mine.set_priority(a.id, a.version, 2)
    b = theirs.create("B")
    result = mine.undo()  # my priority change, not their newer creation
    assert result is not None and result.request_ids == [a.id]
    assert mine.get(a.id).priority is None  # type: ignore[union-attr]
    assert theirs.get(b.id) is not None
    last = theirs.last_action()
    assert last is not None and last.kind == "create"


def test_undo_of_a_created_request_that_changed_is_refused(store: Store) -> None:
    mine, theirs = service(store), service(store, actor="Jari Pesonen")
    row = mine.create("A")
    theirs.set_priority(row.id, row.version, 2)
    with pytest.raises(db.CannotUndo):
        mine.undo()
    assert mine.get(row.id) is not None


# --- saved views ---------------------------------------------------------------------------------


def _expected_counts(store: Store, me: str, now: datetime) -> dict[str, int]:
    with store.session() as session:
        rows = session.exec(select(db_model())).all()

    def aware(moment: datetime | None) -> datetime | None:
        return None if moment is None else moment.replace(tzinfo=UTC)

    open_ = [r for r in rows if r.status in rules.OPEN]
    recent = now - db.RECENTLY
    return {
        "untriaged": sum(1 for r in rows if r.status == "uusi" and r.merged_into_id is None),
        "mine": sum(1 for r in open_ if r.assignee == me),
        "overdue": sum(
            1
            for r in rows
            if r.status in rules.CLOCK_RUNNING and r.due_at and aware(r.due_at) < now  # type: ignore[operator]
        ),
        "waiting_vendor": sum(1 for r in rows if r.status == "odottaa DigiFinlandia"),
        "open": len(open_),
        "closed_recently": sum(
            1
            for r in rows
            if r.status in ("ratkaistu", "suljettu")
            and (aware(r.closed_at or r.resolved_at) or now) >= recent
            and (r.closed_at or r.resolved_at) is not None
        ),
    }


def db_model():  # type: ignore[no-untyped-def]
    from store.models import ServiceRequest

    return ServiceRequest


def test_saved_view_counts_on_the_demo(demo_store: Store) -> None:
    counts = db.view_counts(demo_store, me=ME, now=FIXED_NOW)
    assert counts == _expected_counts(demo_store, ME, FIXED_NOW)
    # The demo is built so that every view has something in it.
    assert all(count > 0 for count in counts.values()), counts


@pytest.mark.parametrize("sort", ["due", "priority", "updated"])
@pytest.mark.parametrize("view", db.VIEWS)
def test_windows_page_through_a_view_exactly_once(demo_store: Store, view: db.ViewName, sort: str) -> None:
    total = db.view_counts(demo_store, me=ME, now=FIXED_NOW)[view]
    seen: list[int] = []
    after = None
    while True:
        window = db.view_window(demo_store, view, me=ME, now=FIXED_NOW, sort=sort, after=after, limit=7)  # type: ignore[arg-type]
        seen.extend(row.id for row in window.rows)
        if not window.more:
            break
        after = window.after
    assert len(seen) == len(set(seen)) == total
    everything = db.view_window(demo_store, view, me=ME, now=FIXED_NOW, sort=sort, limit=10_000)  # type: ignore[arg-type]
    assert [row.id for row in everything.rows] == seen


def test_window_sorted_by_priority_puts_untriaged_first(demo_store: Store) -> None:
    rows = db.view_window(demo_store, "open", me=ME, now=FIXED_NOW, sort="priority", limit=10_000).rows
    priorities = [0 if r.priority is None else r.priority for r in rows]
    assert priorities == sorted(priorities) and priorities[0] == 0


def test_window_filters_by_typed_text(demo_store: Store) -> None:
    rows = db.view_window(demo_store, "open", me=ME, now=FIXED_NOW, match="työjo", limit=10_000).rows
    assert rows
    for row in rows:
        text = " ".join((row.title, row.reference)).lower()
        full = db.get_request(demo_store, row.id)
        assert full is not None
        assert "työjo" in (text + " " + full.description.lower())
    assert db.view_window(demo_store, "open", me=ME, now=FIXED_NOW, match="***").rows == []


# --- figures -------------------------------------------------------------------------------------


def test_figures_on_known_data(store: Store) -> None:
    clock = Clock(datetime(2026, 10, 5, 7, 0, tzinfo=UTC))  # Monday 5.10. 10.00
    requests = service(store, clock)
    with store.session() as session:
        unit_id = session.exec(select(Unit.id)).one()
    # Four requests in October, one in November; response after 1, 2, 3 h; resolution after 1, 3 days.
    made = []
    for hours, category in ((1, "muu"), (2, "käyttöoikeus"), (3, "muu")):
        row = requests.create(f"Loka {hours}", category=category, priority=3, unit_id=unit_id)
        clock.advance(hours=hours)
        row = requests.set_status(row.id, row.version, "käsittelyssä")
        made.append(row)
        clock.now = datetime(2026, 10, 5, 7, 0, tzinfo=UTC)
    clock.now = datetime(2026, 10, 6, 7, 0, tzinfo=UTC)
    requests.set_status(made[0].id, requests.get(made[0].id).version, "ratkaistu")  # type: ignore[union-attr]
    clock.now = datetime(2026, 10, 8, 7, 0, tzinfo=UTC)
    requests.set_status(made[1].id, requests.get(made[1].id).version, "ratkaistu")  # type: ignore[union-attr]
    clock.now = datetime(2026, 10, 20, 7, 0, tzinfo=UTC)
    requests.create("Loka ilman vastausta")  # no unit, untriaged, overdue by November
    clock.now = datetime(2026, 11, 2, 7, 0, tzinfo=UTC)
    requests.create("Marras", category="muu", priority=4)
    clock.now = datetime(2026, 11, 25, 7, 0, tzinfo=UTC)

    figures = requests.figures(date(2026, 10, 1), date(2026, 11, 30))
    assert figures.total == 5
    assert figures.per_month == [("2026-10", 4), ("2026-11", 1)]
    assert figures.per_category == [("muu", 3), ("", 1), ("käyttöoikeus", 1)]
    assert figures.per_unit == [("Limingan terveysasema", 3), ("", 2)]
    assert figures.median_first_response == timedelta(hours=2)
    assert figures.median_resolution == timedelta(days=2)  # 1 and 3 days
    # Overdue: the untriaged October one (due in a day), and the third (P3 = 5 working days, open).
    assert (figures.overdue, figures.with_due) == (2, 5)
    assert figures.overdue_share == pytest.approx(0.4)
    assert figures.open == 3

    by_unit = requests.figures(date(2026, 10, 1), date(2026, 11, 30), unit_id=unit_id)
    assert by_unit.total == 3 and by_unit.per_unit == [("Limingan terveysasema", 3)]
    assert requests.figures(date(2026, 9, 1), date(2026, 9, 30)).median_resolution is None


def test_figures_leave_merged_duplicates_out(store: Store) -> None:
    requests = service(store)
    a, b = requests.create("A"), requests.create("B")
    requests.merge(Selected(b.id, b.version), Selected(a.id, a.version))
    assert requests.figures(date(2026, 11, 1), date(2026, 11, 30)).total == 1


def test_merge_record_is_json(store: Store) -> None:
    requests = service(store)
    a, b = requests.create("A"), requests.create("B", mail=[(2, "manual")])
    requests.merge(Selected(b.id, b.version), Selected(a.id, a.version))
    record = next(e for e in events_of(store, a.id) if e.kind == "merge_in")
    data = json.loads(record.new)
    assert data["source"] == b.id and [m[0] for m in data["mail"]] == [2]


def test_two_instances_creating_at_once_never_share_a_reference(store: Store) -> None:
    import threading

    assert store.path is not None
    stores = [store, open_store(f"sqlite:///{store.path}")]
    made: list[str] = []
    errors: list[BaseException] = []

    def create_many(instance: Store, name: str) -> None:
        try:
            requests = service(instance, actor=name)
            for number in range(15):
                made.append(requests.create(f"{name} {number}").reference)
        except BaseException as error:  # reported below, with the thread's error
            errors.append(error)

    threads = [threading.Thread(target=create_many, args=(s, f"instance {i}")) for i, s in enumerate(stores)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stores[1].dispose()
    assert errors == []
    assert sorted(made) == [f"OMA-2026-{n:04d}" for n in range(1, 31)]


def test_figures_count_months_in_helsinki_time(store: Store) -> None:
    clock = Clock(datetime(2026, 10, 31, 21, 30, tzinfo=UTC))  # 31.10. 23.30 in Helsinki (UTC+2)
    requests = service(store, clock)
    requests.create("Lokakuun viimeinen")
    clock.now = datetime(2026, 10, 31, 22, 30, tzinfo=UTC)  # 1.11. 0.30 in Helsinki
    requests.create("Marraskuun ensimmäinen")
    figures = requests.figures(date(2026, 10, 1), date(2026, 11, 30))
    assert figures.per_month == [("2026-10", 1), ("2026-11", 1)]
    assert requests.figures(date(2026, 11, 1), date(2026, 11, 1)).total == 1
