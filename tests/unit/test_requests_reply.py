"""Mail out from a request and what follows: the reply's draft, recording it, answers finding the
request by our Message-ID, the Sent copy linked, mail unanswered before closing, the notice link."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from coordinator_tui.requests import rules
from coordinator_tui.requests.mailin import clues_of
from coordinator_tui.requests.service import (
    RequestService,
    reply_message_id,
    reply_subject_for,
    tag_message_id,
    unanswered_messages,
)
from store import requests as db
from store.engine import Store, open_store
from store.models import MailFolder, MailMessage, Notice, Person, RequestMail, Unit

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
ME = "Sanna Kivelä"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(f"sqlite:///{tmp_path}/store.sqlite")
    with opened.session() as session:
        unit = Unit(name="Limingan terveysasema")
        session.add(unit)
        session.flush()
        session.add(Person(name="Anu Oikarinen", email="anu@example.fi", unit_id=unit.id, language="fi"))
    yield opened
    opened.dispose()


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def service(store: Store, clock: Clock | None = None, actor: str = ME) -> RequestService:
    return RequestService(store, actor=actor, clock=clock or Clock())


def add_message(store: Store, folder: str, uid: int, **values: Any) -> int:
    with store.session() as session:
        found = session.exec(select(MailFolder).where(MailFolder.name == folder)).first()
        if found is None:
            found = MailFolder(name=folder, role=folder.lower() if folder in ("Sent",) else "inbox")
            session.add(found)
            session.flush()
        assert found.id is not None
        values.setdefault("message_id", f"<{folder.lower()}-{uid}@example.fi>")
        values.setdefault("date", NOW)
        message = MailMessage(folder_id=found.id, uid=uid, **values)
        session.add(message)
        session.flush()
        assert message.id is not None
        return message.id


def folder_id(store: Store, name: str) -> int:
    with store.session() as session:
        found = session.exec(select(MailFolder).where(MailFolder.name == name)).one()
        assert found.id is not None
        return found.id


def sent_message(draft_subject: str, message_id: str, to: str = "anu@example.fi") -> EmailMessage:
    message = EmailMessage()
    message["To"] = to
    message["Subject"] = draft_subject
    message["Message-ID"] = message_id
    return message


def request_from_mail(store: Store, clock: Clock | None = None) -> tuple[RequestService, db.RequestRow, int]:
    first = add_message(
        store,
        "INBOX",
        1,
        subject="VS: Työjono ei näy",
        from_name="Anu Oikarinen",
        from_addr="anu@example.fi",
        message_id="<alku@example.fi>",
        references="<vanha@example.fi>",
        date=NOW - timedelta(hours=2),
    )
    requests = service(store, clock)
    row = requests.create_from_mail(first, subject="VS: Työjono ei näy", sender="anu@example.fi")
    return requests, row, first


# --- the draft -----------------------------------------------------------------------------------


def test_the_reply_goes_to_the_requester_threaded_with_the_reference_in_the_subject(store: Store) -> None:
    requests, row, first = request_from_mail(store)
    later = add_message(
        store,
        "INBOX",
        2,
        subject=f"Re: [{row.reference}] Työjono ei näy",
        from_name="Anu Oikarinen",
        from_addr="anu@example.fi",
        message_id="<lisaa@example.fi>",
        in_reply_to="<alku@example.fi>",
        references="<vanha@example.fi> <alku@example.fi>",
        date=NOW - timedelta(hours=1),
    )
    # DigiFinland's own thread, linked by hand, is newer but not the requester's conversation.
    vendor = add_message(
        store,
        "INBOX",
        3,
        subject="DF-4242 vastaanotettu",
        from_addr="palvelupiste@digifinland.fi",
        message_id="<df@digifinland.fi>",
        date=NOW,
    )
    requests.link_mail(row.id, later, "header")
    requests.link_mail(row.id, vendor)

    draft = requests.reply_draft(row.id)

    assert draft.kind == "reply"
    assert draft.to == "Anu Oikarinen <anu@example.fi>"
    assert draft.subject == f"[{row.reference}] Työjono ei näy"
    assert draft.in_reply_to == "<lisaa@example.fi>"
    assert draft.references == "<vanha@example.fi> <alku@example.fi> <lisaa@example.fi>"
    assert draft.body == ""  # the original is never quoted
    assert draft.source_message_id == later
    assert draft.placeholder_values == {
        "name": "Anu Oikarinen",
        "reference": row.reference,
        "subject": draft.subject,
    }
    assert first != later


def test_a_request_without_mail_is_answered_under_its_title_to_the_free_address(store: Store) -> None:
    requests = service(store)
    row = requests.create("Tunnukset uudelle hoitajalle", requester_email="ville@kunta.example.fi")
    draft = requests.reply_draft(row.id)
    assert draft.to == "ville@kunta.example.fi"
    assert draft.subject == f"[{row.reference}] Tunnukset uudelle hoitajalle"
    assert (draft.in_reply_to, draft.references, draft.source_message_id) == ("", "", None)
    assert "name" not in draft.placeholder_values  # {name} stays to be filled in by hand


def test_subject_and_message_id_forms() -> None:
    assert reply_subject_for("OMA-2026-0042", "Re: [OMA-2026-0042] VS: Hei") == "[OMA-2026-0042] Hei"
    made = reply_message_id("OMA-2026-0042", "example.fi")
    assert made.endswith(".OMA-2026-0042@example.fi>") and made.startswith("<")
    assert db.reference_in_message_id(made) == "OMA-2026-0042"
    assert db.reference_in_message_id("<abc@example.fi>") is None
    message = sent_message("x", "<123.456@kunta.example.fi>")
    tag_message_id(message, "OMA-2026-0042")
    assert str(message["Message-ID"]).endswith(".OMA-2026-0042@kunta.example.fi>")
    assert len(message.get_all("Message-ID", [])) == 1


# --- recording the reply -------------------------------------------------------------------------


def test_recording_a_reply_sets_the_first_response_once_and_is_no_undo_step(store: Store) -> None:
    clock = Clock()
    requests, row, _first = request_from_mail(store, clock)
    assert row.first_response_at is None
    clock.now = NOW + timedelta(minutes=30)
    after = requests.record_reply(row.id, sent_message(f"[{row.reference}] Hei", "<r1.OMA@x.fi>"))
    assert after.first_response_at == NOW + timedelta(minutes=30)
    assert after.version == row.version + 1
    clock.now = NOW + timedelta(hours=3)
    again = requests.record_reply(row.id, sent_message(f"[{row.reference}] Hei", "<r2.OMA@x.fi>"))
    assert again.first_response_at == NOW + timedelta(minutes=30)  # the first stays
    assert again.updated_at == NOW + timedelta(hours=3)
    out = [e for e in db.history(store, row.id) if e.kind == "mail_out"]
    assert [(e.new, e.old, e.text, e.actor) for e in out] == [
        ("<r1.OMA@x.fi>", "anu@example.fi", f"[{row.reference}] Hei", ME),
        ("<r2.OMA@x.fi>", "anu@example.fi", f"[{row.reference}] Hei", ME),
    ]
    # Undo passes over the replies (mail cannot be called back) to the creation, which now has
    # a reply standing on it and so is not removed.
    last = db.last_undoable(store, ME)
    assert last is not None and last.kind == "create"
    with pytest.raises(db.CannotUndo):
        requests.undo()
    assert db.get_request(store, row.id) is not None


# --- answers find the request --------------------------------------------------------------------


def test_an_answer_to_our_reply_finds_the_request_by_its_message_id(store: Store) -> None:
    requests = service(store)
    row = requests.create("Tunnukset", requester_email="ville@kunta.example.fi")
    ours = reply_message_id(row.reference, "hva.example.fi")
    requests.record_reply(row.id, sent_message(f"[{row.reference}] Tunnukset", ours))
    requests.set_status(row.id, db.get_request(store, row.id).version, rules.WAITING_REQUESTER)  # type: ignore[union-attr]
    forged = reply_message_id(row.reference, "hva.example.fi")  # right form, never sent
    answer = {
        "uid": 1,
        "message_id": "<vastaus@kunta.example.fi>",
        "in_reply_to": ours,
        "references": ours,
        "subject": "Vs: tunnukset",
        "from_addr": "ville@kunta.example.fi",
    }
    stranger = {
        "uid": 2,
        "message_id": "<vieras@muu.example>",
        "in_reply_to": forged,
        "references": "",
        "subject": "Vs: jotain",
        "from_addr": "x@muu.example",
    }
    for values in (answer, stranger):
        add_message(store, "INBOX", **{k: v for k, v in values.items() if k != "uid"}, uid=values["uid"])
    clues = [found for values in (answer, stranger) if (found := clues_of(values["uid"], values))]

    links = db.link_incoming_mail(store, folder_id(store, "INBOX"), clues, now=NOW + timedelta(hours=1))

    assert [(link.request_id, link.reason, link.reopened) for link in links] == [(row.id, "header", True)]
    reopened = db.get_request(store, row.id)
    assert reopened is not None and reopened.status == rules.IN_PROGRESS


def test_the_sent_copy_of_a_reply_is_linked_as_ours(store: Store) -> None:
    requests = service(store)
    row = requests.create("Tunnukset", requester_email="ville@kunta.example.fi")
    ours = reply_message_id(row.reference, "hva.example.fi")
    requests.record_reply(row.id, sent_message(f"[{row.reference}] Tunnukset", ours))
    copy = {
        "uid": 5,
        "message_id": ours,
        "in_reply_to": "",
        "references": "",
        "subject": f"[{row.reference}] Tunnukset",
        "from_addr": "omaolo@hva.example.fi",
    }
    other = {
        "uid": 6,
        "message_id": "<muu@hva.example.fi>",
        "in_reply_to": "",
        "references": "",
        "subject": f"[{row.reference}] käsin kirjoitettu",
        "from_addr": "omaolo@hva.example.fi",
    }
    ids = {}
    for values in (copy, other):
        ids[values["uid"]] = add_message(
            store, "Sent", values["uid"], **{k: v for k, v in values.items() if k != "uid"}
        )
    clues = [found for values in (copy, other) if (found := clues_of(values["uid"], values))]

    assert db.link_sent_copies(store, folder_id(store, "Sent"), clues, now=NOW) == 1
    assert db.link_sent_copies(store, folder_id(store, "Sent"), clues, now=NOW) == 0  # never twice
    assert db.linked_mail(store, row.id) == [(ids[5], "sent")]
    (linked,) = db.linked_messages(store, row.id)
    assert (linked.folder_role, linked.reason, linked.message_id) == ("sent", "sent", ours)


# --- mail unanswered -----------------------------------------------------------------------------


def test_mail_after_the_last_reply_is_unanswered(store: Store) -> None:
    clock = Clock()
    requests, row, first = request_from_mail(store, clock)
    assert [m.mail_message_id for m in requests.unanswered(row.id)] == [first]
    requests.record_reply(row.id, sent_message("x", "<r1@x.fi>"))
    assert requests.unanswered(row.id) == []
    later = add_message(store, "INBOX", 9, from_addr="anu@example.fi", date=NOW + timedelta(minutes=5))
    requests.link_mail(row.id, later, "header")
    assert [m.mail_message_id for m in requests.unanswered(row.id)] == [later]
    with store.session() as session:  # answered from the Mail screen (\Answered)
        message = session.get(MailMessage, later)
        assert message is not None
        message.answered = True
        session.add(message)
    assert requests.unanswered(row.id) == []


def test_a_linked_copy_in_sent_counts_as_a_reply() -> None:
    def linked(role: str, minutes: int) -> db.LinkedMessage:
        return db.LinkedMessage(
            minutes, "manual", NOW, "", "", "", "", "", "", NOW + timedelta(minutes=minutes), role, False
        )

    messages = [linked("inbox", 0), linked("sent", 10), linked("inbox", 20)]
    assert [m.mail_message_id for m in unanswered_messages(messages, None)] == [20]
    assert unanswered_messages(messages, NOW + timedelta(minutes=30)) == []


# --- the notice ----------------------------------------------------------------------------------


def test_linking_the_notice_is_a_change_with_undo(store: Store) -> None:
    with store.session() as session:
        notice = Notice(subject="Häiriö: Omaolon työjono ei toimi", is_open=True)
        session.add(notice)
        session.flush()
        notice_id = notice.id
    assert notice_id is not None
    requests = service(store)
    row = requests.create("Työjono ei toimi")
    assert [n.id for n in requests.open_notices()] == [notice_id]
    linked = requests.link_notice(row.id, row.version, notice_id)
    assert linked.notice_id == notice_id and linked.version == row.version + 1
    assert requests.notice_subject(notice_id) == ("Häiriö: Omaolon työjono ei toimi", True)
    change = [e for e in db.history(store, row.id) if e.kind == "change"][-1]
    assert (change.field, change.old, change.new) == ("notice_id", "", str(notice_id))
    with pytest.raises(db.Conflict):
        requests.link_notice(row.id, row.version, None)  # a stale version writes nothing
    requests.undo()
    back = db.get_request(store, row.id)
    assert back is not None and back.notice_id is None
    with store.session() as session:
        assert session.exec(select(RequestMail)).all() == []


def test_placeholder_like_words_the_app_does_not_know_are_found() -> None:
    from coordinator_tui.mail.canned import unknown_placeholders

    text = "Hei {etunimi}, asia {reference} {{ei tämä}} {1} { väli } {Äiti} {etunimi}"
    assert unknown_placeholders(text) == ["{etunimi}", "{Äiti}"]
    assert unknown_placeholders("Hei {name}, {subject}") == []
