"""Onboarding checklists: template versions, runs and their items — every read and write of those tables.

A template is a family of versions; editing makes a new version and the runs keep the version they
were started from (their items are copies). Ticking an item and completing its run happen in one
transaction with the directory change that completion brings (a role given, a person marked left).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import TYPE_CHECKING

from store.directory import add_role
from store.models import (
    ChecklistRun,
    ChecklistRunItem,
    ChecklistTemplate,
    ChecklistTemplateItem,
    Person,
    utcnow,
)
from store.queries import parse_sql_time, reader

if TYPE_CHECKING:
    from sqlmodel import Session

    from store.engine import Store


@dataclass(frozen=True)
class ItemSpec:
    """A template item: who does it, and when, as working days from the start (negative = before)."""

    text: str
    who: str
    offset: int
    link: str = ""


@dataclass(frozen=True)
class TemplateRow:
    id: int
    family: str
    version: int
    name: str
    kind: str  # onboarding or offboarding
    is_current: bool
    items: tuple[ItemSpec, ...]


@dataclass(frozen=True)
class RunRow:
    id: int
    person_id: int
    person_name: str
    template_name: str
    template_version: int
    kind: str
    start_date: date
    status: str  # open, done, cancelled
    done: int
    total: int
    overdue: int  # items not done whose due date has passed
    completed_at: datetime | None


@dataclass(frozen=True)
class RunItemRow:
    id: int
    run_id: int
    position: int
    text: str
    who: str
    due_on: date | None
    link: str
    done_at: datetime | None
    done_by: str
    note: str
    request_id: int | None
    request_reference: str = ""  # the linked request's OMA-YYYY-NNNN, when there is one


@dataclass(frozen=True)
class Toggled:
    """What ticking an item did: the item now, and whether its run was completed or reopened by it."""

    item: RunItemRow
    run_status: str
    completed: bool
    reopened: bool


def _day(value: object) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


# --- templates ---------------------------------------------------------------------------------


def _items_of(session: Session, template_id: int) -> tuple[ItemSpec, ...]:
    from sqlmodel import col, select

    rows = session.exec(
        select(ChecklistTemplateItem)
        .where(ChecklistTemplateItem.template_id == template_id)
        .order_by(col(ChecklistTemplateItem.position))
    ).all()
    return tuple(ItemSpec(row.text, row.who, row.due_offset_days, row.link) for row in rows)


def _template_row(session: Session, row: ChecklistTemplate) -> TemplateRow:
    assert row.id is not None
    return TemplateRow(
        row.id, row.family, row.version, row.name, row.kind, row.is_current, _items_of(session, row.id)
    )


def _add_items(session: Session, template_id: int, items: Sequence[ItemSpec]) -> None:
    for position, item in enumerate(items, start=1):
        session.add(
            ChecklistTemplateItem(
                template_id=template_id,
                position=position,
                text=item.text,
                who=item.who,
                due_offset_days=item.offset,
                link=item.link,
            )
        )


def ensure_template(store: Store, family: str, name: str, kind: str, items: Sequence[ItemSpec]) -> bool:
    """Seed a template family if the store has no version of it; True if it was added."""
    from sqlmodel import select

    with store.session() as session:
        if session.exec(select(ChecklistTemplate.id).where(ChecklistTemplate.family == family)).first():
            return False
        template = ChecklistTemplate(family=family, version=1, name=name, kind=kind, is_current=True)
        session.add(template)
        session.flush()
        assert template.id is not None
        _add_items(session, template.id, items)
        return True


def current_templates(store: Store) -> list[TemplateRow]:
    from sqlmodel import col, select

    with store.session() as session:
        rows = session.exec(
            select(ChecklistTemplate)
            .where(col(ChecklistTemplate.is_current))
            .order_by(col(ChecklistTemplate.name))
        ).all()
        return [_template_row(session, row) for row in rows]


def template(store: Store, template_id: int) -> TemplateRow | None:
    with store.session() as session:
        row = session.get(ChecklistTemplate, template_id)
        return None if row is None else _template_row(session, row)


def new_version(store: Store, family: str, name: str, items: Sequence[ItemSpec]) -> int:
    """Save an edited template as its family's next version; runs already started keep theirs."""
    from sqlalchemy import func
    from sqlmodel import col, select

    with store.session() as session:
        latest = session.exec(
            select(ChecklistTemplate)
            .where(ChecklistTemplate.family == family)
            .order_by(col(ChecklistTemplate.version).desc())
        ).first()
        if latest is None:
            raise KeyError(family)
        highest = session.exec(
            select(func.max(ChecklistTemplate.version)).where(ChecklistTemplate.family == family)
        ).one()
        for row in session.exec(
            select(ChecklistTemplate).where(
                ChecklistTemplate.family == family, col(ChecklistTemplate.is_current)
            )
        ).all():
            row.is_current = False
            session.add(row)
        created = ChecklistTemplate(
            family=family, version=int(highest or 0) + 1, name=name, kind=latest.kind, is_current=True
        )
        session.add(created)
        session.flush()
        assert created.id is not None
        _add_items(session, created.id, items)
        return created.id


