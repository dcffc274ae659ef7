"""Onboarding checklists: due dates in working days, template versions, runs, completion."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from coordinator_tui.directory.service import DirectoryService
from coordinator_tui.hetu import check_character
from coordinator_tui.onboarding import templates
from coordinator_tui.onboarding.schedule import due_date
from coordinator_tui.onboarding.service import OnboardingError, OnboardingService
from coordinator_tui.requests.duetime import OfficeCalendar
from store import directory
from store import onboarding as db
from store.engine import Store, open_store, url_for_path

NOW = datetime(2026, 11, 26, 7, 30, tzinfo=UTC)  # Thursday
CALENDAR = OfficeCalendar.from_settings()


@pytest.mark.parametrize(
    ("start", "offset", "due"),
    [
        (date(2026, 11, 26), 0, date(2026, 11, 26)),  # Thursday: the start itself
        (date(2026, 11, 28), 0, date(2026, 11, 30)),  # Saturday start: the next working day
        (date(2026, 11, 26), 1, date(2026, 11, 27)),
        (date(2026, 11, 26), 2, date(2026, 11, 30)),  # over the weekend
        (date(2026, 11, 26), 5, date(2026, 12, 3)),
        (date(2026, 11, 30), -1, date(2026, 11, 27)),  # before a Monday start: the Friday
        (date(2026, 12, 4), 1, date(2026, 12, 7)),  # 6.12. Independence Day is a Sunday in 2026
        (date(2026, 12, 23), 1, date(2026, 12, 28)),  # Christmas Eve and Day and Boxing Day
        (date(2026, 12, 28), -2, date(2026, 12, 22)),  # back over Christmas
        (date(2026, 12, 31), 1, date(2027, 1, 4)),  # New Year's Day
        (date(2026, 1, 5), 1, date(2026, 1, 7)),  # Epiphany, a Tuesday
        (date(2026, 4, 2), 1, date(2026, 4, 7)),  # Easter: Good Friday to Easter Monday
        (date(2026, 11, 26), 21, date(2026, 12, 29)),  # a month, with the Christmas days skipped
    ],
)
def test_due_dates_in_working_days(start: date, offset: int, due: date) -> None:
    assert due_date(CALENDAR, start, offset) == due


def test_closed_days_of_the_county_are_skipped() -> None:
    calendar = OfficeCalendar.from_settings(extra_closed=[date(2026, 11, 27)])
    assert due_date(calendar, date(2026, 11, 26), 1) == date(2026, 11, 30)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(url_for_path(tmp_path / "onb.sqlite"))
    yield opened
    opened.dispose()


def service(store: Store) -> OnboardingService:
    return OnboardingService(store, actor="Koordinaattori Testi", clock=lambda: NOW)


def a_person(store: Store, roles: tuple[str, ...] = ()) -> int:
    return directory.add_person(
        store, directory.PersonValues("Uusi Vastuuhenkilö", "uusi@pohde.fi", roles=roles)
    )


def test_default_templates_are_seeded_once(store: Store) -> None:
    svc = service(store)
    found = {t.family: t for t in svc.templates()}
    assert set(found) == {templates.ONBOARDING_FAMILY, templates.OFFBOARDING_FAMILY}
    onboarding = found[templates.ONBOARDING_FAMILY]
    assert onboarding.kind == "onboarding" and onboarding.version == 1
    texts = " ".join(item.text for item in onboarding.items)
    expected = (
        "nimeämisilmoitus",
        "käyttövaltuushallintaan",
        "verkkokurssi",
        "jakelulistoille",
        "häiriötiedotteiden",
        "HaiPro",
        "Tietosuojakoulutus",
        "Tutustumispalaveri",
        "Seuranta",
    )
    for words in expected:
        assert words in texts
    assert svc.ensure_defaults() == 0
    assert len(svc.templates()) == 2


def test_editing_a_template_makes_a_version_and_runs_keep_theirs(store: Store) -> None:
    svc = service(store)
    person = a_person(store)
    first = next(t for t in svc.templates() if t.kind == "onboarding")
    run_id = svc.start(first.id, person, date(2026, 11, 30))
    edited = [*first.items[:3], db.ItemSpec("Uusi kohta", "ICT", 4)]
    second_id = svc.edit_template(first.family, first.name, edited)
    current = next(t for t in svc.templates() if t.family == first.family)
    assert (current.id, current.version, len(current.items)) == (second_id, 2, 4)
    assert db.template(store, first.id).is_current is False  # type: ignore[union-attr]
    view = svc.view(run_id)
    assert view is not None and len(view.items) == len(first.items)
    assert view.run.template_version == 1
    with pytest.raises(OnboardingError):
        svc.edit_template(first.family, first.name, [])


def test_a_run_gets_real_due_dates(store: Store) -> None:
    svc = service(store)
    person = a_person(store)
    onboarding = next(t for t in svc.templates() if t.kind == "onboarding")
    run_id = svc.start(onboarding.id, person, date(2026, 12, 21))
    view = svc.view(run_id)
    assert view is not None
    due = {item.text: item.due_on for item in view.items}
    assert due["Esihenkilön nimeämisilmoitus vastaanotettu"] == date(2026, 12, 14)  # 5 working days before
    assert due["Alueelliset ohjeet ja dokumentit luovutettu"] == date(2026, 12, 22)
    assert due["Testiympäristön tunnukset toimitettu (jos testiympäristö on käytössä)"] == date(2026, 12, 23)
    assert due["Tutustumispalaveri koordinaattorin kanssa pidetty"] == date(2026, 12, 28)
    assert [item.due_on for item in view.items] == sorted(item.due_on for item in view.items)  # type: ignore[type-var]
    assert view.run.overdue == 0 and view.run.total == len(onboarding.items)


def test_completing_an_onboarding_puts_the_person_on_the_rule_lists(store: Store) -> None:
    svc = service(store)
    people = DirectoryService(store, clock=lambda: NOW)
    rule_list = directory.add_list(
        store, "Kaikki vastuukäyttäjät", rule=json.dumps({"role": "vastuukäyttäjä"})
    )
    person = a_person(store, roles=("esihenkilö",))
    onboarding = next(t for t in svc.templates() if t.kind == "onboarding")
    run_id = svc.start(onboarding.id, person, date(2026, 11, 20))
    view = svc.view(run_id)
    assert view is not None
    assert view.run.overdue > 0  # items before the 26th are overdue
    assert people.resolve(rule_list).addresses == []
    for item in view.items[:-1]:
        toggled = svc.toggle(item.id, True)
        assert not toggled.completed
        assert toggled.item.done_by == "Koordinaattori Testi" and toggled.item.done_at == NOW
    assert people.resolve(rule_list).addresses == []
    last = svc.toggle(view.items[-1].id, True)
    assert last.completed and last.run_status == "done"
    assert people.resolve(rule_list).addresses == ["uusi@pohde.fi"]
    person_row = next(p for p in directory.load_directory(store).people if p.id == person)
    assert person_row.roles == ("esihenkilö", "vastuukäyttäjä")
    # Unticking opens the run again; the role stays.
    again = svc.toggle(view.items[0].id, False)
    assert again.reopened and again.run_status == "open" and again.item.done_at is None
    assert people.resolve(rule_list).addresses == ["uusi@pohde.fi"]


def test_completing_an_offboarding_marks_the_person_left(store: Store) -> None:
    svc = service(store)
    person = a_person(store, roles=("vastuukäyttäjä",))
    offboarding = next(t for t in svc.templates() if t.kind == "offboarding")
    run_id = svc.start(offboarding.id, person, date(2026, 11, 26))
    view = svc.view(run_id)
    assert view is not None
    for item in view.items:
        svc.toggle(item.id, True)
    person_row = next(p for p in directory.load_directory(store).people if p.id == person)
    assert not person_row.active and person_row.left_on == date(2026, 11, 26)


def test_notes_are_kept_and_identity_codes_refused(store: Store) -> None:
    svc = service(store)
    person = a_person(store)
    onboarding = next(t for t in svc.templates() if t.kind == "onboarding")
    view = svc.view(svc.start(onboarding.id, person, date(2026, 11, 30)))
    assert view is not None
    item = view.items[0]
    assert svc.note(item.id, " Nimeäminen tuli sähköpostilla. ").note == "Nimeäminen tuli sähköpostilla."
    hetu = "131052-308" + check_character("131052308")
    with pytest.raises(OnboardingError):
        svc.note(item.id, f"tunnus {hetu}")
    view = svc.view(view.run.id)
    assert view is not None and view.items[0].note == "Nimeäminen tuli sähköpostilla."


def test_the_template_editor_text_reads_back() -> None:
    text = templates.template_text(templates.ONBOARDING_ITEMS)
    assert text.splitlines()[0] == "-5 | koordinaattori | Esihenkilön nimeämisilmoitus vastaanotettu"
    items, problems = templates.parse_template_text(text)
    assert problems == [] and tuple(items) == templates.ONBOARDING_ITEMS


@pytest.mark.parametrize(
    "line",
    [
        "viisi | ICT | Tunnukset",
        "1 | naapuri | Tunnukset",
        "1 | ICT |",
        "1 | ICT | Tunnukset | ftp://x",
        "1 | ICT",
        "1 | ICT | tunnus 131052-308" + check_character("131052308"),
    ],
)
def test_the_template_editor_refuses_a_bad_line_with_its_number(line: str) -> None:
    items, problems = templates.parse_template_text(f"0 | ICT | Hyvä rivi\n{line}\n")
    assert len(items) == 1 and len(problems) == 1
    assert "2" in problems[0]
