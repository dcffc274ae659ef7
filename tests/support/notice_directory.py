"""A small network directory for the notice tests: units, people, a static list, a rule list."""

from __future__ import annotations

import json
from dataclasses import dataclass

from store.engine import Store
from store.models import ListMember, MailingList, Person, Unit, UnitService


@dataclass(frozen=True)
class Directory:
    liminka: int
    kempele: int
    notice_list: int  # static, bilingual
    queue_list: int  # rule: vastuukäyttäjä where työjonolähetys is deployed
    steering: int  # static, not bilingual


def person(session, name: str, email: str, unit: int | None, roles: list[str], **extra) -> Person:  # type: ignore[no-untyped-def]
    row = Person(name=name, email=email, unit_id=unit, roles=json.dumps(roles, ensure_ascii=False), **extra)
    session.add(row)
    session.flush()
    return row


def build_directory(store: Store) -> Directory:
    with store.session() as session:
        liminka, kempele = Unit(name="Limingan terveysasema"), Unit(name="Kempeleen terveysasema")
        session.add_all([liminka, kempele])
        session.flush()
        assert liminka.id is not None and kempele.id is not None
        session.add(UnitService(unit_id=liminka.id, service="työjonolähetys"))
        anu = person(session, "Anu Oikarinen", "anu@liminka.example.fi", liminka.id, ["vastuukäyttäjä"])
        ville = person(
            session, "Ville Ek", "ville@liminka.example.fi", liminka.id, ["esihenkilö"], language="sv"
        )
        sari = person(session, "Sari Öhman", "sari@kempele.example.fi", kempele.id, ["vastuukäyttäjä"])
        broken = person(session, "Rikki Osoite", "rikki(at)kempele", kempele.id, ["vastuukäyttäjä"])
        gone = person(
            session, "Lähtenyt Henkilö", "poissa@kempele.example.fi", kempele.id, ["vastuukäyttäjä"]
        )
        gone.active = False
        session.add(gone)
        twin = person(session, "Anu O. (toinen rivi)", "ANU@liminka.example.fi", None, ["pääkäyttäjä"])
        notice_list = MailingList(name="Häiriötiedotteet – Störningsmeddelanden", bilingual=True)
        queue_list = MailingList(
            name="Työjonolähetystä käyttävät",
            rule=json.dumps({"role": "vastuukäyttäjä", "service": "työjonolähetys"}, ensure_ascii=False),
        )
        steering = MailingList(name="Ohjausryhmä")
        session.add_all([notice_list, queue_list, steering])
        session.flush()
        for member in (anu, ville, sari, broken, gone):
            session.add(ListMember(list_id=notice_list.id, person_id=member.id))
        session.add(ListMember(list_id=steering.id, person_id=twin.id))
        session.add(ListMember(list_id=steering.id, person_id=anu.id))
        assert notice_list.id and queue_list.id and steering.id
        return Directory(liminka.id, kempele.id, notice_list.id, queue_list.id, steering.id)