# --- runs --------------------------------------------------------------------------------------


def start_run(
    store: Store,
    template_id: int,
    person_id: int,
    start_date: date,
    items: Sequence[tuple[ItemSpec, date | None]],
    *,
    now: datetime | None = None,
    request_id: int | None = None,
    request_items: Collection[int] = (),
) -> int:
    """A run of a template version for a person, its items copied with their due dates.

    ``request_items`` (positions, from 1) are linked to the request ``request_id``: the request the
    run was started from, e.g. on its access-rights items."""
    moment = now or utcnow()
    with store.session() as session:
        if session.get(Person, person_id) is None:
            raise KeyError(person_id)
        run = ChecklistRun(
            template_id=template_id, person_id=person_id, start_date=start_date, created_at=moment
        )
        session.add(run)
        session.flush()
        assert run.id is not None
        for position, (item, due_on) in enumerate(items, start=1):
            session.add(
                ChecklistRunItem(
                    run_id=run.id,
                    position=position,
                    text=item.text,
                    who=item.who,
                    due_on=due_on,
                    link=item.link,
                    request_id=request_id if position in request_items else None,
                )
            )
        return run.id


def runs(store: Store, today: date) -> list[RunRow]:
    """Open runs (earliest start first), then finished ones (latest first)."""
    sql = """
        SELECT r.id, r.person_id, p.name, t.name, t.version, t.kind, r.start_date, r.status,
               (SELECT count(*) FROM checklist_run_item i WHERE i.run_id = r.id AND i.done_at IS NOT NULL),
               (SELECT count(*) FROM checklist_run_item i WHERE i.run_id = r.id),
               (SELECT count(*) FROM checklist_run_item i
                 WHERE i.run_id = r.id AND i.done_at IS NULL AND i.due_on < :today),
               r.completed_at
        FROM checklist_run r
        JOIN person p ON p.id = r.person_id
        JOIN checklist_template t ON t.id = r.template_id
    """
    with reader(store) as read:
        rows = read.rows(sql, {"today": today.isoformat()})
    result = [
        RunRow(
            id=int(row[0]),
            person_id=int(row[1]),
            person_name=str(row[2]),
            template_name=str(row[3]),
            template_version=int(row[4]),
            kind=str(row[5]),
            start_date=_day(row[6]) or today,
            status=str(row[7]),
            done=int(row[8]),
            total=int(row[9]),
            overdue=int(row[10]) if row[7] == "open" else 0,
            completed_at=parse_sql_time(row[11]),
        )
        for row in rows
    ]
    open_runs = sorted((r for r in result if r.status == "open"), key=lambda r: (r.start_date, r.id))
    closed = sorted(
        (r for r in result if r.status != "open"), key=lambda r: (r.start_date, r.id), reverse=True
    )
    return open_runs + closed


