"""parse_config on any TOML-ish text: a Config or a ConfigError, nothing else (issue 9)."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coordinator_tui.config import EXAMPLE_CONFIG, Config, ConfigError, parse_config
from tests.property.mutate import mutated

PATH = Path("/tmp/config.toml")
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SECTIONS = ["store", "imap", "smtp", "newsletters", "notices", "ui", "requests", "[feeds]", "nope"]
KEYS = [
    "url", "host", "port", "username", "security", "ca_file", "auth", "language", "theme", "interval",
    "office_hours", "due", "categories", "name", "folder", "services", "monday", "urgent", "x",
]  # fmt: skip
VALUES = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True),
    st.booleans(),
    st.text(max_size=40),
    st.lists(st.text(max_size=10), max_size=4),
    st.just("09:00-16:00"),
    st.just("25:99-00:00"),
    st.just("starttls"),
    st.just("none"),
    st.just("https://example.fi/feed"),
)


def toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return {"nan": "nan", "inf": "inf", "-inf": "-inf"}.get(str(value), repr(value))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    text = str(value).encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return (
        '"'
        + text.replace("\\", "\\\\")
        .replace('"', '\\"')
        .encode("unicode_escape")
        .decode("ascii")
        .replace("\\\\\\\\", "\\\\")
        + '"'
    )


@st.composite
def toml_documents(draw: st.DrawFn) -> str:
    lines = []
    for _ in range(draw(st.integers(min_value=0, max_value=6))):
        section = draw(st.sampled_from(SECTIONS))
        lines.append(f"[{section}]")  # "[feeds]" gives the array of tables [[feeds]]
        for _ in range(draw(st.integers(min_value=0, max_value=5))):
            key = draw(st.sampled_from(KEYS))
            if draw(st.booleans()):
                lines.append(f"{key} = {toml_value(draw(VALUES))}")
            else:
                lines.append(f"{key} = {{ {draw(st.sampled_from(KEYS))} = {toml_value(draw(VALUES))} }}")
    return "\n".join(lines)


def check(text: str) -> None:
    try:
        config = parse_config(text, PATH)
    except ConfigError as error:
        assert str(error)
        return
    assert isinstance(config, Config)


@SETTINGS
@given(toml_documents())
def test_random_toml(text: str) -> None:
    check(text)


@SETTINGS
@given(st.text(max_size=300))
def test_random_text(text: str) -> None:
    check(text)


@SETTINGS
@given(mutated([EXAMPLE_CONFIG.encode("utf-8")]))
def test_mutated_example(data: bytes) -> None:
    check(data.decode("utf-8", "replace"))


def test_the_example_config_is_valid() -> None:
    assert isinstance(parse_config(EXAMPLE_CONFIG, PATH), Config)
