"""The Network screen's live list members agree with what a notice to the list would go to."""

from __future__ import annotations

import json
from datetime import date

from coordinator_tui.directory.lists import resolve_in
from coordinator_tui.notices.recipients import Choice, resolve
from store import directory as db
from store.engine import Store


def test_every_demo_list_resolves_as_the_notices_resolve_it(demo_store: Store) -> None:
    # Edge cases on top of the demo's lists: a rule on a service only, an unreadable rule with a
    # static member, an empty rule, a list whose member has left, a duplicate address.
    people = db.load_directory(demo_store).people
    db.add_list(demo_store, "Vain palvelu", rule=json.dumps({"service": "työjonolähetys"}))
    broken = db.add_list(demo_store, "Rikki", rule="{not json")
    db.set_member(demo_store, broken, people[3].id, True)
    db.add_list(demo_store, "Kaikki", rule="{}")
    left = db.add_list(demo_store, "Lähtenyt jäsen")
    db.set_member(demo_store, left, people[5].id, True)
    db.set_active(demo_store, people[5].id, False, on=date(2026, 1, 1))
    db.add_person(
        demo_store, db.PersonValues("Kaksoisosoite", people[7].email.upper(), roles=people[7].roles)
    )
    directory = db.load_directory(demo_store)
    assert len(directory.lists) > 8
    for info in directory.lists:
        mine = resolve_in(directory, info.id)
        theirs = resolve(demo_store, Choice(lists=[info.id]))
        assert mine.addresses == theirs.addresses, info.name
        assert mine.invalid == theirs.invalid, info.name
        assert mine.swedish_readers == theirs.swedish_readers, info.name
        assert mine.bilingual_lists == theirs.bilingual_lists, info.name
    assert resolve_in(directory, 10**9).unknown_lists == [str(10**9)]
