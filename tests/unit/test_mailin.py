"""Incoming mail to requests: the matching rules, and the store linking a batch by them."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from coordinator_tui.requests.mailin import clues_of, header_ids, subject_references
from store import requests as db
from store.engine import Store, open_store
from store.models import MailFolder, MailMessage, RequestEvent, RequestMail

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
ME = "Sanna Kivelä"


# --- the rules -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Re: [OMA-2026-0042] Tunnukset puuttuvat", ["OMA-2026-0042"]),
        ("VS: Tunnukset OMA-2026-0042", ["OMA-2026-0042"]),
        ("re: [oma-2026-0042] pieni kirjain", ["OMA-2026-0042"]),
        ("OMA-2026-0001 ja [OMA-2026-0042]", ["OMA-2026-0042", "OMA-2026-0001"]),
        ("[OMA-2026-12345] viisinumeroinen", ["OMA-2026-12345"]),
        ("Tilaus XOMA-2026-0042 ei ole viite", []),
        ("OMA-2026-00421234 liian pitkä", []),
        ("OMA-26-0042 lyhyt vuosi", []),
        ("Ei viitettä lainkaan", []),
        ("", []),
    ],
)
def test_subject_references(subject: str, expected: list[str]) -> None:
    assert subject_references(subject) == expected


def test_header_ids_are_nearest_first_without_repeats() -> None:
    assert header_ids("<c@x>", "<a@x> <b@x> <c@x>") == ["<c@x>", "<b@x>", "<a@x>"]
    assert header_ids("", "") == []
    assert header_ids("bare@x", "") == ["<bare@x>"]


def test_clues_of_a_row() -> None:
    row = {"message_id": "<m@x>", "in_reply_to": "", "references": "", "subject": "Hei", "from_addr": "a@x"}
    assert clues_of(1, row) is None
    row["subject"] = "Re: [OMA-2026-0042] Hei"
    clues = clues_of(7, {**row, "from_addr": " Anu@Example.FI "})
    assert clues is not None
    assert (clues.uid, clues.message_id, clues.sender, clues.references) == (
        7,
        "<m@x>",
        "anu@example.fi",
        ("OMA-2026-0042",),
    )


# --- the store -----------------------------------------------------------------------------------


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(f"sqlite:///{tmp_path}/store.sqlite")
    yield opened
    opened.dispose()


def add_messages(store: Store, folder: str, *rows: dict[str, Any]) -> dict[int, int]:
    """Stored messages by UID → their row id."""
    with store.session() as session:
        found = session.exec(select(MailFolder).where(MailFolder.name == folder)).first()
        if found is None:
            found = MailFolder(name=folder, role="inbox" if folder == "INBOX" else "")
            session.add(found)
            session.flush()
        assert found.id is not None
        ids: dict[int, int] = {}
        for row in rows:
            message = MailMessage(folder_id=found.id, date=NOW, **row)
            session.add(message)
            session.flush()
            assert message.id is not None
            ids[row["uid"]] = message.id
        return ids


def folder_id(store: Store, name: str) -> int:
    with store.session() as session:
        found = session.exec(select(MailFolder).where(MailFolder.name == name)).one()
        assert found.id is not None
        return found.id


def link(store: Store, folder: str, *rows: dict[str, Any]) -> list[db.IncomingLink]:
    clues = [found for row in rows if (found := clues_of(row["uid"], row)) is not None]
    return db.link_incoming_mail(store, folder_id(store, folder), clues, now=NOW + timedelta(hours=1))


def row(uid: int, subject: str = "Re: asia", **values: str) -> dict[str, Any]:
    return {
        "uid": uid,
        "message_id": f"<m{uid}@example.fi>",
        "in_reply_to": "",
        "references": "",
        "subject": subject,
        "from_addr": "anu@example.fi",
        **values,
    }


def request(store: Store, title: str, mail: Sequence[tuple[int, str]] = (), **values: Any) -> db.RequestRow:
    return db.create_request(store, year=2026, title=title, actor=ME, now=NOW, values=values, mail=mail)


def events(store: Store, request_id: int, kind: str) -> list[RequestEvent]:
    with store.session() as session:
        statement = select(RequestEvent).where(
            RequestEvent.request_id == request_id, RequestEvent.kind == kind
        )
        return list(session.exec(statement.order_by(RequestEvent.id)))  # type: ignore[arg-type]


def reasons(store: Store, mail_id: int) -> list[tuple[int, str]]:
    with store.session() as session:
        rows = session.exec(select(RequestMail).where(RequestMail.mail_message_id == mail_id))
        return sorted((r.request_id, r.reason) for r in rows)


def test_a_reply_by_headers_links_reopens_and_bumps_the_version(store: Store) -> None:
    first = add_messages(store, "INBOX", row(1, "Tunnukset"))
    waiting = request(store, "Tunnukset", [(first[1], "manual")], status="odottaa pyytäjää")
    reply = row(2, "Re: Tunnukset", in_reply_to="<m1@example.fi>", references="<m1@example.fi>")
    ids = add_messages(store, "INBOX", reply)

    links = link(store, "INBOX", reply)

    assert links == [db.IncomingLink(ids[2], waiting.id, waiting.reference, "header", True)]
    assert reasons(store, ids[2]) == [(waiting.id, "header")]
    (came,) = events(store, waiting.id, "mail_in")
    assert (came.actor, came.new, came.text) == ("anu@example.fi", "<m2@example.fi>", "header")
    after = db.get_request(store, waiting.id)
    assert after is not None
    assert after.status == "käsittelyssä" and after.version == waiting.version + 1
    assert after.updated_at == NOW + timedelta(hours=1)
    changes = [(e.field, e.old, e.new, e.actor) for e in events(store, waiting.id, "change")]
    assert changes[-1] == ("status", "odottaa pyytäjää", "käsittelyssä", "anu@example.fi")

    assert link(store, "INBOX", reply) == []  # never twice
    assert len(events(store, waiting.id, "mail_in")) == 1


def test_a_subject_tag_links_and_other_statuses_stay(store: Store) -> None:
    open_one = request(store, "Työjono", status="käsittelyssä")
    tagged = row(1, f"Re: [{open_one.reference}] Työjono")
    ids = add_messages(store, "INBOX", tagged, row(2, "Ei mitään"), row(3, "[OMA-2026-0999] ei ole"))

    links = link(store, "INBOX", tagged, row(2, "Ei mitään"), row(3, "[OMA-2026-0999] ei ole"))

    assert [(x.mail_message_id, x.reason, x.reopened) for x in links] == [(ids[1], "subject_tag", False)]
    assert reasons(store, ids[2]) == [] and reasons(store, ids[3]) == []
    after = db.get_request(store, open_one.id)
    assert after is not None and after.status == "käsittelyssä" and after.version == open_one.version


def test_headers_win_over_the_subject_and_a_reply_in_the_same_batch_follows(store: Store) -> None:
    first = add_messages(store, "INBOX", row(1))
    by_header = request(store, "A", [(first[1], "manual")])
    by_tag = request(store, "B")
    both = row(2, f"[{by_tag.reference}]", in_reply_to="<m1@example.fi>")
    tagged = row(3, f"[{by_tag.reference}] uusi")
    follow = row(4, "Re: uusi", in_reply_to="<m3@example.fi>")
    ids = add_messages(store, "INBOX", both, tagged, follow)

    link(store, "INBOX", both, tagged, follow)

    assert reasons(store, ids[2]) == [(by_header.id, "header")]
    assert reasons(store, ids[3]) == [(by_tag.id, "subject_tag")]
    assert reasons(store, ids[4]) == [(by_tag.id, "header")]


def test_a_merged_request_s_mail_goes_to_its_survivor(store: Store) -> None:
    source = request(store, "Kaksoiskappale")
    target = request(store, "Alkuperäinen", status="odottaa pyytäjää")
    db.merge_requests(
        store,
        source.id,
        target.id,
        source_version=source.version,
        target_version=target.version,
        actor=ME,
        now=NOW,
    )
    tagged = row(1, f"Re: [{source.reference}] Kaksoiskappale")
    ids = add_messages(store, "INBOX", tagged)

    (linked,) = link(store, "INBOX", tagged)

    assert (linked.request_id, linked.reference, linked.reopened) == (target.id, target.reference, True)
    assert reasons(store, ids[1]) == [(target.id, "subject_tag")]


def test_a_copy_in_another_folder_is_linked_without_a_second_event(store: Store) -> None:
    first = add_messages(store, "INBOX", row(1))
    waiting = request(store, "A", [(first[1], "manual")])
    reply = row(2, in_reply_to="<m1@example.fi>")
    add_messages(store, "INBOX", reply)
    link(store, "INBOX", reply)
    copy = add_messages(store, "Archive", reply)

    (again,) = link(store, "Archive", reply)

    assert again.mail_message_id == copy[2] and not again.reopened
    assert len(events(store, waiting.id, "mail_in")) == 1
    assert reasons(store, copy[2]) == [(waiting.id, "header")]


def test_a_batch_with_no_clues_asks_nothing(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_session() -> None:
        raise AssertionError("no query for a batch without clues")

    monkeypatch.setattr(store, "session", no_session)
    assert db.link_incoming_mail(store, 1, [], now=NOW) == []
