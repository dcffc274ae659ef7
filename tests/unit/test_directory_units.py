"""Checking units (with their services and deployment dates) and lists before they are written."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from coordinator_tui.directory.service import DirectoryService, NotSaved
from coordinator_tui.directory.units import (
    ListDraft,
    UnitDraft,
    check_list,
    check_unit,
    parse_services,
    services_text,
)
from coordinator_tui.directory.validation import ROLES
from coordinator_tui.hetu import check_character
from store import directory as db
from store.engine import Store, open_store, url_for_path

HETU = "131052-308" + check_character("131052308")


def test_services_with_and_without_dates_read_back() -> None:
    services, bad = parse_services(
        "oirearviot 4.3.2024; työjonolähetys 2025-03-01; ammattilaisen käyttöliittymä"
    )
    assert bad == []
    assert services == [
        ("oirearviot", date(2024, 3, 4)),
        ("työjonolähetys", date(2025, 3, 1)),
        ("ammattilaisen käyttöliittymä", None),
    ]
    assert parse_services(services_text(services)) == (services, [])
    assert parse_services("oirearviot 31.2.2024")[1] == ["oirearviot 31.2.2024"]


@pytest.mark.parametrize(
    ("draft", "code"),
    [
        (UnitDraft(""), "name_missing"),
        (UnitDraft("siikajoen TERVEYSASEMA"), "name_taken"),
        (UnitDraft("Uusi", services="oirearviot 45.1.2024"), "service_invalid"),
        (UnitDraft("Uusi", code=HETU), "hetu"),
    ],
)
def test_a_unit_is_refused_with_the_reason(draft: UnitDraft, code: str) -> None:
    values, problems = check_unit(draft, names={"siikajoen terveysasema": 1})
    assert values is None and [p.code for p in problems] == [code]


def test_a_unit_keeps_its_own_name_when_edited() -> None:
    values, problems = check_unit(
        UnitDraft("Siikajoen terveysasema", "Siikajoki"), names={"siikajoen terveysasema": 1}, unit_id=1
    )
    assert problems == [] and values is not None and values.area == "Siikajoki"


@pytest.mark.parametrize(
    ("draft", "code"),
    [
        (ListDraft(""), "name_missing"),
        (ListDraft("kaikki vastuukäyttäjät"), "name_taken"),
        (ListDraft("Uusi", role="vastuukäytäjä"), "role_unknown"),
        (ListDraft("Uusi", service="faksi"), "service_unknown"),
        (ListDraft("Uusi", bilingual="ehkä"), "bilingual_invalid"),
        (ListDraft("Uusi", description=HETU), "hetu"),
    ],
)
def test_a_list_is_refused_with_the_reason(draft: ListDraft, code: str) -> None:
    values, problems = check_list(
        draft, names={"kaikki vastuukayttajat": 1}, roles=ROLES, services=["oirearviot", "työjonolähetys"]
    )
    assert values is None and [p.code for p in problems] == [code]


def test_a_rule_list_and_a_static_list() -> None:
    values, _problems = check_list(
        ListDraft("Työjono", role="VASTUUKAYTTAJA", service="Työjonolähetys", bilingual="kyllä"),
        names={},
        roles=ROLES,
        services=["työjonolähetys"],
    )
    assert values is not None
    assert json.loads(values.rule) == {"role": "vastuukäyttäjä", "service": "työjonolähetys"}
    assert values.bilingual
    static, _problems = check_list(ListDraft("Käsin"), names={}, roles=ROLES, services=[])
    assert static is not None and static.rule == "" and not static.bilingual


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(url_for_path(tmp_path / "units.sqlite"))
    yield opened
    opened.dispose()


def test_saving_a_unit_replaces_its_services(store: Store) -> None:
    svc = DirectoryService(store)
    unit_id = svc.save_unit(UnitDraft("Uusi yksikkö", "Oulu", "", "oirearviot 4.3.2024; työjonolähetys"))
    svc.save_unit(
        UnitDraft("Uusi yksikkö", "Oulu", "X1", "oirearviot 5.3.2024; palveluarviot 1.1.2025"), unit_id
    )
    (unit,) = db.load_directory(store).units
    assert unit.code == "X1"
    assert [(s.service, s.deployed_on) for s in unit.services] == [
        ("oirearviot", date(2024, 3, 5)),
        ("palveluarviot", date(2025, 1, 1)),
    ]
    with pytest.raises(NotSaved):
        svc.save_unit(UnitDraft("uusi YKSIKKÖ"))


def test_saving_a_list_and_its_static_members(store: Store) -> None:
    svc = DirectoryService(store)
    person = db.add_person(store, db.PersonValues("Anna", "anna@pohde.fi"))
    list_id = svc.save_list(ListDraft("Käsin"))
    svc.set_member(list_id, person, True)
    assert svc.resolve(list_id).addresses == ["anna@pohde.fi"]
    svc.save_list(ListDraft("Käsin koottu", "kuvaus"), list_id)
    (info,) = db.load_directory(store).lists
    assert (info.name, info.description, info.member_ids) == ("Käsin koottu", "kuvaus", (person,))
    svc.set_member(list_id, person, False)
    assert svc.resolve(list_id).addresses == []
