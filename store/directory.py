"""The network directory: units, people and lists — every read and write of those tables.

Reads go through the plain sqlite3 reader (the Network screen opens on 5,000 people without the ORM);
writes go through one session each, so an import of many rows is one transaction.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from store.queries import Reader, reader

if TYPE_CHECKING:
    from sqlmodel import Session

    from store.engine import Store
    from store.models import Person


@dataclass(frozen=True)
class ServiceRow:
    service: str
    deployed_on: date | None


@dataclass(frozen=True)
class UnitRow:
    id: int
    name: str
    area: str
    code: str
    services: tuple[ServiceRow, ...] = ()


@dataclass(frozen=True)
class PersonRow:
    id: int
    name: str
    email: str
    phone: str
    unit_id: int | None
    roles: tuple[str, ...]
    language: str
    active: bool
    left_on: date | None


@dataclass(frozen=True)
class ListRow:
    id: int
    name: str
    description: str
    rule: str  # JSON rule text; "" = a static list
    bilingual: bool
    member_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class Directory:
    """The whole directory as plain objects, in name order."""

    units: list[UnitRow] = field(default_factory=list)
    people: list[PersonRow] = field(default_factory=list)
    lists: list[ListRow] = field(default_factory=list)

    def unit_by_id(self) -> dict[int, UnitRow]:
        return {unit.id: unit for unit in self.units}


@dataclass(frozen=True)
class PersonValues:
    """What a person's row holds, as a form or an import row gives it (already validated)."""

    name: str
    email: str
    phone: str = ""
    unit_id: int | None = None
    roles: tuple[str, ...] = ()
    language: str = "fi"
    active: bool = True
    left_on: date | None = None


def _day(value: Any) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


@lru_cache(maxsize=4096)
def _roles(text: Any) -> tuple[str, ...]:
    # Cached: thousands of people share a handful of role lists.
    try:
        values = json.loads(text or "[]")
    except ValueError:
        return ()
    return tuple(str(value) for value in values) if isinstance(values, list) else ()


def _units(read: Reader) -> list[UnitRow]:
    services: dict[int, list[ServiceRow]] = {}
    for unit_id, service, deployed_on in read.rows(
        "SELECT unit_id, service, deployed_on FROM unit_service ORDER BY unit_id, service"
    ):
        services.setdefault(int(unit_id), []).append(ServiceRow(str(service), _day(deployed_on)))
    return [
        UnitRow(
            int(row[0]),
            str(row[1]),
            str(row[2] or ""),
            str(row[3] or ""),
            tuple(services.get(row[0], ())),
        )
        for row in read.rows("SELECT id, name, area, code FROM unit ORDER BY id")
    ]


def load_units(store: Store) -> list[UnitRow]:
    """The units with their services, in name order (the meeting schedule needs no people)."""
    with reader(store) as read:
        units = _units(read)
    units.sort(key=lambda unit: unit.name.casefold())
    return units


def person(store: Store, person_id: int) -> PersonRow | None:
    """One person of the directory (left or active), or None."""
    with reader(store) as read:
        rows = read.rows(
            "SELECT id, name, email, phone, unit_id, roles, language, active, left_on"
            " FROM person WHERE id = :id",
            {"id": person_id},
        )
    return _person_row(rows[0]) if rows else None


def _person_row(row: Sequence[Any]) -> PersonRow:
    return PersonRow(
        id=int(row[0]),
        name=str(row[1]),
        email=str(row[2]),
        phone=str(row[3] or ""),
        unit_id=None if row[4] is None else int(row[4]),
        roles=_roles(row[5]),
        language=str(row[6] or "fi"),
        active=bool(row[7]),
        left_on=_day(row[8]) if row[8] else None,
    )


@dataclass(frozen=True)
class FirstPeople:
    """The first rows of the people in name order, read before the whole directory is."""

    people: list[PersonRow]
    unit_names: dict[int, str]  # of the units of these people
    total: int  # how many people there are


def first_people(store: Store, limit: int) -> FirstPeople:
    """The first ``limit`` people by name (with their units' names) and the number of people: two
    index reads of a few milliseconds, for the Network screen's first paint. SQLite's NOCASE folds
    ASCII only, so a few more rows are read and sorted as load_directory sorts them."""
    with reader(store) as read:
        rows = read.rows(
            "SELECT id, name, email, phone, unit_id, roles, language, active, left_on"
            " FROM person ORDER BY name COLLATE NOCASE, id LIMIT :limit",
            {"limit": limit * 2},
        )
        people = sorted((_person_row(row) for row in rows), key=lambda person: person.name.casefold())[:limit]
        unit_ids = sorted({person.unit_id for person in people if person.unit_id is not None})
        names = {f"u{i}": unit_id for i, unit_id in enumerate(unit_ids)}
        wanted = ", ".join(f":{name}" for name in names)
        unit_names = {
            int(row[0]): str(row[1])
            for row in (
                read.rows(f"SELECT id, name FROM unit WHERE id IN ({wanted})", names) if names else []
            )
        }
        total = int(read.rows("SELECT count(*) FROM person")[0][0] or 0)
    return FirstPeople(people, unit_names, total)


