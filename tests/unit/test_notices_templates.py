"""Notice templates: bundled defaults, the config dir's own, and placeholders checked before use."""

from __future__ import annotations

from pathlib import Path

import pytest

from coordinator_tui import i18n
from coordinator_tui.notices import templates

VALUES = {
    "services": "työjonolähetys",
    "start": "23.11.2026 klo 10.15",
    "expected_end": "",
    "end": "23.11.2026 klo 12.30",
    "duration": "2 h 15 min",
    "impact": "Oirearviot eivät siirry työjonoon.",
    "instructions": templates.bullets("Ohjatkaa asiakkaat Päivystysapuun 116117\n\n• Hätätilanteessa 112"),
    "contact": "omaolo@pohde.example.fi",
}


@pytest.fixture(autouse=True)
def english() -> None:
    i18n.set_language("en")


def test_every_bundled_template_exists_in_both_languages_and_fills_cleanly() -> None:
    bundled = templates.bundled_templates()
    names = {t.name for t in bundled}
    assert names == {"hairio", "korjattu", "huoltokatko", "huolto-paattynyt", "peruttu"}
    assert {t.key for t in bundled} == {f"{n}.{lang}" for n in names for lang in ("fi", "sv")}
    for template in bundled:
        assert templates.check_template(template.text) == [], template.key
        text = templates.render(template.text, VALUES)
        assert templates.open_placeholders(text) == []
        assert "omaolo@pohde.example.fi" in text


def test_the_disruption_template_reads_like_a_real_notice() -> None:
    (fi,) = [t for t in templates.bundled_templates() if t.key == "hairio.fi"]
    text = templates.render(fi.text, {**VALUES, "expected_end": "23.11.2026 klo 14.00"})
    assert "Häiriö alkoi: 23.11.2026 klo 10.15" in text
    assert "Arvioitu korjausaika: 23.11.2026 klo 14.00" in text
    assert "- Ohjatkaa asiakkaat Päivystysapuun 116117\n- Hätätilanteessa 112" in text
    assert "Pahoittelemme" in text


def test_an_empty_optional_placeholder_drops_its_line() -> None:
    text = templates.render("A: {start}\nArvioitu korjausaika: {expected_end}\nB", VALUES)
    assert text == "A: 23.11.2026 klo 10.15\nB"


def test_unknown_and_empty_required_placeholders_are_all_listed() -> None:
    with pytest.raises(templates.TemplateError) as caught:
        templates.render("{services} {potilas} {impact} {contact!r}", {**VALUES, "impact": " "})
    problems = caught.value.problems
    assert any("{potilas}" in p for p in problems)
    assert any("{contact!r}" in p for p in problems)
    assert any("Fill in: {impact}" in p for p in problems)


def test_a_stray_brace_is_explained() -> None:
    assert "brace" in templates.check_template("Hei {services")[0]


def test_the_config_dir_overrides_one_template_and_keeps_the_rest(tmp_path: Path) -> None:
    (tmp_path / "hairio.fi.txt").write_text("Oma pohja: {services}\n", encoding="utf-8")
    (tmp_path / "väärä-nimi.txt").write_text("x", encoding="utf-8")
    (tmp_path / "rikki.fi.txt").write_bytes(b"\xff\xfe")
    found, problems = templates.load_templates(tmp_path)
    by_key = {t.key: t for t in found}
    assert by_key["hairio.fi"].text == "Oma pohja: {services}\n"
    assert by_key["hairio.fi"].origin == str(tmp_path / "hairio.fi.txt")
    assert by_key["korjattu.fi"].origin == "bundled"
    assert len(problems) == 2 and any("UTF-8" in p for p in problems)


def test_write_defaults_never_overwrites_an_edited_file(tmp_path: Path) -> None:
    written = templates.write_defaults(tmp_path)
    assert len(written) == 10
    (tmp_path / "hairio.fi.txt").write_text("muokattu", encoding="utf-8")
    assert templates.write_defaults(tmp_path) == []
    assert (tmp_path / "hairio.fi.txt").read_text(encoding="utf-8") == "muokattu"


def test_the_default_location_is_the_config_dir(private_dirs: Path) -> None:
    assert templates.templates_dir().parts[-2:] == ("coordinator-tui", "notices")


@pytest.mark.parametrize(
    ("kind", "stage", "name"),
    [
        ("häiriö", "tutkitaan", "hairio"),
        ("katko", "korjattu", "korjattu"),
        ("huoltokatko", "aikataulutettu", "huoltokatko"),
        ("huoltokatko", "päättynyt", "huolto-paattynyt"),
        ("huoltokatko", "peruttu", "peruttu"),
    ],
)
def test_which_template_a_stage_uses(kind: str, stage: str, name: str) -> None:
    assert templates.template_name(kind, stage) == name


def test_open_placeholders_in_an_edited_text() -> None:
    assert templates.open_placeholders("Alkoi {start}, {{start}} ja {start}, {muu}") == ["{start}"]
