"""Each version's email: subject, stage line, changes, duration, Swedish part, headers, and the guards."""

from __future__ import annotations

import email
from datetime import UTC, datetime, timedelta
from email.policy import default

import pytest

from coordinator_tui import i18n
from coordinator_tui.hetu import check_character
from coordinator_tui.notices import compose
from coordinator_tui.notices.compose import NoticeDraft, NoticeRefused, ThreadState

START = datetime(2026, 11, 23, 8, 15, tzinfo=UTC)  # 10.15 in Helsinki
NOW = START + timedelta(minutes=20)
FROM = "omaolo@pohde.example.fi"
TO = ["anu@liminka.example.fi", "sari@kempele.example.fi"]


@pytest.fixture(autouse=True)
def english() -> None:
    i18n.set_language("en")


def draft(**changes: object) -> NoticeDraft:
    values: dict[str, object] = {
        "kind": "häiriö",
        "services": ["työjonolähetys"],
        "status": "tutkitaan",
        "start_at": START,
        "expected_end_at": START + timedelta(hours=4),
        "impact": "Oirearviot eivät siirry terveysasemien työjonoihin.",
        "instructions": "Ohjatkaa kiireelliset asiakkaat Päivystysapuun 116117.\nHätätilanteessa 112.",
        "contact": "Omaolo-koordinaattori, omaolo@pohde.example.fi",
    }
    values.update(changes)
    return NoticeDraft(**values)  # type: ignore[arg-type]


def build(d: NoticeDraft, thread: ThreadState | None = None, **options: object) -> compose.BuiltVersion:
    return compose.build_version(
        d,
        thread or ThreadState(),
        TO,
        from_address=FROM,
        from_name="Omaolo-koordinaattori",
        now=NOW,
        **options,  # type: ignore[arg-type]
    )


def test_times_and_durations_the_finnish_and_swedish_way() -> None:
    assert compose.mail_time(START) == "23.11.2026 klo 10.15"
    assert compose.mail_time(START, "sv") == "23.11.2026 kl. 10.15"
    assert compose.mail_duration(timedelta(hours=2, minutes=15)) == "2 h 15 min"
    assert compose.mail_duration(timedelta(days=1, hours=3), "sv") == "1 dygn 3 h"


def test_the_first_version_opens_the_thread() -> None:
    built = build(draft())
    message = built.message
    assert built.subject == "HÄIRIÖTIEDOTE: Omaolo – työjonolähetys – 23.11.2026 klo 10.15"
    assert built.thread_subject == built.subject
    assert built.body_fi.splitlines()[0] == "TILANNE: TUTKITAAN (23.11.2026 klo 10.35)"
    assert "Häiriö alkoi: 23.11.2026 klo 10.15" in built.body_fi
    assert "- Ohjatkaa kiireelliset asiakkaat Päivystysapuun 116117." in built.body_fi
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["To"] == f"Omaolo-koordinaattori <{FROM}>"
    assert "Bcc" not in message and "Cc" not in message
    assert "In-Reply-To" not in message and "References" not in message
    assert message["Message-ID"] == built.message_id and built.message_id.endswith("@pohde.example.fi>")
    raw = message.as_bytes()
    assert raw.isascii()
    for address in TO:
        assert address.encode() not in raw
    parsed = email.message_from_bytes(raw, policy=default)
    assert parsed["Content-Transfer-Encoding"] == "quoted-printable"
    assert "Päivystysapuun" in parsed.get_content()


def test_an_update_keeps_the_subject_threads_and_says_what_changed() -> None:
    thread = ThreadState(
        2, "HÄIRIÖTIEDOTE: Omaolo – työjonolähetys – 23.11.2026 klo 10.15", "<eka@x.fi>", "tutkitaan"
    )
    later = draft(status="syy tunnistettu", services=["työjonolähetys", "oirearviot"], changes="Syy löytyi.")
    built = build(later, thread, to_address="hairiot@pohde.example.fi")
    assert built.subject == "PÄIVITYS: HÄIRIÖTIEDOTE: Omaolo – työjonolähetys – 23.11.2026 klo 10.15"
    assert built.message["In-Reply-To"] == "<eka@x.fi>" and built.message["References"] == "<eka@x.fi>"
    assert built.message["To"] == "hairiot@pohde.example.fi"
    lines = built.body_fi.splitlines()
    assert lines[0] == "TILANNE: SYY TUNNISTETTU (päivitys 2, 23.11.2026 klo 10.35)"
    assert lines[2:4] == ["Muutokset edelliseen tiedotteeseen:", "- Syy löytyi."]