def _item_row(item: ChecklistRunItem) -> RunItemRow:
    assert item.id is not None
    done_at = item.done_at
    if done_at is not None and done_at.tzinfo is None:
        done_at = parse_sql_time(done_at)
    return RunItemRow(
        item.id,
        item.run_id,
        item.position,
        item.text,
        item.who,
        item.due_on,
        item.link,
        done_at,
        item.done_by,
        item.note,
        item.request_id,
    )


def run_items(store: Store, run_id: int) -> list[RunItemRow]:
    from sqlmodel import col, select

    with store.session() as session:
        rows = session.exec(
            select(ChecklistRunItem)
            .where(ChecklistRunItem.run_id == run_id)
            .order_by(col(ChecklistRunItem.due_on), col(ChecklistRunItem.position))
        ).all()
        items = [_item_row(row) for row in rows]
    linked = {item.request_id for item in items if item.request_id is not None}
    if not linked:
        return items
    with reader(store) as read:
        names = {f"r{i}": request_id for i, request_id in enumerate(sorted(linked))}
        wanted = ", ".join(f":{name}" for name in names)
        references = {
            int(row[0]): str(row[1])
            for row in read.rows(f"SELECT id, reference FROM service_request WHERE id IN ({wanted})", names)
        }
    return [
        replace(item, request_reference=references.get(item.request_id, ""))
        if item.request_id is not None
        else item
        for item in items
    ]


def set_done(
    store: Store,
    item_id: int,
    done: bool,
    *,
    by: str,
    now: datetime | None = None,
    completion_role: str = "vastuukäyttäjä",
) -> Toggled:
    """Tick an item done (who, when) or not done. The last item ticked completes the run: an
    onboarding makes the person an active ``completion_role``, an offboarding marks them left.
    Unticking an item of a completed run opens it again (a role given stays)."""
    from sqlmodel import select

    moment = now or utcnow()
    with store.session() as session:
        item = session.get(ChecklistRunItem, item_id)
        if item is None:
            raise KeyError(item_id)
        run = session.get(ChecklistRun, item.run_id)
        assert run is not None and run.id is not None
        item.done_at = moment if done else None
        item.done_by = by if done else ""
        session.add(item)
        session.flush()
        left = session.exec(
            select(ChecklistRunItem.id).where(
                ChecklistRunItem.run_id == run.id,
                ChecklistRunItem.done_at == None,  # noqa: E711
            )
        ).all()
        completed = reopened = False
        if not left and run.status == "open":
            run.status = "done"
            run.completed_at = moment
            completed = True
            kind = session.get(ChecklistTemplate, run.template_id)
            if kind is not None and kind.kind == "offboarding":
                person = session.get(Person, run.person_id)
                if person is not None:
                    person.active = False
                    person.left_on = moment.date()
                    person.updated_at = moment
                    session.add(person)
            else:
                add_role(session, run.person_id, completion_role, now=moment)
        elif left and run.status == "done":
            run.status = "open"
            run.completed_at = None
            reopened = True
        session.add(run)
        return Toggled(_item_row(item), run.status, completed, reopened)


def set_note(store: Store, item_id: int, note: str) -> RunItemRow:
    with store.session() as session:
        item = session.get(ChecklistRunItem, item_id)
        if item is None:
            raise KeyError(item_id)
        item.note = note
        session.add(item)
        return _item_row(item)


def overdue_items(store: Store, today: date) -> int:
    """Items of open runs not done by their due date (the Today screen counts due-and-not-done)."""
    with reader(store) as read:
        rows = read.rows(
            "SELECT count(*) FROM checklist_run_item i JOIN checklist_run r ON r.id = i.run_id "
            "WHERE r.status = 'open' AND i.done_at IS NULL AND i.due_on < :today",
            {"today": today.isoformat()},
        )
    return int(rows[0][0])
