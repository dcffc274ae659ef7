"""The directory CSV import preview on any bytes, in both flavours (issue 9).

The property: a preview or an ImportFileError (words for the user), never another exception; every
name and address the preview would store or show is displayable.
"""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coordinator_tui.directory.csvimport import ImportFileError, ImportPreview, preview
from store.directory import Directory, PersonRow, UnitRow
from tests.property.displayable import assert_line
from tests.property.mutate import mutated
from tests.support.hostile import CATALOGUE, encodable

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TODAY = date(2026, 11, 26)
DIRECTORY = Directory(
    units=[UnitRow(1, "Kallion terveysasema", "Helsinki", "KAL")],
    people=[
        PersonRow(
            1, "Maija Meikäläinen", "maija@example.fi", "+358 40 1", 1, ("vastuukäyttäjä",), "fi", True, None
        ),
        PersonRow(2, "Erik Svensson", "erik@example.fi", "", None, (), "sv", True, None),
    ],
)  # fmt: skip
COMMA = (
    "name,email,phone,unit,roles,language,active,left_on\n"
    "Maija Meikäläinen,maija@example.fi,+358 40 123 4567,Kallion terveysasema,vastuukäyttäjä,fi,kyllä,\n"
    'Uusi Ihminen,uusi@example.fi,,,"pääkäyttäjä, vastuukäyttäjä",fi,kyllä,\n'
    "Erik Svensson,erik@example.fi,,,,sv,ei,31.1.2026\n"
).encode()
SEMICOLON_CP1252 = (
    "Nimi;Sähköposti;Puhelin;Yksikkö;Roolit;Kieli;Aktiivinen\r\n"
    "Maija Meikäläinen;maija@example.fi;'+358 40 123 4567;Kallion terveysasema;vastuukäyttäjä;fi;kyllä\r\n"
    "Åsa Öberg;asa@example.fi;;;;sv;kyllä\r\n"
    ";;;;;;\r\n"
).encode("cp1252")
SEMICOLON_BOM = b"\xef\xbb\xbf" + SEMICOLON_CP1252.decode("cp1252").encode("utf-8")
SEEDS = [COMMA, SEMICOLON_CP1252, SEMICOLON_BOM]


def run(data: bytes) -> ImportPreview | None:
    try:
        result = preview(data, DIRECTORY, today=TODAY)
    except ImportFileError as error:
        assert str(error)
        return None
    for row in result.rows:
        assert row.status in ("added", "changed", "unchanged", "rejected")
        assert row.reason or row.status != "rejected"
    return result


def stored_values_displayable(result: ImportPreview | None) -> None:
    if result is None:
        return
    for row in result.rows:
        if row.values is not None:
            assert_line(row.values.name, "name")
            assert_line(row.values.email, "email")
            assert_line(row.values.phone, "phone")
            for role in row.values.roles:
                assert_line(role, "role")


def test_the_seeds_import() -> None:
    for seed in SEEDS:
        result = run(seed)
        assert result is not None and result.writes >= 1, seed[:40]
        stored_values_displayable(result)


@SETTINGS
@given(
    st.binary(max_size=600),
    st.sampled_from([b"", b"name;email\n", b"name,email\n", b"\xef\xbb\xbf", b"\xff\xfe"]),
)
def test_arbitrary_bytes_never_raise(data: bytes, prefix: bytes) -> None:
    run(prefix + data)


@SETTINGS
@given(mutated(SEEDS))
def test_mutated_files_never_raise(data: bytes) -> None:
    run(data)


@pytest.mark.parametrize("data", [b"\xef\xbb\xbfname;email\n\xff;a@b.fi\n", b"\xff\xfen\x00a\x00m"])
def test_a_broken_bom_file_is_refused_in_words(data: bytes) -> None:
    with pytest.raises(ImportFileError):
        preview(data, DIRECTORY, today=TODAY)


@pytest.mark.parametrize("flavour", ["comma", "semicolon"])
def test_hostile_names_are_stored_clean(flavour: str) -> None:
    delimiter = "," if flavour == "comma" else ";"
    lines = [delimiter.join(["name", "email"])]
    for index, hostile in enumerate(CATALOGUE):
        name = encodable(hostile.text)[:100].replace('"', "").replace(delimiter, " ").replace("\n", " ")
        lines.append(f'"{name}"{delimiter}h{index}@example.fi')
    result = run("\n".join(lines).encode("utf-8"))
    assert result is not None
    assert result.writes >= len(CATALOGUE) // 2
    stored_values_displayable(result)