def load_directory(store: Store) -> Directory:
    """Units with their services, people and lists with their static members, each in name order."""
    with reader(store) as read:
        units = _units(read)
        people = [
            PersonRow(
                id=int(row[0]),
                name=str(row[1]),
                email=str(row[2]),
                phone=str(row[3] or ""),
                unit_id=None if row[4] is None else int(row[4]),
                roles=_roles(row[5]),
                language=str(row[6] or "fi"),
                active=bool(row[7]),
                left_on=_day(row[8]) if row[8] else None,
            )
            for row in read.rows(
                "SELECT id, name, email, phone, unit_id, roles, language, active, left_on"
                " FROM person ORDER BY id"
            )
        ]
        members: dict[int, list[int]] = {}
        for list_id, person_id in read.rows("SELECT list_id, person_id FROM list_member"):
            members.setdefault(int(list_id), []).append(int(person_id))
        lists = [
            ListRow(
                int(row[0]),
                str(row[1]),
                str(row[2] or ""),
                str(row[3] or ""),
                bool(row[4]),
                tuple(members.get(row[0], ())),
            )
            for row in read.rows(
                "SELECT id, name, description, rule, bilingual FROM mailing_list ORDER BY id"
            )
        ]
    # Python sorts, not SQLite: its NOCASE folds ASCII only, and Finnish names have Ä and Ö.
    # The rows come in id order and the sort is stable: equal names stay in id order.
    units.sort(key=lambda unit: unit.name.casefold())
    people.sort(key=lambda person: person.name.casefold())
    lists.sort(key=lambda info: info.name.casefold())
    return Directory(units, people, lists)


def _write(person: Person, values: PersonValues, now: datetime) -> None:
    person.name = values.name
    person.email = values.email
    person.phone = values.phone
    person.unit_id = values.unit_id
    person.roles = json.dumps(list(values.roles), ensure_ascii=False)
    person.language = values.language
    person.active = values.active
    person.left_on = None if values.active else values.left_on
    person.updated_at = now


def add_person(store: Store, values: PersonValues, *, now: datetime | None = None) -> int:
    from store.models import Person, utcnow

    moment = now or utcnow()
    with store.session() as session:
        person = Person(name=values.name, email=values.email, created_at=moment)
        _write(person, values, moment)
        session.add(person)
        session.flush()
        assert person.id is not None
        return person.id


def update_person(store: Store, person_id: int, values: PersonValues, *, now: datetime | None = None) -> bool:
    """False when the person is no longer in the store (nothing written)."""
    from store.models import Person, utcnow

    with store.session() as session:
        person = session.get(Person, person_id)
        if person is None:
            return False
        _write(person, values, now or utcnow())
        return True


def set_active(store: Store, person_id: int, active: bool, *, on: date, now: datetime | None = None) -> bool:
    """Mark a person left on ``on`` (kept for history, out of every list) or active again."""
    from store.models import Person, utcnow

    with store.session() as session:
        person = session.get(Person, person_id)
        if person is None:
            return False
        person.active = active
        person.left_on = None if active else on
        person.updated_at = now or utcnow()
        return True


def apply_people(
    store: Store,
    adds: Sequence[PersonValues],
    updates: Sequence[tuple[int, PersonValues]],
    *,
    now: datetime | None = None,
) -> tuple[int, int]:
    """An import's rows in one transaction: all of them or, on a failure, none. (added, changed)."""
    from store.models import Person, utcnow

    moment = now or utcnow()
    changed = 0
    with store.session() as session:
        for values in adds:
            person = Person(name=values.name, email=values.email, created_at=moment)
            _write(person, values, moment)
            session.add(person)
        wanted = dict(updates)
        if wanted:
            from sqlmodel import col, select

            ids = list(wanted)
            # In chunks: SQLite limits the number of parameters of one statement.
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                for person in session.exec(select(Person).where(col(Person.id).in_(chunk))).all():
                    assert person.id is not None
                    _write(person, wanted[person.id], moment)
                    changed += 1
    return len(adds), changed


