"""The sync links incoming mail to its service request (real Dovecot): headers, subject tags, merges."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from imapclient.imapclient import SEEN
from sqlmodel import select

from coordinator_tui.mail.sync import sync_account
from store import requests as db
from store.engine import Store, open_store
from store.models import MailFolder, MailMessage, RequestEvent, RequestMail, ServiceRequest
from tests.support.dovecot import Dovecot, ImapAccount
from tests.support.messages import plain, section_for

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
ME = "Sanna Kivelä"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(f"sqlite:///{tmp_path}/s.sqlite")
    yield opened
    opened.dispose()


def mail_id(store: Store, message_id: str, folder: str = "INBOX") -> int:
    with store.session() as session:
        statement = (
            select(MailMessage.id)
            .join(MailFolder)
            .where(MailMessage.message_id == message_id, MailFolder.name == folder)  # type: ignore[arg-type]
        )
        found = session.exec(statement).one()
        assert found is not None
        return found


def links(store: Store) -> dict[str, list[tuple[str, str]]]:
    """Message-ID → [(request reference, reason)] of every link."""
    with store.session() as session:
        rows = session.exec(
            select(MailMessage.message_id, ServiceRequest.reference, RequestMail.reason)
            .join(RequestMail, RequestMail.mail_message_id == MailMessage.id)  # type: ignore[arg-type]
            .join(ServiceRequest, ServiceRequest.id == RequestMail.request_id)  # type: ignore[arg-type]
        ).all()
    found: dict[str, list[tuple[str, str]]] = {}
    for message_id, reference, reason in rows:
        found.setdefault(message_id, []).append((reference, reason))
    return found


def mail_in_events(store: Store, request_id: int) -> list[tuple[str, str, str]]:
    with store.session() as session:
        rows = session.exec(
            select(RequestEvent)
            .where(RequestEvent.request_id == request_id, RequestEvent.kind == "mail_in")
            .order_by(RequestEvent.id)  # type: ignore[arg-type]
        ).all()
    return [(e.actor, e.new, e.text) for e in rows]


def request(store: Store, title: str, **values: Any) -> db.RequestRow:
    mail = values.pop("mail", ())
    return db.create_request(store, year=2026, title=title, actor=ME, now=NOW, values=values, mail=mail)


def test_the_sync_links_replies_and_tagged_mail_once(
    dovecot: Dovecot, imap_user: ImapAccount, store: Store
) -> None:
    section = section_for(imap_user)
    user = imap_user.username
    dovecot.deliver("INBOX", plain("Tunnukset puuttuvat", "Hei!\n", "<alku-1@example.fi>"), user=user)
    assert sync_account(store, section, imap_user.password).ok
    waiting = request(
        store,
        "Tunnukset puuttuvat",
        status="odottaa pyytäjää",
        mail=[(mail_id(store, "<alku-1@example.fi>"), "manual")],
    )
    working = request(store, "Työjono ei toimi", status="käsittelyssä")
    merged = request(store, "Kaksoiskappale")
    survivor = request(store, "Ajanvaraus", status="odottaa pyytäjää")
    db.merge_requests(
        store,
        merged.id,
        survivor.id,
        source_version=merged.version,
        target_version=survivor.version,
        actor=ME,
        now=NOW,
    )
    survivor_before = db.get_request(store, survivor.id)
    assert survivor_before is not None

    deliveries = [
        (
            "INBOX",
            plain(
                "Re: Tunnukset puuttuvat",
                "Tässä pyydetyt tiedot.\n",
                "<vastaus-1@example.fi>",
                in_reply_to="<alku-1@example.fi>",
                references="<alku-1@example.fi>",
            ),
        ),
        (
            "INBOX",
            plain(
                f"VS: [{working.reference}] Työjono ei toimi",
                "Lisätietoa.\n",
                "<tagi-1@example.fi>",
                sender="Jörgen Sällä <jorgen@example.fi>",
            ),
        ),
        ("INBOX", plain("Kahvihuone suljettu", "Ei liity mihinkään.\n", "<muu-1@example.fi>")),
        (
            "INBOX",
            plain(f"Re: {merged.reference} ajanvaraus", "Vielä yksi asia.\n", "<yhdistetty-1@example.fi>"),
        ),
        ("Archive", plain(f"[{working.reference}] arkistoitu", "Arkistossa.\n", "<arkisto-1@example.fi>")),
        ("Sent", plain(f"Re: [{working.reference}] Työjono", "Vastasimme.\n", "<oma-1@example.fi>")),
    ]
    for folder, raw in deliveries:
        dovecot.deliver(folder, raw, [SEEN] if folder == "Sent" else [], user=user)

    report = sync_account(store, section, imap_user.password)

    assert report.ok, report.error
    assert report.folder("INBOX").new == 4 and report.folder("INBOX").linked == 3
    assert report.folder("Archive").linked == 1 and report.folder("Sent").linked == 0
    assert links(store) == {
        "<alku-1@example.fi>": [(waiting.reference, "manual")],
        "<vastaus-1@example.fi>": [(waiting.reference, "header")],
        "<tagi-1@example.fi>": [(working.reference, "subject_tag")],
        "<yhdistetty-1@example.fi>": [(survivor.reference, "subject_tag")],
        "<arkisto-1@example.fi>": [(working.reference, "subject_tag")],
    }
    assert mail_in_events(store, waiting.id) == [("paivi@example.fi", "<vastaus-1@example.fi>", "header")]
    assert mail_in_events(store, working.id) == [
        ("jorgen@example.fi", "<tagi-1@example.fi>", "subject_tag"),
        ("paivi@example.fi", "<arkisto-1@example.fi>", "subject_tag"),
    ]
    assert mail_in_events(store, survivor.id) == [
        ("paivi@example.fi", "<yhdistetty-1@example.fi>", "subject_tag")
    ]

    reopened = db.get_request(store, waiting.id)
    assert reopened is not None
    assert reopened.status == "käsittelyssä" and reopened.version == waiting.version + 1
    assert reopened.updated_at > waiting.updated_at
    status_changes = [
        (e.field, e.old, e.new, e.actor) for e in db.history(store, waiting.id) if e.kind == "change"
    ]
    assert status_changes[-1] == ("status", "odottaa pyytäjää", "käsittelyssä", "paivi@example.fi")
    survivor_after = db.get_request(store, survivor.id)
    assert survivor_after is not None
    assert survivor_after.status == "käsittelyssä" and survivor_after.version == survivor_before.version + 1
    still = db.get_request(store, working.id)
    assert still is not None and still.status == "käsittelyssä" and still.version == working.version
    assert db.get_request(store, merged.id).status == "suljettu"  # type: ignore[union-attr]

    # A sync with nothing new links nothing again; a new reply still finds its request.
    again = sync_account(store, section, imap_user.password)
    assert again.ok and sum(f.linked for f in again.folders) == 0
    dovecot.deliver(
        "INBOX",
        plain(
            "Re: Re: Tunnukset",
            "Kiitos!\n",
            "<vastaus-2@example.fi>",
            references="<alku-1@example.fi> <vastaus-1@example.fi>",
        ),
        user=user,
    )
    third = sync_account(store, section, imap_user.password)
    assert third.ok and third.folder("INBOX").linked == 1
    assert len(mail_in_events(store, waiting.id)) == 2
    assert links(store)["<vastaus-2@example.fi>"] == [(waiting.reference, "header")]
    assert len(links(store)) == 6


def test_a_linking_failure_never_loses_mail(
    dovecot: Dovecot, imap_user: ImapAccount, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    working = request(store, "Työjono ei toimi")
    dovecot.deliver(
        "INBOX",
        plain(f"[{working.reference}] lisää", "Tietoa.\n", "<tagi-2@example.fi>"),
        user=imap_user.username,
    )

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the store broke")

    monkeypatch.setattr(db, "link_incoming_mail", broken)
    report = sync_account(store, section_for(imap_user), imap_user.password)

    assert report.ok, report.error
    assert report.folder("INBOX").new == 1 and report.folder("INBOX").linked == 0
    assert mail_id(store, "<tagi-2@example.fi>") > 0
    assert links(store) == {}
