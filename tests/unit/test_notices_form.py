"""The compose form's rules: times as typed, templates filled or shown with what is missing, what
changed since the last version, saved drafts, and the reply to a linked request."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.policy import default
from pathlib import Path

import pytest

from coordinator_tui import i18n
from coordinator_tui.notices import drafts, form, linked, templates
from coordinator_tui.notices.compose import NoticeDraft
from coordinator_tui.timefmt import HELSINKI
from store.notices import LinkedRequest

NOW = datetime(2026, 11, 26, 7, 30, tzinfo=UTC)  # 9.30 in Helsinki


@pytest.fixture(autouse=True)
def english() -> None:
    i18n.set_language("en")


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("23.11.2026 10.15", datetime(2026, 11, 23, 10, 15, tzinfo=HELSINKI)),
        ("23.11.2026 klo 10.15", datetime(2026, 11, 23, 10, 15, tzinfo=HELSINKI)),
        ("23.11.2026 kl. 8:05", datetime(2026, 11, 23, 8, 5, tzinfo=HELSINKI)),
        ("1.12. 18.00", datetime(2026, 12, 1, 18, 0, tzinfo=HELSINKI)),
        ("10.15", datetime(2026, 11, 26, 10, 15, tzinfo=HELSINKI)),
        ("klo 7.45", datetime(2026, 11, 26, 7, 45, tzinfo=HELSINKI)),
        ("2026-11-23 10:15", datetime(2026, 11, 23, 10, 15, tzinfo=HELSINKI)),
        ("nyt", datetime(2026, 11, 26, 9, 30, tzinfo=HELSINKI)),
        ("  ", None),
    ],
)
def test_times_are_read_the_finnish_way(typed: str, expected: datetime | None) -> None:
    assert form.parse_time(typed, NOW) == expected


@pytest.mark.parametrize("typed", ["huomenna", "31.2.2026 10.00", "25.00", "10"])
def test_a_time_that_cannot_be_read_says_how_to_write_it(typed: str) -> None:
    with pytest.raises(form.TimeError, match=r"23\.11\.2026 10\.15"):
        form.parse_time(typed, NOW)


def test_a_time_is_shown_for_editing_as_it_is_typed() -> None:
    moment = datetime(2026, 11, 23, 6, 5, tzinfo=UTC)
    assert form.format_time(moment) == "23.11.2026 8.05"
    assert form.parse_time(form.format_time(moment), NOW) == moment
    assert form.format_time(None) == ""


def draft(**changes: object) -> NoticeDraft:
    values: dict[str, object] = {
        "services": ["työjonolähetys"],
        "start_at": datetime(2026, 11, 26, 6, 15, tzinfo=UTC),
        "impact": "Oirearviot eivät siirry.",
        "instructions": "Soittakaa 116117",
        "contact": "omaolo@pohde.example.fi",
    }
    values.update(changes)
    return NoticeDraft(**values)  # type: ignore[arg-type]


def test_the_template_is_filled_from_the_fields() -> None:
    source = form.template_source(templates.bundled_templates(), "häiriö", "tutkitaan", "fi")
    rendered = form.render_text(source, draft(), "fi")
    assert rendered.problems == []
    assert "toimintoja: työjonolähetys." in rendered.text
    assert "Häiriö alkoi: 26.11.2026 klo 8.15" in rendered.text
    assert "Arvioitu korjausaika" not in rendered.text  # no expected end: the line goes
    assert "- Soittakaa 116117" in rendered.text


def test_unknown_and_empty_placeholders_are_problems_and_shown_as_missing() -> None:
    source = "Palvelu: {services}\nVaikutus: {impact}\nArvio: {expected_end}\n{tuntematon}"
    rendered = form.render_text(source, draft(impact=""), "fi")
    assert rendered.text == ""
    joined = " ".join(rendered.problems)
    assert "{tuntematon}" in joined and "{impact}" in joined
    shown = form.display_text(source, draft(impact=""), "fi")
    assert shown == "Palvelu: työjonolähetys\nVaikutus: ⟨impact⟩\n⟨tuntematon⟩"


def test_an_update_says_what_changed_in_finnish_and_swedish() -> None:
    previous = form.Previous(
        status="tutkitaan",
        services=["työjonolähetys"],
        expected_end_at=None,
        actual_end_at=None,
        impact="Oirearviot eivät siirry.",
        instructions="Soittakaa 116117",
    )
    new = draft(
        status="syy tunnistettu",
        expected_end_at=datetime(2026, 11, 26, 10, 0, tzinfo=UTC),
        instructions="Soittakaa 116117\nHätätilanteessa 112",
    )
    assert form.describe_changes(previous, new, "fi").split("\n") == [
        "Tilanne: Tutkitaan → Syy tunnistettu",
        "Arvioitu päättymisaika: ei arviota → 26.11.2026 klo 12.00",
        "Toimintaohjetta on päivitetty.",
    ]
    assert form.describe_changes(previous, new, "sv").startswith(
        "Läge: Undersöks → Orsaken har identifierats"
    )
    assert form.describe_changes(previous, draft(status="tutkitaan"), "fi") == ""
    with_seconds = form.Previous(
        **{**previous.__dict__, "expected_end_at": datetime(2026, 11, 26, 10, 0, 42, tzinfo=UTC)}
    )
    same_minute = draft(expected_end_at=datetime(2026, 11, 26, 10, 0, tzinfo=UTC))
    assert form.describe_changes(with_seconds, same_minute, "fi") == ""  # as written, nothing changed


def test_a_resolve_starts_at_the_resolved_stage_ending_now() -> None:
    start = datetime(2026, 11, 26, 6, 15, tzinfo=UTC)
    resolved = form.next_draft(
        "häiriö", ["oirearviot"], "seurataan", start, None, None, "x", "y", "z", mode="resolve", now=NOW
    )
    assert resolved.status == "korjattu"
    assert resolved.actual_end_at == NOW
    maintenance = form.next_draft(
        "huoltokatko",
        ["koko palvelu"],
        "käynnissä",
        start,
        None,
        None,
        "x",
        "y",
        "z",
        mode="resolve",
        now=NOW,
    )
    assert maintenance.status == "päättynyt"
    update = form.next_draft(
        "häiriö", ["oirearviot"], "seurataan", start, None, None, "x", "y", "z", mode="update", now=NOW
    )
    assert update.status == "seurataan" and update.actual_end_at is None
    assert form.lasted(start, None, NOW) == timedelta(hours=1, minutes=15)


def test_drafts_are_saved_listed_and_removed(tmp_path: Path) -> None:
    first = drafts.save(drafts.SavedDraft(impact="Työjono ei toimi", lists=[1], everyone=False), tmp_path)
    second = drafts.save(drafts.SavedDraft(mode="update", notice_id=7, changes="Syy löytyi"), tmp_path)
    assert first.key.startswith("new-") and second.key == "notice-7"
    (tmp_path / "broken.json").write_text("{not json", encoding="utf-8")
    drafts.remember_choice(7, [1, 2], [3], False, tmp_path)
    found = drafts.load_all(tmp_path)
    assert [draft.key for draft in found] == ["notice-7", first.key]  # newest first; junk skipped
    assert found[1].impact == "Työjono ei toimi" and found[1].lists == [1]
    assert drafts.for_notice(7, tmp_path) is not None
    assert drafts.last_choice(7, tmp_path) == ([1, 2], [3], False)
    assert drafts.last_choice(8, tmp_path) is None
    drafts.delete(first.key, tmp_path)
    drafts.delete("../escape", tmp_path)
    assert [draft.key for draft in drafts.load_all(tmp_path)] == ["notice-7"]


def test_the_reply_to_a_linked_request_threads_and_carries_its_reference() -> None:
    request = LinkedRequest(
        id=1,
        reference="OMA-2026-0042",
        title="Omaolo ei toimi?",
        status="uusi",
        version=1,
        requester_email="anu@liminka.example.fi",
        last_message_id="<kysymys@liminka.example.fi>",
        last_references="<alku@liminka.example.fi>",
        last_subject="VS: Omaolo ei toimi?",
    )
    message = linked.reply_message(
        request,
        "TILANNE: KORJATTU – häiriö kesti 1 h 15 min",
        from_address="omaolo@pohde.example.fi",
        now=NOW,
    )
    parsed = message_from_bytes(message.as_bytes(), policy=default)
    assert parsed["Subject"] == "Re: [OMA-2026-0042] Omaolo ei toimi?"
    assert parsed["To"] == "anu@liminka.example.fi"
    assert parsed["In-Reply-To"] == "<kysymys@liminka.example.fi>"
    assert parsed["References"] == "<alku@liminka.example.fi> <kysymys@liminka.example.fi>"
    assert "kesti 1 h 15 min" in parsed.get_content()
    without_address = LinkedRequest(**{**request.__dict__, "requester_email": ""})
    with pytest.raises(ValueError, match="OMA-2026-0042"):
        linked.reply_message(without_address, "x", from_address="omaolo@pohde.example.fi", now=NOW)
