"""Recipients resolved from the directory, and a version queued with its notice and outbox row at once."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from coordinator_tui import i18n
from coordinator_tui.notices import recipients, send
from coordinator_tui.notices.atom import feed_xml
from coordinator_tui.notices.compose import NoticeDraft, NoticeRefused
from store import notices as notice_store
from store.engine import Store, open_store, url_for_path
from store.models import Delivery, Outbox
from store.outbox import (
    OutboxStateError,
    record_deliveries,
    resume_sending,
    start_sending,
    waiting_recipients,
)
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


def test_a_static_bilingual_list(store: Store, directory: Directory) -> None:
    found = recipients.resolve(store, recipients.Choice(lists=[directory.notice_list]))
    assert found.addresses == [
        "anu@liminka.example.fi",
        "ville@liminka.example.fi",
        "sari@kempele.example.fi",
    ]
    assert found.invalid == [("Rikki Osoite", "rikki(at)kempele")]  # flagged, left out
    assert found.bilingual_lists == ["Häiriötiedotteet – Störningsmeddelanden"]
    assert found.swedish_readers == 1


def test_a_rule_list_and_duplicates_across_lists(store: Store, directory: Directory) -> None:
    found = recipients.resolve(
        store, recipients.Choice(lists=["työjonolähetystä käyttävät", directory.steering])
    )
    assert found.addresses == ["anu@liminka.example.fi"]  # ANU@... is the same address
    assert found.bilingual_lists == []


def test_units_everyone_and_unknown_lists(store: Store, directory: Directory) -> None:
    units = recipients.resolve(store, recipients.Choice(units=[directory.kempele], lists=["Ei ole"]))
    assert units.addresses == ["sari@kempele.example.fi"]
    assert units.unknown_lists == ["Ei ole"]
    everyone = recipients.resolve(store, recipients.Choice(everyone=True))
    assert everyone.count == 3 and "poissa@kempele.example.fi" not in everyone.addresses


def draft(**changes: object) -> NoticeDraft:
    values: dict[str, object] = {
        "services": ["työjonolähetys"],
        "start_at": START,
        "impact": "Oirearviot eivät siirry työjonoihin.",
        "instructions": "Ohjatkaa asiakkaat Päivystysapuun 116117.",
        "contact": FROM,
    }
    values.update(changes)
    return NoticeDraft(**values)  # type: ignore[arg-type]


def test_queue_commits_notice_version_and_outbox_together(store: Store, directory: Directory) -> None:
    choice = recipients.Choice(lists=[directory.notice_list])
    first, built = send.queue(
        store, None, draft(), choice, from_address=FROM, now=START + timedelta(minutes=5)
    )
    notice = notice_store.get_notice(store, first.notice_id)
    assert notice.thread_message_id == first.message_id == built.message_id
    assert notice.subject == built.subject and notice.is_open and notice.status == "tutkitaan"
    assert notice.text_fi.startswith("Omaolo-palvelussa on häiriö") and "TILANNE" not in notice.text_fi
    with store.session() as session:
        row = session.exec(select(Outbox)).one()
        assert (row.kind, row.state, row.message_id) == ("notice", "queued", first.message_id)
        assert json.loads(row.recipients) == [
            "anu@liminka.example.fi",
            "ville@liminka.example.fi",
            "sari@kempele.example.fi",
        ]
    update, built2 = send.queue(
        store,
        first.notice_id,
        draft(status="seurataan", changes="Korjaus asennettu."),
        choice,
        from_address=FROM,
    )
    assert update.number == 2 and built2.message["In-Reply-To"] == first.message_id
    _resolved, built3 = send.queue(
        store,
        first.notice_id,
        draft(status="korjattu", actual_end_at=START + timedelta(hours=1)),
        choice,
        from_address=FROM,
    )
    assert built3.subject.startswith("KORJATTU: HÄIRIÖTIEDOTE:")
    notice = notice_store.get_notice(store, first.notice_id)
    assert not notice.is_open and notice.status == "korjattu"
    assert [v.number for v in notice_store.versions(store, first.notice_id)] == [1, 2, 3]
    assert notice_store.list_notices(store)[0].id == first.notice_id
    with pytest.raises(NoticeRefused, match="already closed"):
        send.queue(store, first.notice_id, draft(status="seurataan"), choice, from_address=FROM)


def test_a_refused_version_leaves_nothing_behind(store: Store, directory: Directory) -> None:
    with pytest.raises(NoticeRefused, match="at least one recipient"):
        send.queue(store, None, draft(), recipients.Choice(lists=["Ei ole"]), from_address=FROM)
    with store.session() as session:
        assert session.exec(select(Outbox)).all() == []
    assert notice_store.list_notices(store) == []


def test_resume_offers_only_the_waiting_recipients(store: Store, directory: Directory) -> None:
    queued, _built = send.queue(store, None, draft(), recipients.Choice(everyone=True), from_address=FROM)
    with pytest.raises(OutboxStateError):
        resume_sending(store, queued.outbox_id)  # queued rows are started, not resumed
    start_sending(store, queued.outbox_id)
    record_deliveries(
        store,
        queued.outbox_id,
        {"anu@liminka.example.fi": ("accepted", "250"), "ville@liminka.example.fi": ("unknown", "")},
    )
    assert waiting_recipients(store, queued.outbox_id) == ["sari@kempele.example.fi"]
    from store.outbox import finish_sending

    finish_sending(store, queued.outbox_id, "failed", "yhteys katkesi")
    resume_sending(store, queued.outbox_id)
    record_deliveries(store, queued.outbox_id, {"sari@kempele.example.fi": ("accepted", "250")})
    finish_sending(store, queued.outbox_id, "sent")
    with pytest.raises(OutboxStateError):
        resume_sending(store, queued.outbox_id)  # nobody waiting: the unknown one is never offered
    with store.session() as session:
        assert len(session.exec(select(Delivery)).all()) == 3


def test_an_unknown_row_resumes_only_by_the_users_decision(store: Store, directory: Directory) -> None:
    from store.outbox import mark_interrupted

    queued, _built = send.queue(store, None, draft(), recipients.Choice(everyone=True), from_address=FROM)
    start_sending(store, queued.outbox_id)
    record_deliveries(store, queued.outbox_id, {"anu@liminka.example.fi": ("unknown", "")})
    assert mark_interrupted(store) == 1  # the crash, found at start-up
    with pytest.raises(OutboxStateError):
        resume_sending(store, queued.outbox_id)
    resume_sending(store, queued.outbox_id, from_unknown=True)
    assert waiting_recipients(store, queued.outbox_id) == [
        "ville@liminka.example.fi",
        "sari@kempele.example.fi",
    ]


def test_the_feed_lists_sent_versions_only(store: Store, directory: Directory) -> None:
    queued, _built = send.queue(store, None, draft(), recipients.Choice(everyone=True), from_address=FROM)
    assert "<entry>" not in feed_xml(store)
    notice_store.mark_version_sent(store, queued.version_id, START)
    xml = feed_xml(store)
    assert xml.count("<entry>") == 1 and "HÄIRIÖTIEDOTE" in xml


def test_preview_shows_the_exact_email_or_every_problem_and_stores_nothing(
    store: Store, directory: Directory
) -> None:
    choice = recipients.Choice(lists=[directory.notice_list, "Ei ole"])
    blocked = send.preview(store, None, draft(impact=""), choice, from_address=FROM)
    assert blocked.built is None and any("{impact}" in p for p in blocked.problems)
    assert blocked.resolution.count == 3
    assert any("Rikki Osoite <rikki(at)kempele>" in w for w in blocked.warnings)
    assert any("Ei ole" in w for w in blocked.warnings)
    message_id = "<notice.fixed@pohde.example.fi>"
    shown = send.preview(store, None, draft(), choice, from_address=FROM, message_id=message_id, now=START)
    assert shown.built is not None and shown.problems == []
    assert any("No Swedish text" in w for w in shown.warnings)
    assert send.confirmation(shown) == (
        "Send version 1 to 3 people (Häiriötiedotteet – Störningsmeddelanden), in Finnish only?"
    )
    assert notice_store.list_notices(store) == []
    queued, built = send.queue(
        store, None, draft(), choice, from_address=FROM, message_id=message_id, now=START
    )
    assert queued.message_id == message_id
    assert built.message.as_bytes() == shown.built.message.as_bytes()