def test_resolved_states_the_duration() -> None:
    thread = ThreadState(3, "S", "<eka@x.fi>", "syy tunnistettu")
    done = draft(status="korjattu", actual_end_at=START + timedelta(hours=2, minutes=15))
    built = build(done, thread)
    assert built.subject == "KORJATTU: S"
    assert built.body_fi.splitlines()[0] == "TILANNE: KORJATTU – häiriö kesti 2 h 15 min"
    assert "Häiriön kesto: 2 h 15 min" in built.body_fi


def test_the_swedish_part_follows_and_a_missing_one_is_warned_about() -> None:
    built = build(draft(text_sv="Störning i arbetskön sedan 23.11.2026 kl. 10.15."))
    assert built.body_sv.splitlines()[0] == "LÄGE: UNDERSÖKS (23.11.2026 kl. 10.35)"
    assert compose.SWEDISH_DIVIDER in built.message.get_content()
    assert built.message["Content-Language"] == "fi, sv"
    assert build(draft(), bilingual_lists=["Tiedotteet"]).warnings == [
        "No Swedish text, but these lists expect one: Tiedotteet."
    ]


def dvv_test_code(ddmmyy: str, sign: str, individual: str) -> str:
    """A valid code in DVV's test range (individual numbers 900–999)."""
    return f"{ddmmyy}{sign}{individual}{check_character(ddmmyy + individual)}"


@pytest.mark.parametrize(
    ("field", "code"),
    [
        ("impact", dvv_test_code("010101", "-", "923")),
        ("text_fi", dvv_test_code("150505", "A", "958")),
        ("instructions", dvv_test_code("290280", "Y", "912")),
        ("text_sv", dvv_test_code("311299", "-", "990")),
    ],
)
def test_a_henkilotunnus_anywhere_refuses_the_version(field: str, code: str) -> None:
    base = draft(text_fi="Teksti.") if field != "text_fi" else draft()
    setattr(base, field, f"Asiakas {code} soitti.")
    with pytest.raises(NoticeRefused) as caught:
        build(base)
    (problem,) = [p for p in caught.value.problems if "henkilötunnus" in p]
    assert code not in problem and f"{code[:7]}***{code[-1]}" in problem


def test_every_other_reason_is_listed_at_once() -> None:
    bad = draft(
        start_at=START,
        expected_end_at=START - timedelta(hours=1),
        services=[],
        text_fi="Alkoi {start}, vaikutus {impact}.",
    )
    with pytest.raises(NoticeRefused) as caught:
        compose.build_version(bad, ThreadState(), [], from_address=FROM, now=NOW)
    problems = " ".join(caught.value.problems)
    assert "expected end is before the start" in problems
    assert "at least one affected service" in problems
    assert "at least one recipient" in problems
    assert "{start}, {impact}" in problems


def test_an_empty_required_field_is_named() -> None:
    with pytest.raises(NoticeRefused, match=r"Fill in: \{impact\}, \{contact\}"):
        build(draft(impact="", contact=""))


def test_resolved_needs_an_end_and_a_closed_thread_takes_no_more() -> None:
    with pytest.raises(NoticeRefused, match="how long it lasted"):
        build(draft(status="korjattu"), ThreadState(2, "S", "<a@b.fi>", "tutkitaan"))
    with pytest.raises(NoticeRefused, match="already closed"):
        build(draft(status="seurataan"), ThreadState(3, "S", "<a@b.fi>", "korjattu"))
    with pytest.raises(NoticeRefused, match="end is before the start"):
        build(
            draft(status="korjattu", actual_end_at=START - timedelta(minutes=1)),
            ThreadState(2, "S", "<a@b.fi>", "tutkitaan"),
        )


def test_a_maintenance_subject() -> None:
    built = build(draft(kind="huoltokatko", status="aikataulutettu", services=["koko palvelu"]))
    assert built.subject.startswith("HUOLTOKATKO: Omaolo – koko palvelu – ")
    assert "Huoltokatko alkaa: 23.11.2026 klo 10.15" in built.body_fi
