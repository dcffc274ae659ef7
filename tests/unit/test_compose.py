"""Replies, forwards and canned replies: threading headers, recipients, no quoting, placeholders."""

from __future__ import annotations

import email
import email.message
import quopri
from datetime import UTC, datetime
from email.policy import default
from pathlib import Path

import pytest
from sqlmodel import select

from coordinator_tui.mail import canned
from coordinator_tui.mail.canned import (
    PLACEHOLDERS,
    CannedError,
    CannedReply,
    bundled_replies,
    filter_replies,
    load_replies,
    placeholders_in,
    render,
    unfilled_placeholders,
    write_defaults,
)
from coordinator_tui.mail.compose import (
    REFERENCES_KEPT,
    Draft,
    DraftError,
    build_message,
    envelope_recipients,
    forward_draft,
    forward_subject,
    hetu_block_message,
    hetu_in_draft,
    hetu_in_original,
    parse_recipients,
    reply_draft,
    reply_references,
    reply_subject,
)
from store.engine import Store, open_store, url_for_path
from store.models import MailFolder, MailMessage

OWN = "omaolo@pohde.example.fi"
SECRET_LINE = "Asiakas kertoi oireistaan: rintakipua ja hengenahdistusta."
HETU = "131052-308T"


@pytest.fixture
def store(tmp_path: Path):  # type: ignore[no-untyped-def]
    store = open_store(url_for_path(tmp_path / "store.sqlite"))
    yield store
    store.dispose()


def add_message(store: Store, **values: object) -> int:
    row: dict[str, object] = {
        "uid": 1,
        "message_id": "<palaute-1@asiakas.example.fi>",
        "subject": "Palaute Omaolosta",
        "from_name": "Päivi Meriläinen",
        "from_addr": "paivi@asiakas.example.fi",
        "to_addrs": f"Omaolo-koordinaattori <{OWN}>",
        "cc_addrs": "",
        "date": datetime(2026, 11, 26, 7, 30, tzinfo=UTC),
        "body_text": f"Hei,\n{SECRET_LINE}\nTerveisin Päivi\n",
    }
    row.update(values)
    with store.session() as session:
        folder = session.exec(select(MailFolder).where(MailFolder.name == "INBOX")).first()
        if folder is None:
            folder = MailFolder(name="INBOX", role="inbox")
            session.add(folder)
            session.flush()
        message = MailMessage(folder_id=folder.id, **row)  # type: ignore[arg-type]
        session.add(message)
        session.flush()
        assert message.id is not None
        return message.id


# --- subjects ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("original", "expected"),
    [
        ("Palaute Omaolosta", "Re: Palaute Omaolosta"),
        ("Re: Palaute", "Re: Palaute"),
        ("RE: Palaute", "Re: Palaute"),
        ("VS: Palaute", "Re: Palaute"),
        ("Sv: Respons", "Re: Respons"),
        ("SV: Respons", "Re: Respons"),
        ("AW: Frage", "Re: Frage"),
        ("Re: VS: RE: Palaute", "Re: Palaute"),
        ("RE[2]: Palaute", "Re: Palaute"),
        ("Re:Palaute", "Re: Palaute"),
        ("Fwd: Palaute", "Re: Fwd: Palaute"),
        ("Reseptin uusiminen", "Re: Reseptin uusiminen"),  # "Re" inside a word is not a prefix
        ("Vsk-asia", "Re: Vsk-asia"),
        ("", "Re:"),
        ("[OMA-2026-0042] Työjono jumissa", "Re: [OMA-2026-0042] Työjono jumissa"),
    ],
)
def test_reply_subject_gets_re_once(original: str, expected: str) -> None:
    assert reply_subject(original) == expected


@pytest.mark.parametrize(
    ("original", "expected"),
    [
        ("Palaute", "Fwd: Palaute"),
        ("Fwd: Palaute", "Fwd: Palaute"),
        ("FW: Palaute", "Fwd: Palaute"),
        ("VL: Palaute", "Fwd: Palaute"),
        ("VB: Respons", "Fwd: Respons"),
        ("Re: Palaute", "Fwd: Re: Palaute"),
    ],
)
def test_forward_subject_gets_fwd_once(original: str, expected: str) -> None:
    assert forward_subject(original) == expected