def add_role(session: Session, person_id: int, role: str, *, now: datetime | None = None) -> bool:
    """Give a person a role (in the caller's transaction); False if they had it already or are gone."""
    from store.models import Person, utcnow

    person = session.get(Person, person_id)
    if person is None:
        return False
    roles = list(_roles(person.roles))
    if role in roles and person.active:
        return False
    if role not in roles:
        roles.append(role)
    person.roles = json.dumps(roles, ensure_ascii=False)
    person.active = True
    person.left_on = None
    person.updated_at = now or utcnow()
    session.add(person)
    return True


def add_unit(store: Store, name: str, area: str = "", code: str = "") -> int:
    from store.models import Unit

    with store.session() as session:
        unit = Unit(name=name, area=area, code=code)
        session.add(unit)
        session.flush()
        assert unit.id is not None
        return unit.id


def set_unit_service(store: Store, unit_id: int, service: str, deployed_on: date | None) -> None:
    """Record (or move) a service's deployment date in a unit."""
    from sqlmodel import select

    from store.models import UnitService

    with store.session() as session:
        row = session.exec(
            select(UnitService).where(UnitService.unit_id == unit_id, UnitService.service == service)
        ).first()
        if row is None:
            session.add(UnitService(unit_id=unit_id, service=service, deployed_on=deployed_on))
        else:
            row.deployed_on = deployed_on
            session.add(row)


def add_list(
    store: Store, name: str, *, description: str = "", rule: str = "", bilingual: bool = False
) -> int:
    from store.models import MailingList

    with store.session() as session:
        row = MailingList(name=name, description=description, rule=rule, bilingual=bilingual)
        session.add(row)
        session.flush()
        assert row.id is not None
        return row.id


def set_member(store: Store, list_id: int, person_id: int, member: bool) -> None:
    """Add a person to a static list or take them off it."""
    from store.models import ListMember

    with store.session() as session:
        row = session.get(ListMember, (list_id, person_id))
        if member and row is None:
            session.add(ListMember(list_id=list_id, person_id=person_id))
        elif not member and row is not None:
            session.delete(row)


@dataclass(frozen=True)
class ExportPerson:
    name: str
    email: str
    phone: str
    unit: str
    roles: tuple[str, ...]
    language: str
    active: bool
    left_on: date | None


def export_people(store: Store) -> list[ExportPerson]:
    """Every person, left ones too (the yearly review sees who left), in name order."""
    directory = load_directory(store)
    units = directory.unit_by_id()
    return [
        ExportPerson(
            person.name,
            person.email,
            person.phone,
            units[person.unit_id].name if person.unit_id in units else "",
            person.roles,
            person.language,
            person.active,
            person.left_on,
        )
        for person in directory.people
    ]


def update_unit(
    store: Store,
    unit_id: int | None,
    name: str,
    area: str,
    code: str,
    services: Sequence[tuple[str, date | None]],
) -> int:
    """Add (``unit_id`` None) or change a unit with its services, in one transaction: services not
    given are removed, the others keep or change their deployment date."""
    from sqlmodel import select

    from store.models import Unit, UnitService

    with store.session() as session:
        unit = Unit(name=name, area=area, code=code) if unit_id is None else session.get(Unit, unit_id)
        if unit is None:
            raise KeyError(unit_id)
        unit.name, unit.area, unit.code = name, area, code
        session.add(unit)
        session.flush()
        assert unit.id is not None
        existing = {
            row.service: row
            for row in session.exec(select(UnitService).where(UnitService.unit_id == unit.id)).all()
        }
        wanted = dict(services)
        for service, row in existing.items():
            if service not in wanted:
                session.delete(row)
        for service, deployed_on in wanted.items():
            found = existing.get(service)
            if found is None:
                session.add(UnitService(unit_id=unit.id, service=service, deployed_on=deployed_on))
            elif found.deployed_on != deployed_on:
                found.deployed_on = deployed_on
                session.add(found)
        return unit.id


def update_list(
    store: Store, list_id: int | None, name: str, *, description: str, rule: str, bilingual: bool
) -> int:
    """Add (``list_id`` None) or change a list; a static list keeps its members."""
    from store.models import MailingList

    with store.session() as session:
        row = MailingList(name=name) if list_id is None else session.get(MailingList, list_id)
        if row is None:
            raise KeyError(list_id)
        row.name, row.description, row.rule, row.bilingual = name, description, rule, bilingual
        session.add(row)
        session.flush()
        assert row.id is not None
        return row.id
