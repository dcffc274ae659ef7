"""Mail parsing never raises, and every text it returns is displayable (issue 9)."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coordinator_tui.mail.parse import ParsedMessage, parse_message, source_text, thread_key
from tests.property.displayable import assert_block, assert_line, strings_in
from tests.property.mutate import mutated
from tests.support.hostile import CATALOGUE, encodable

FIXTURES = sorted((Path(__file__).parents[1] / "fixtures" / "mail").glob("*.eml"))
SEEDS = [path.read_bytes() for path in FIXTURES]
BLOCK_FIELDS = {".body_text"}  # everything else is one line
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def assert_displayable(parsed: ParsedMessage) -> None:
    assert isinstance(parsed, ParsedMessage)
    for where, text in strings_in(parsed):
        if where in BLOCK_FIELDS:
            assert_block(text, where)
        elif where.startswith(".calendar"):
            assert_block(text, where)  # a description may keep its line breaks
        else:
            assert_line(text, where)
    thread_key(parsed)


def test_the_seeds_are_real_messages() -> None:
    assert len(SEEDS) >= 10
    for seed in SEEDS:
        assert_displayable(parse_message(seed))


@SETTINGS
@given(st.binary(max_size=4000))
def test_arbitrary_bytes(data: bytes) -> None:
    assert_displayable(parse_message(data))
    assert_block(source_text(data), "source")


@SETTINGS
@given(mutated(SEEDS))
def test_mutated_real_messages(data: bytes) -> None:
    assert_displayable(parse_message(data))
    assert_block(source_text(data), "source")


@SETTINGS
@given(
    st.sampled_from(CATALOGUE),
    st.sampled_from(["Subject", "From", "To", "Cc", "Reply-To", "Message-ID", "References"]),
    st.sampled_from(["raw", "b", "q"]),
)
def test_hostile_text_in_headers(hostile, header: str, form: str) -> None:  # type: ignore[no-untyped-def]
    import base64
    import quopri

    data = encodable(hostile.text).encode("utf-8")
    if form == "b":
        value = b"=?utf-8?B?" + base64.b64encode(data) + b"?="
    elif form == "q":
        value = b"=?utf-8?Q?" + quopri.encodestring(data, header=True).replace(b"=\n", b"") + b"?="
    else:
        value = data
    if header in ("From", "To", "Cc", "Reply-To"):
        value = b'"' + value + b'" <a@example.fi>'
    defaults = b"".join(
        line
        for line in (b"From: x@example.fi\r\n", b"Subject: s\r\n")
        if not line.startswith(header.encode())
    )
    message = (
        defaults
        + header.encode()
        + b": "
        + value
        + b"\r\nContent-Type: text/plain; charset=utf-8\r\n"
        + b'Content-Disposition: inline; filename="'
        + data[:300].replace(b'"', b"")
        + b'"\r\n\r\n'
        + data
        + b"\r\n"
    )
    parsed = parse_message(message)
    assert_displayable(parsed)
    if form != "raw" and header == "Subject":
        assert hostile.visible in parsed.subject or len(hostile.text) > 500