def test_a_subject_with_a_newline_cannot_inject_a_header() -> None:
    assert "\n" not in reply_subject("Palaute\r\nBcc: vieras@example.com")


# --- threading -----------------------------------------------------------------------------------


def test_references_are_the_originals_plus_its_message_id() -> None:
    assert reply_references("<a@x> <b@x>", "<b@x>", "<c@x>") == "<a@x> <b@x> <c@x>"
    assert reply_references("", "<b@x>", "<c@x>") == "<b@x> <c@x>"  # no References: In-Reply-To
    assert reply_references("", "", "<c@x>") == "<c@x>"
    assert reply_references("<a@x> <c@x>", "", "<c@x>") == "<a@x> <c@x>"  # no duplicates


def test_a_long_thread_keeps_its_root_and_the_newest_references() -> None:
    chain = " ".join(f"<m{i}@x>" for i in range(60))
    kept = reply_references(chain, "", "<new@x>").split()
    assert len(kept) == REFERENCES_KEPT
    assert kept[0] == "<m0@x>"
    assert kept[-1] == "<new@x>"
    assert kept[-2] == "<m59@x>"


def test_reply_threads_and_never_quotes(store: Store) -> None:
    message_id = add_message(
        store, references="<root@x> <parent@x>", in_reply_to="<parent@x>", subject="VS: Palaute"
    )
    draft = reply_draft(store, message_id, reply_all=False, own_addresses=[OWN])
    assert draft.kind == "reply"
    assert draft.subject == "Re: Palaute"
    assert draft.in_reply_to == "<palaute-1@asiakas.example.fi>"
    assert draft.references == "<root@x> <parent@x> <palaute-1@asiakas.example.fi>"
    assert draft.body == ""
    assert SECRET_LINE not in draft.body and "rintakipua" not in draft.body
    assert parse_recipients(draft.to)[0].addr == "paivi@asiakas.example.fi"
    assert draft.cc == ""
    assert draft.source_message_id == message_id
    assert draft.placeholder_values["name"] == "Päivi Meriläinen"


def test_reply_all_is_sender_to_and_cc_without_own_addresses_or_duplicates(store: Store) -> None:
    message_id = add_message(
        store,
        to_addrs=f"Omaolo-koordinaattori <{OWN}>, Sari Öhman <sari@pohde.example.fi>",
        cc_addrs="PAIVI@asiakas.example.fi, Tuki <tuki@digifinland.example.fi>, "
        "sari@pohde.example.fi, koordinaattori@pohde.example.fi",
    )
    draft = reply_draft(
        store, message_id, reply_all=True, own_addresses=[OWN.upper(), "koordinaattori@pohde.example.fi"]
    )
    assert [r.addr for r in parse_recipients(draft.to)] == ["paivi@asiakas.example.fi"]
    assert [r.addr for r in parse_recipients(draft.cc)] == [
        "sari@pohde.example.fi",
        "tuki@digifinland.example.fi",
    ]
    assert envelope_recipients(draft) == [
        "paivi@asiakas.example.fi",
        "sari@pohde.example.fi",
        "tuki@digifinland.example.fi",
    ]
    assert draft.kind == "reply_all"


def test_reply_uses_reply_to_and_the_header_block_when_stored(store: Store) -> None:
    headers = (
        "From: Päivi Meriläinen <paivi@asiakas.example.fi>\r\n"
        "Reply-To: Palvelupiste <palvelupiste@asiakas.example.fi>\r\n"
        f'To: "Meriläinen, Pekka" <pekka@asiakas.example.fi>, {OWN}\r\n'
        "Subject: Palaute\r\n\r\n"
    )
    message_id = add_message(store, headers=headers, to_addrs="Meriläinen, Pekka <pekka@asiakas.example.fi>")
    reply = reply_draft(store, message_id, reply_all=False, own_addresses=[OWN])
    assert [r.addr for r in parse_recipients(reply.to)] == ["palvelupiste@asiakas.example.fi"]
    everyone = reply_draft(store, message_id, reply_all=True, own_addresses=[OWN])
    cc = parse_recipients(everyone.cc)
    assert [(r.name, r.addr) for r in cc] == [("Meriläinen, Pekka", "pekka@asiakas.example.fi")]


