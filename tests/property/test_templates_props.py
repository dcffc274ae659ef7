"""Notice templates and canned replies: any template text and any values give text or the module's own
error, never another exception; values are put in literally, never read as placeholders (issue 9)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coordinator_tui.mail import canned
from coordinator_tui.notices import templates
from tests.support.hostile import CATALOGUE

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PIECES = st.sampled_from(
    [
        "{", "}", "{{", "}}", "{services}", "{start}", "{expected_end}", "{end}", "{impact}",
        "{instructions}", "{contact}", "{duration}", "{name}", "{reference}", "{subject}", "{0}", "{}",
        "{name!r}", "{name:>10}",
        "{services.__class__}", "{name[0]}", "{impact:{x}}", "{nimi}", "{ä}", "\n", "Hei ", "teksti ",
        *(item.text[:80] for item in CATALOGUE),
    ]
)  # fmt: skip
TEMPLATE_TEXT = st.lists(st.one_of(PIECES, st.text(max_size=8)), max_size=12).map("".join)
VALUE = st.one_of(
    st.sampled_from([item.text[:200] for item in CATALOGUE] + ["{impact}", "{name}", "{{", ""]),
    st.text(max_size=30),
)


@SETTINGS
@given(TEMPLATE_TEXT, st.dictionaries(st.sampled_from(templates.PLACEHOLDERS), VALUE))
def test_notice_templates(text: str, values: dict[str, str]) -> None:
    problems = templates.check_template(text)
    assert all(isinstance(problem, str) and problem for problem in problems)
    try:
        rendered = templates.render(text, values)
    except templates.TemplateError as error:
        assert error.problems and str(error)
        return
    assert not problems
    for name, value in values.items():
        if "{" + name + "}" in text and value.strip() and name not in templates.OPTIONAL:
            assert value.strip() in rendered  # put in as it is, braces and all
    templates.open_placeholders(rendered)
    templates.bullets(rendered)


@SETTINGS
@given(TEMPLATE_TEXT, st.dictionaries(st.sampled_from(canned.PLACEHOLDERS), VALUE))
def test_canned_replies(text: str, values: dict[str, str]) -> None:
    reply = canned.CannedReply("koe", "fi", text, "test")
    try:
        rendered = canned.render(reply, values)
    except canned.CannedError as error:
        assert str(error)
        return
    for name, value in values.items():
        if "{" + name + "}" in text.replace("{{", "").replace("}}", "") and value:
            assert value in rendered.text
    assert set(rendered.unfilled) <= set(canned.PLACEHOLDERS)
    canned.unfilled_placeholders(rendered.text)
    canned.unknown_placeholders(rendered.text)
    canned.filter_replies([reply], text[:20])


@SETTINGS
@given(st.binary(max_size=300), st.sampled_from(["a.fi.txt", "b.sv.txt", "huono.txt", ".fi.txt"]))
def test_template_files_of_any_bytes(tmp_path_factory, data: bytes, file_name: str) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path_factory.mktemp("t")
    (folder / file_name).write_bytes(data)
    found, problems = templates.load_templates(folder)
    replies, reply_problems = canned.load_replies(folder)
    assert found and all(isinstance(problem, str) for problem in problems + reply_problems)
    for reply in replies:
        canned.filter_replies(replies, reply.title)
