"""The store reads and writes behind the Notices screen: the list with each notice's version states,
the coordinator's decision on an "unknown" batch, delivery counts, linked requests, units."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from coordinator_tui import i18n
from coordinator_tui.notices import recipients, send
from coordinator_tui.notices.compose import NoticeDraft
from store import notices as notice_store
from store import outbox as outbox_store
from store.engine import Store, open_store, url_for_path
from store.models import ServiceRequest
from tests.support.notice_directory import Directory, build_directory

START = datetime(2026, 11, 23, 8, 15, tzinfo=UTC)
FROM = "omaolo@pohde.example.fi"


@pytest.fixture(autouse=True)
def english() -> None:
    i18n.set_language("en")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = open_store(url_for_path(tmp_path / "store.sqlite"))
    yield store
    store.dispose()


@pytest.fixture
def directory(store: Store) -> Directory:
    return build_directory(store)


def queue(store: Store, directory: Directory, notice_id: int | None = None, **changes: object):  # type: ignore[no-untyped-def]
    values: dict[str, object] = {
        "services": ["työjonolähetys"],
        "start_at": START,
        "impact": "Oirearviot eivät siirry.",
        "instructions": "Soittakaa 116117",
        "contact": FROM,
    }
    values.update(changes)
    queued, _built = send.queue(
        store,
        notice_id,
        NoticeDraft(**values),  # type: ignore[arg-type]
        recipients.Choice(lists=[directory.notice_list]),
        from_address=FROM,
    )
    return queued


def interrupted(store: Store, outbox_id: int) -> None:
    """As a crash after the server took the text: two unknown, one never offered."""
    outbox_store.start_sending(store, outbox_id)
    outbox_store.record_deliveries(
        store,
        outbox_id,
        {"anu@liminka.example.fi": ("unknown", ""), "ville@liminka.example.fi": ("unknown", "")},
    )
    assert outbox_store.mark_interrupted(store) == 1


def test_the_list_shows_open_notices_first_with_their_version_states(
    store: Store, directory: Directory
) -> None:
    old = queue(store, directory, start_at=START - timedelta(days=30))
    queue(
        store,
        directory,
        old.notice_id,
        status="korjattu",
        start_at=START - timedelta(days=30),
        actual_end_at=START - timedelta(days=29),
    )
    current = queue(store, directory)
    interrupted(store, current.outbox_id)
    scheduled, _built = send.queue(
        store,
        current.notice_id,
        NoticeDraft(
            services=["työjonolähetys"],
            status="seurataan",
            start_at=START,
            impact="x",
            instructions="y",
            contact=FROM,
        ),
        recipients.Choice(lists=[directory.notice_list]),
        from_address=FROM,
        scheduled_at=START + timedelta(hours=2),
    )
    rows = notice_store.notice_summaries(store)
    assert [row.notice.id for row in rows] == [current.notice_id, old.notice_id]
    first = rows[0]
    assert (first.versions, first.unknown, first.failed, first.scheduled) == (2, 1, 0, 1)
    assert rows[1].versions == 2 and not rows[1].notice.is_open
    assert [row.notice.id for row in notice_store.notice_summaries(store, match="ajanvaraus")] == []
    assert [row.notice.id for row in notice_store.notice_summaries(store, match="seurataan")] == [
        current.notice_id
    ]
    assert scheduled.number == 2


def test_marking_an_unknown_batch_sent_keeps_the_never_offered_waiting(
    store: Store, directory: Directory
) -> None:
    queued = queue(store, directory)
    interrupted(store, queued.outbox_id)
    counts = outbox_store.delivery_counts(store, [queued.outbox_id])
    assert counts == {queued.outbox_id: {"unknown": 2, "pending": 1}}
    assert outbox_store.mark_unknown_sent(store, queued.outbox_id, "marked sent") == 2
    assert outbox_store.outgoing_message(store, queued.outbox_id).state == "sent"
    assert outbox_store.delivery_counts(store, [queued.outbox_id]) == {
        queued.outbox_id: {"accepted": 2, "pending": 1}
    }
    assert outbox_store.waiting_recipients(store, queued.outbox_id) == ["sari@kempele.example.fi"]
    with pytest.raises(outbox_store.OutboxStateError):
        outbox_store.mark_unknown_sent(store, queued.outbox_id, "twice")


def test_sending_again_puts_only_the_unknown_back_to_waiting(store: Store, directory: Directory) -> None:
    queued = queue(store, directory)
    with pytest.raises(outbox_store.OutboxStateError):  # a queued row is not "unknown"
        outbox_store.requeue_unknown(store, queued.outbox_id)
    interrupted(store, queued.outbox_id)
    assert outbox_store.requeue_unknown(store, queued.outbox_id) == 2
    assert sorted(outbox_store.waiting_recipients(store, queued.outbox_id)) == [
        "anu@liminka.example.fi",
        "sari@kempele.example.fi",
        "ville@liminka.example.fi",
    ]
    resumed = outbox_store.resume_sending(store, queued.outbox_id, from_unknown=True)
    assert resumed.state == "sending"


def test_linked_requests_are_the_open_ones_with_their_newest_mail(store: Store, directory: Directory) -> None:
    from coordinator_tui.requests.service import RequestService
    from store.models import MailFolder, MailMessage, RequestMail

    queued = queue(store, directory)
    service = RequestService(store, clock=lambda: START)
    asked = service.create("Omaolo ei toimi?", requester_email="anu@liminka.example.fi")
    closed = service.create("Vanha", requester_email="x@example.fi")
    service.set_status(closed.id, closed.version, "suljettu")
    service.create("Ei linkitetty", requester_email="y@example.fi")
    with store.session() as session:
        folder = MailFolder(name="INBOX", role="inbox")
        session.add(folder)
        session.flush()
        assert folder.id is not None
        for uid, (message_id, day) in enumerate((("<vanha@x>", 1), ("<uusi@x>", 2)), start=1):
            mail = MailMessage(
                folder_id=folder.id,
                uid=uid,
                message_id=message_id,
                subject="Omaolo ei toimi?",
                date=START + timedelta(days=day),
            )
            session.add(mail)
            session.flush()
            assert mail.id is not None
            session.add(RequestMail(request_id=asked.id, mail_message_id=mail.id))
        for request_id in (asked.id, closed.id):
            row = session.get(ServiceRequest, request_id)
            assert row is not None
            row.notice_id = queued.notice_id
            session.add(row)
    found = notice_store.linked_requests(store, queued.notice_id)
    assert [(r.reference, r.last_message_id) for r in found] == [(asked.reference, "<uusi@x>")]
    assert len(notice_store.linked_requests(store, queued.notice_id, open_only=False)) == 2


def test_units_come_with_their_active_people(store: Store, directory: Directory) -> None:
    units = {unit.name: unit.people for unit in notice_store.units_with_people(store)}
    assert units == {"Kempeleen terveysasema": 2, "Limingan terveysasema": 2}