def test_replying_to_our_own_sent_message_goes_to_its_recipients(store: Store) -> None:
    message_id = add_message(
        store, from_name="Omaolo", from_addr=OWN, to_addrs="vastuukayttaja@pohde.example.fi"
    )
    draft = reply_draft(store, message_id, reply_all=True, own_addresses=[OWN])
    assert envelope_recipients(draft) == ["vastuukayttaja@pohde.example.fi"]


def test_forward_carries_the_text_with_a_header_block_and_no_recipients(store: Store) -> None:
    message_id = add_message(store, has_attachments=True, cc_addrs="sari@pohde.example.fi")
    draft = forward_draft(store, message_id)
    assert draft.kind == "forward"
    assert draft.subject == "Fwd: Palaute Omaolosta"
    assert draft.to == "" and draft.cc == ""
    assert SECRET_LINE in draft.body  # a forward is a deliberate act: the original goes along
    assert "Päivi Meriläinen <paivi@asiakas.example.fi>" in draft.body
    assert "26.11.2026" in draft.body
    assert "sari@pohde.example.fi" in draft.body
    assert draft.source_has_attachments
    assert draft.in_reply_to == ""


def test_forward_text_is_cleaned_of_terminal_escapes(store: Store) -> None:
    message_id = add_message(store, body_text="Hei\x1b[2J\x1b]0;title\x07 maailma\u202e")
    assert "\x1b" not in forward_draft(store, message_id).body
    assert "\u202e" not in forward_draft(store, message_id).body


# --- recipients ----------------------------------------------------------------------------------


def test_recipient_fields_take_commas_semicolons_and_quoted_names() -> None:
    found = parse_recipients('"Öhman, Sari" <sari@x.fi>; paivi@x.fi, Pekka <pekka@x.fi>')
    assert [(r.name, r.addr) for r in found] == [
        ("Öhman, Sari", "sari@x.fi"),
        ("", "paivi@x.fi"),
        ("Pekka", "pekka@x.fi"),
    ]


@pytest.mark.parametrize("bad", ["paivi", "Päivi Meriläinen", "a@b@c", "<@x.fi>", "paivi@"])
def test_a_recipient_that_is_not_an_address_is_an_error(bad: str) -> None:
    with pytest.raises(DraftError):
        parse_recipients(f"ok@x.fi, {bad}")


def test_envelope_recipients_are_unique_across_to_and_cc() -> None:
    draft = Draft(to="a@x.fi, B@x.fi", cc="b@x.fi, c@x.fi")
    assert envelope_recipients(draft) == ["a@x.fi", "B@x.fi", "c@x.fi"]


# --- the message ---------------------------------------------------------------------------------


def test_the_built_message_has_every_header_and_a_quoted_printable_utf8_body() -> None:
    draft = Draft(
        kind="reply",
        to="Päivi Meriläinen <paivi@asiakas.example.fi>",
        cc='"Öhman, Sari" <sari@pohde.example.fi>',
        subject="Re: Palaute – työjonolähetys",
        body="Hei Päivi,\n\nkiitos palautteesta. Välitämme sen eteenpäin.\n" + "ä" * 120,
        in_reply_to="<palaute-1@asiakas.example.fi>",
        references="<root@x> <palaute-1@asiakas.example.fi>",
    )
    moment = datetime(2026, 11, 26, 7, 30, tzinfo=UTC)
    message = build_message(draft, from_address=OWN, from_name="Omaolo-koordinaattori", now=moment)
    raw = message.as_bytes()
    assert raw.isascii()  # QP body and RFC 2047 headers: fits any SMTP server
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    parsed = email.message_from_bytes(raw, policy=default)
    assert parsed["From"].addresses[0].addr_spec == OWN
    assert str(parsed["Subject"]) == "Re: Palaute – työjonolähetys"
    assert parsed["In-Reply-To"] == "<palaute-1@asiakas.example.fi>"
    assert parsed["References"] == "<root@x> <palaute-1@asiakas.example.fi>"
    assert str(parsed["Message-ID"]).endswith("@pohde.example.fi>")
    assert email.utils.parsedate_to_datetime(str(parsed["Date"])) == moment
    cc = parsed["Cc"].addresses[0]
    assert (cc.display_name, cc.addr_spec) == ("Öhman, Sari", "sari@pohde.example.fi")
    body = parsed.get_body()
    assert body is not None
    assert body["Content-Transfer-Encoding"] == "quoted-printable"
    assert body.get_content_charset() == "utf-8"
    assert "kiitos palautteesta" in body.get_content()
    assert "ä" * 120 in body.get_content()
    encoded = raw.split(b"\r\n\r\n", 1)[1]
    assert b"kiitos palautteesta" in quopri.decodestring(encoded)


