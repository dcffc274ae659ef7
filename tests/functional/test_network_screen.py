"""The Network screen driven from the keyboard: search, add a person (checked), mark one left and see
them drop out of a list's live members, import a CSV through its preview."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.widgets import Static

from coordinator_tui.directory.service import DirectoryService
from coordinator_tui.screens.network import NetworkScreen
from coordinator_tui.screens.networkdialogs import ImportPreviewScreen, PersonForm
from store import directory as db
from store.engine import Store
from tests.conftest import FIXED_NOW
from tests.screen import screen_text

SIZE = (130, 40)


async def until(pilot: Any, condition: Callable[[], object], what: str, tries: int = 250) -> None:
    for _attempt in range(tries):
        if condition():
            return
        await pilot.pause(0.02)
    raise AssertionError(f"never happened: {what}")


async def open_network(pilot: Any) -> NetworkScreen:
    app = pilot.app
    await until(pilot, lambda: app.dashboard_loaded_at is not None, "the Today screen loaded")
    await pilot.press("7")
    await until(
        pilot,
        lambda: isinstance(app.screen, NetworkScreen) and app.screen.built is not None,
        "the Network screen loaded",
    )
    await pilot.pause()
    screen = app.screen
    assert isinstance(screen, NetworkScreen)
    return screen


def fields_text(screen: NetworkScreen) -> str:
    return str(screen.query_one("#network-fields", Static).content)


def people(store: Store) -> dict[str, db.PersonRow]:
    return {person.email: person for person in db.load_directory(store).people}


async def type_text(pilot: Any, text: str) -> None:
    await pilot.press(*[{" ": "space"}.get(ch, ch) for ch in text])


async def test_search_as_you_type_narrows_the_people(demo_store, make_app) -> None:  # type: ignore[no-untyped-def]
    directory = db.load_directory(demo_store)
    target = next(p for p in directory.people if p.active and p.unit_id is not None and "[" not in p.name)
    app = make_app(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_network(pilot)
        assert screen.directory_list.count == len(directory.people)
        await pilot.press("slash")
        await type_text(pilot, target.email.split("@")[0])
        await until(pilot, lambda: screen.directory_list.count == 1, "one match")
        row = screen.directory_list.current_row()
        assert row is not None and row.key == target.id
        assert target.email in screen_text(app)
        await pilot.press("escape", "escape")  # out of the field, then the search is cleared
        await until(pilot, lambda: screen.directory_list.count == len(directory.people), "all again")


async def test_add_a_person_with_a_checked_form(demo_store, make_app) -> None:  # type: ignore[no-untyped-def]
    unit = next(u for u in db.load_directory(demo_store).units if re.fullmatch(r"[\w ]+", u.name))
    app = make_app(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_network(pilot)
        before = screen.directory_list.count
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, PersonForm), "the form")
        form = app.screen
        await type_text(pilot, "Uusi Vastuuhenkilö")
        await pilot.press("tab")
        await type_text(pilot, "uusi.vastuu@pohde")  # no top-level domain: refused
        await pilot.press("tab", "tab")
        await type_text(pilot, unit.name)
        await pilot.press("tab")
        await type_text(pilot, "vastuukayttaja")
        await pilot.press("ctrl+s")
        problems = form.query_one("#person-problems", Static)
        await until(pilot, lambda: "uusi.vastuu@pohde" in str(problems.content), "the address problem")
        assert isinstance(app.screen, PersonForm)  # still open, nothing written
        assert "uusi.vastuu@pohde" not in people(demo_store)
        email = form.query_one("#person-email")
        assert email.has_focus and email.has_class("-invalid")
        await type_text(pilot, ".example.fi")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, NetworkScreen), "the form closed")
        await until(pilot, lambda: screen.directory_list.count == before + 1, "the new row")
        person = people(demo_store)["uusi.vastuu@pohde.example.fi"]
        assert person.name == "Uusi Vastuuhenkilö"
        assert person.unit_id == unit.id and person.roles == ("vastuukäyttäjä",)
        row = screen.directory_list.current_row()
        assert row is not None and row.key == person.id  # the cursor is on the new person


async def test_mark_left_drops_the_person_out_of_the_lists(demo_store, make_app) -> None:  # type: ignore[no-untyped-def]
    rule_list = db.add_list(
        demo_store, "Testilista vastuukäyttäjät", rule=json.dumps({"role": "vastuukäyttäjä"})
    )
    svc = DirectoryService(demo_store, clock=lambda: FIXED_NOW)
    directory = db.load_directory(demo_store)
    target = next(
        p
        for p in directory.people
        if p.active and "vastuukäyttäjä" in p.roles and p.email.endswith("pohde.example.fi")
    )
    static_list = db.add_list(demo_store, "Testilista käsin")
    db.set_member(demo_store, static_list, target.id, True)
    members_before = svc.resolve(rule_list).count
    assert target.email in svc.resolve(rule_list).addresses
    app = make_app(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_network(pilot)
        await pilot.press("slash")
        await type_text(pilot, target.email)
        await pilot.press("enter")  # back to the list
        await until(pilot, lambda: screen.directory_list.count == 1, "the person found")
        await pilot.press("l")
        await until(pilot, lambda: not people(demo_store)[target.email].active, "marked left")
        assert people(demo_store)[target.email].left_on == FIXED_NOW.date()
        assert target.email not in svc.resolve(rule_list).addresses
        assert svc.resolve(rule_list).count == members_before - 1
        assert svc.resolve(static_list).addresses == []
        # The list's members on screen, resolved again after the change.
        await pilot.press("escape", "right", "right")
        await until(pilot, lambda: screen.section == "lists", "the lists")
        screen.directory_list.move_to(
            next(i for i, row in enumerate(screen.directory_list.rows) if row.key == rule_list)
        )
        await until(pilot, lambda: str(members_before - 1) in fields_text(screen), "the live member count")
        assert target.email not in fields_text(screen)
        # And back: l on the person makes them active again, and on the list again.
        await pilot.press("left", "left")
        await until(pilot, lambda: screen.section == "people", "the people")
        screen.directory_list.move_to(
            next(i for i, row in enumerate(screen.directory_list.rows) if row.key == target.id)
        )
        await pilot.press("l")
        await until(pilot, lambda: people(demo_store)[target.email].active, "active again")
        assert target.email in svc.resolve(rule_list).addresses


async def test_import_preview_then_confirm(demo_store, make_app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    existing = next(p for p in db.load_directory(demo_store).people if p.active and "[" not in p.name)
    path = tmp_path / "verkosto.csv"
    path.write_bytes(
        (
            "Nimi;Sähköposti;Puhelin;Yksikkö;Roolit\r\n"
            "Tuotu Henkilö;tuotu.henkilo@pohde.example.fi;;;esihenkilö\r\n"
            f"{existing.name};{existing.email};+358 40 7654321;;{', '.join(existing.roles)}\r\n"
            "Hylätty Rivi;hylatty@;;;\r\n"
        ).encode("cp1252")
    )
    app = make_app(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_network(pilot)
        count = screen.directory_list.count
        await pilot.press("i")
        await type_text(pilot, str(path))
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ImportPreviewScreen), "the preview")
        preview = app.screen.preview
        assert preview.encoding == "cp1252"
        assert preview.counts == {"added": 1, "changed": 1, "unchanged": 0, "rejected": 1}
        shot = screen_text(app)
        assert "hylatty@" in shot and "Tuotu Henkilö" in shot
        assert "tuotu.henkilo@pohde.example.fi" not in people(demo_store)  # nothing written yet
        await pilot.press("y")
        await until(pilot, lambda: isinstance(app.screen, NetworkScreen), "the preview closed")
        await until(pilot, lambda: screen.directory_list.count == count + 1, "the imported row")
        now = people(demo_store)
        assert now["tuotu.henkilo@pohde.example.fi"].roles == ("esihenkilö",)
        assert now[existing.email].phone == "+358 40 7654321"
        assert "hylatty@" not in now


async def test_import_cancelled_writes_nothing(demo_store, make_app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "verkosto.csv"
    path.write_text("name,email\nEi Tuoda,ei.tuoda@pohde.example.fi\n", encoding="utf-8")
    app = make_app(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        await open_network(pilot)
        await pilot.press("i")
        await type_text(pilot, str(path))
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ImportPreviewScreen), "the preview")
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, NetworkScreen), "closed")
        assert "ei.tuoda@pohde.example.fi" not in people(demo_store)


async def test_record_a_held_meeting(demo_store, make_app) -> None:  # type: ignore[no-untyped-def]
    from coordinator_tui.screens.networkdialogs import MeetingForm
    from store.meetings import held_meetings

    svc = DirectoryService(demo_store, clock=lambda: FIXED_NOW)
    due, _held = svc.meetings()
    target = next(m for m in due if m.bucket == "overdue" and re.fullmatch(r"[\w ]+", m.unit_name))
    directory = db.load_directory(demo_store)
    participant = next(
        p
        for p in directory.people
        if p.unit_id == target.unit_id and p.active and re.fullmatch(r"[\w ]+", p.name)
    )
    meetings_before = len(held_meetings(demo_store))
    app = make_app(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_network(pilot)
        await pilot.press("right", "right", "right")
        await until(pilot, lambda: screen.section == "meetings", "the meetings")
        assert "Palaverit" in screen_text(app) or "Meetings" in screen_text(app)
        assert [row.key for row in screen.directory_list.rows] == [m.unit_id for m in due]
        screen.directory_list.move_to(next(i for i, m in enumerate(due) if m.unit_id == target.unit_id))
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, MeetingForm), "the meeting form")
        await type_text(pilot, f"{participant.email}, Ei Ketään")
        await pilot.press("tab")
        await type_text(pilot, "Käyttö lähtenyt hyvin")
        await pilot.press("tab", "tab")
        await type_text(pilot, "2")
        await pilot.press("ctrl+s")
        problems = app.screen.query_one("#meeting-problems", Static)
        await until(pilot, lambda: "Ei Ketään" in str(problems.content), "the unknown participant")
        assert len(held_meetings(demo_store)) == meetings_before
        await pilot.press("shift+tab", "shift+tab", "shift+tab")
        for _ in range(len(", Ei Ketään")):
            await pilot.press("backspace")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, NetworkScreen), "the form closed")
        await until(pilot, lambda: len(held_meetings(demo_store)) == meetings_before + 1, "recorded")
        meeting = held_meetings(demo_store)[0]
        assert (meeting.unit_id, meeting.held_on, meeting.participants) == (
            target.unit_id,
            FIXED_NOW.date(),
            (participant.id,),
        )
        assert (meeting.notes, meeting.haipro_count) == ("Käyttö lähtenyt hyvin", 2)
        # The unit's next meeting is now a year away.
        await until(
            pilot,
            lambda: any(
                m.unit_id == target.unit_id and m.kind == "yearly" and m.bucket == "later"
                for m in (screen.built.due if screen.built else [])
            ),
            "the next one a year away",
        )


async def test_add_a_unit_a_rule_list_and_a_static_member(demo_store, make_app) -> None:  # type: ignore[no-untyped-def]
    from coordinator_tui.screens.networkdialogs import MembershipScreen, RecordForm

    app = make_app(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_network(pilot)
        # A unit with a service and its deployment date.
        await pilot.press("right")
        await until(pilot, lambda: screen.section == "units", "the units")
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, RecordForm), "the unit form")
        await type_text(pilot, "Testikylan terveysasema")
        await pilot.press("tab")
        await type_text(pilot, "Testikyla")
        await pilot.press("tab", "tab")
        await type_text(pilot, "oirearviot 2.11.2026")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, NetworkScreen), "the unit saved")
        units = {unit.name: unit for unit in db.load_directory(demo_store).units}
        unit = units["Testikylan terveysasema"]
        assert [(s.service, s.deployed_on.isoformat() if s.deployed_on else None) for s in unit.services] == [
            ("oirearviot", "2026-11-02")
        ]
        await until(
            pilot, lambda: getattr(screen.directory_list.current_row(), "key", None) == unit.id, "cursor"
        )
        # A rule list: responsible users of the units using oirearviot.
        await pilot.press("right")
        await until(pilot, lambda: screen.section == "lists", "the lists")
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, RecordForm), "the list form")
        await type_text(pilot, "Oirearvioiden vastuukayttajat")
        await pilot.press("tab", "tab")
        await type_text(pilot, "vastuukayttaja")
        await pilot.press("tab")
        await type_text(pilot, "oirearviot")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, NetworkScreen), "the list saved")
        info = next(
            i for i in db.load_directory(demo_store).lists if i.name == "Oirearvioiden vastuukayttajat"
        )
        assert json.loads(info.rule) == {"role": "vastuukäyttäjä", "service": "oirearviot"}
        # A person onto a static list with `a` on the people.
        static = next(
            i for i in db.load_directory(demo_store).lists if not i.rule and i.name == "Tuotevastaavat"
        )
        person = next(
            p for p in db.load_directory(demo_store).people if p.active and p.id not in static.member_ids
        )
        await pilot.press("left", "left")
        await until(pilot, lambda: screen.section == "people", "the people")
        screen.directory_list.move_to(
            next(i for i, row in enumerate(screen.directory_list.rows) if row.key == person.id)
        )
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, MembershipScreen), "the static lists")
        membership = app.screen
        index = list(membership.lists).index(static.id)
        for _ in range(index):
            await pilot.press("j")
        await pilot.press("enter")
        await until(pilot, lambda: membership.lists[static.id][1], "on the list")
        assert (
            person.id in next(i for i in db.load_directory(demo_store).lists if i.id == static.id).member_ids
        )
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, NetworkScreen), "closed")