def test_two_messages_never_share_a_message_id() -> None:
    draft = Draft(to="a@x.fi", subject="Testi", body="x")
    ids = {str(build_message(draft, from_address=OWN)["Message-ID"]) for _ in range(50)}
    assert len(ids) == 50


@pytest.mark.parametrize(
    ("draft", "from_address"),
    [
        (Draft(to="", cc="", subject="Testi", body="x"), OWN),
        (Draft(to="a@x.fi", subject="   ", body="x"), OWN),
        (Draft(to="a@x.fi", subject="Testi", body="x"), ""),
        (Draft(to="ei-osoite", subject="Testi", body="x"), OWN),
    ],
)
def test_a_draft_that_cannot_go_says_why(draft: Draft, from_address: str) -> None:
    with pytest.raises(DraftError) as raised:
        build_message(draft, from_address=from_address)
    assert str(raised.value)


def test_a_forward_attaches_the_original_as_message_rfc822() -> None:
    original = (
        b"From: paivi@asiakas.example.fi\r\nTo: omaolo@pohde.example.fi\r\nSubject: Liite\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nLiitteen teksti\r\n"
    )
    message = build_message(
        Draft(kind="forward", to="tuki@digifinland.example.fi", subject="Fwd: Liite", body="Katso liite."),
        from_address=OWN,
        attachment=original,
    )
    parsed = email.message_from_bytes(message.as_bytes(), policy=default)
    parts = list(parsed.iter_attachments())
    assert [part.get_content_type() for part in parts] == ["message/rfc822"]
    inner = parts[0].get_content()
    assert str(inner["Subject"]) == "Liite"
    assert "Katso liite." in parsed.get_body().get_content()  # type: ignore[union-attr]


# --- the henkilötunnus guard ---------------------------------------------------------------------


@pytest.mark.parametrize("field", ["subject", "body", "to", "cc"])
def test_a_hetu_anywhere_in_the_draft_is_found(field: str) -> None:
    draft = Draft(to="a@x.fi", subject="Palaute", body="Hei")
    setattr(draft, field, getattr(draft, field) + f" {HETU}")
    matches = hetu_in_draft(draft)
    assert [match.masked for match in matches] == ["131052-***T"]
    text = hetu_block_message(matches)
    assert "131052-***T" in text
    assert HETU not in text


def test_no_hetu_in_an_ordinary_reply() -> None:
    draft = Draft(to="a@x.fi", subject="Re: OMA-2026-0042", body="Soita 116117 tai 040-1234567.")
    assert hetu_in_draft(draft) == []


# --- canned replies ------------------------------------------------------------------------------


def reply(text: str) -> CannedReply:
    return CannedReply("testi", "fi", text, "testi.fi.txt")


def test_placeholders_are_filled() -> None:
    rendered = render(
        reply("Hei {name}, asia {reference}: {subject}. {{ei}}"),
        {
            "name": "Päivi",
            "reference": "OMA-2026-0042",
            "subject": "Palaute",
        },
    )
    assert rendered.text == "Hei Päivi, asia OMA-2026-0042: Palaute. {ei}"
    assert rendered.unfilled == ()


def test_a_known_placeholder_without_a_value_stays_and_blocks_sending() -> None:
    rendered = render(reply("Hei {name}, asia {reference}."), {"name": "Päivi"})
    assert rendered.text == "Hei Päivi, asia {reference}."
    assert rendered.unfilled == ("reference",)
    assert unfilled_placeholders(rendered.text) == ["{reference}"]
    assert unfilled_placeholders("Hei Päivi, asia OMA-2026-0042. {{name}} {muu}") == []


@pytest.mark.parametrize(
    "template",
    ["Hei {nimi}", "Hei {name} {0}", "Hei {}", "Hei {name!r}", "Hei {name:>10}", "Hei {name.upper}", "Hei {"],
)
def test_an_unknown_or_malformed_placeholder_is_an_error(template: str) -> None:
    with pytest.raises(CannedError) as raised:
        render(reply(template), {"name": "Päivi"})
    assert str(raised.value)


def test_the_bundled_replies_come_in_finnish_and_swedish_with_known_placeholders() -> None:
    replies = bundled_replies()
    names = {r.name for r in replies}
    assert len(names) >= 4
    for name in names:
        assert {r.language for r in replies if r.name == name} == {"fi", "sv"}, name
    for item in replies:
        assert set(placeholders_in(item.text)) <= set(PLACEHOLDERS), item.key
        assert hetu_in_draft(Draft(body=item.text)) == []
        render(item, {"name": "Päivi", "reference": "OMA-2026-0042", "subject": "x"})


def test_the_config_folder_wins_over_the_bundled_replies(tmp_path: Path) -> None:
    folder = tmp_path / "canned"
    assert load_replies(folder)[0] == bundled_replies()  # no folder yet
    folder.mkdir()
    (folder / "oma-vastaus.sv.txt").write_text("Hej {name}!\n", encoding="utf-8")
    (folder / "huono nimi.txt").write_text("x", encoding="utf-8")
    (folder / "rikki.fi.txt").write_bytes(b"\xff\xfe ei utf-8")
    replies, problems = load_replies(folder)
    assert [(r.name, r.language, r.text) for r in replies] == [("oma-vastaus", "sv", "Hej {name}!\n")]
    assert len(problems) == 2
    assert any("huono nimi.txt" in p for p in problems)
    assert any("rikki.fi.txt" in p for p in problems)


def test_write_defaults_writes_once_and_keeps_edits(tmp_path: Path) -> None:
    folder = tmp_path / "canned"
    written = write_defaults(folder)
    assert len(written) == len(bundled_replies())
    first = written[0]
    first.write_text("muokattu", encoding="utf-8")
    assert write_defaults(folder) == []
    assert first.read_text(encoding="utf-8") == "muokattu"
    assert load_replies(folder)[0][0].origin == str(first)


def test_the_default_folder_is_in_the_config_dir() -> None:
    from coordinator_tui.locations import config_dir

    assert canned.canned_dir() == config_dir() / "canned"


def test_filter_matches_words_of_name_language_and_text() -> None:
    replies = bundled_replies()
    swedish = filter_replies(replies, "sv")
    assert swedish and all(r.language == "sv" or "sv" in r.text.casefold() for r in swedish)
    assert {r.name for r in filter_replies(replies, "palaute fi")} == {"palaute-kiitos"}
    assert filter_replies(replies, "") == replies
    assert filter_replies(replies, "zzzz-ei-osu") == []


def _original_with(text: str, filename: str = "liite.txt") -> bytes:
    message = email.message.EmailMessage()
    message["From"] = "a@x.fi"
    message["Subject"] = "Liite"
    message.set_content("Katso liite.")
    message.add_attachment(text.encode("utf-8"), maintype="text", subtype="plain", filename=filename)
    return message.as_bytes()


def test_a_hetu_in_a_forwarded_originals_base64_attachment_is_found() -> None:
    raw = _original_with(f"Potilas {HETU} soitti.")
    assert HETU.encode() not in raw  # base64: a plain byte search would miss it
    assert [m.masked for m in hetu_in_original(raw)] == ["131052-***T"]


def test_a_hetu_in_an_attachment_name_is_found() -> None:
    assert hetu_in_original(_original_with("ei mitään", filename=f"{HETU}.txt"))


def test_a_clean_original_has_no_hetu() -> None:
    assert hetu_in_original(_original_with("Käyttäjälista: Sari Öhman, Kaijonharju")) == []
    assert hetu_in_original(b"\xff\xfe not a message at all") == []


def test_own_addresses_come_from_the_config_and_the_demo() -> None:
    from coordinator_tui.config import Config, ImapSection, SmtpSection
    from coordinator_tui.demo.data import SHARED_MAILBOX
    from coordinator_tui.mail.compose import own_addresses

    config = Config(
        smtp=SmtpSection(from_address=OWN, username="lahettaja"),
        imap=ImapSection(username="koordinaattori@pohde.example.fi"),
    )
    assert own_addresses(config) == [OWN, "koordinaattori@pohde.example.fi"]
    assert own_addresses(Config(), demo=True) == [SHARED_MAILBOX]
