"""The network directory's rules: checking people, the CSV import preview and its confirmation, export."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from coordinator_tui import i18n
from coordinator_tui.directory import csvexport, csvimport
from coordinator_tui.directory import validation as v
from coordinator_tui.directory.service import DirectoryService, NotSaved, StaleImport
from coordinator_tui.hetu import check_character
from store import directory as db
from store.engine import Store, open_store, url_for_path

NOW = datetime(2026, 11, 26, 7, 30, tzinfo=UTC)
TODAY = date(2026, 11, 26)
HEADER = "name;email;phone;unit;roles;language;active"


def a_hetu() -> str:
    digits = "131052308"
    return f"131052-308{check_character(digits)}"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(url_for_path(tmp_path / "dir.sqlite"))
    oulu = db.add_unit(opened, "Oulun terveysasemat – Kaijonharju", "Oulu")
    db.set_unit_service(opened, oulu, "työjonolähetys", date(2025, 3, 1))
    db.add_unit(opened, "Siikajoen terveysasema", "Siikajoki")
    db.add_person(
        opened,
        db.PersonValues(
            "Anna Heikkinen", "anna.heikkinen@pohde.fi", "040 123 4567", oulu, ("vastuukäyttäjä",)
        ),
        now=NOW,
    )
    db.add_person(
        opened, db.PersonValues("Pekka Ranta", "pekka.ranta@pohde.fi", "", None, ("tuotevastaava",))
    )
    yield opened
    opened.dispose()


def service(store: Store) -> DirectoryService:
    return DirectoryService(store, clock=lambda: NOW)


def preview_text(store: Store, text: str, encoding: str = "utf-8") -> csvimport.ImportPreview:
    return service(store).preview_import(text.encode(encoding))


def people_count(store: Store) -> int:
    return len(db.load_directory(store).people)


# --- checking one person ---------------------------------------------------------------------


def test_email_is_normalised_and_checked_without_dns() -> None:
    assert v.check_email("  Anna.Heikkinen@POHDE.fi ") == ("Anna.Heikkinen@pohde.fi", None)
    for bad in ("anna", "anna@", "anna@pohde", "anna@pohde..fi", "an na@pohde.fi", "anna@-pohde.fi"):
        address, problem = v.check_email(bad)
        assert address is None and problem is not None and problem.code == v.EMAIL_INVALID, bad
    assert v.check_email("")[1] is not None and v.check_email("")[1].code == v.EMAIL_MISSING  # type: ignore[union-attr]


def test_roles_are_spelt_as_the_directory_spells_them() -> None:
    roles, unknown = v.canonical_roles(["VASTUUKAYTTAJA", "ict-asiantuntija", "vastuukäyttäjä"], v.ROLES)
    assert roles == ("vastuukäyttäjä", "ICT-asiantuntija")
    assert unknown == []
    assert v.canonical_roles(["vastuukäytäjä"], v.ROLES)[1] == ["vastuukäytäjä"]


def test_form_flags_a_duplicate_address_with_the_owner(store: Store) -> None:
    svc = service(store)
    with pytest.raises(NotSaved) as caught:
        svc.save(v.Draft("Toinen Anna", "ANNA.heikkinen@pohde.fi"))
    assert [p.code for p in caught.value.problems] == [v.EMAIL_TAKEN]
    assert "Anna Heikkinen" in caught.value.problems[0].text
    assert people_count(store) == 2


def test_form_never_accepts_an_identity_code_in_any_field(store: Store) -> None:
    svc = service(store)
    for field in ("name", "email", "phone", "unit", "roles", "language"):
        values = {"name": "Uusi Ihminen", "email": "uusi@pohde.fi"}
        values[field] = f"x {a_hetu()}"
        with pytest.raises(NotSaved) as caught:
            svc.save(v.Draft(**values))
        assert [p.code for p in caught.value.problems] == [v.HETU], field
        assert a_hetu() not in str(caught.value)
    assert people_count(store) == 2


def test_form_adds_edits_and_marks_left(store: Store) -> None:
    svc = service(store)
    person_id = svc.save(
        v.Draft("Uusi Ihminen", "uusi@pohde.fi", "+358 40 1", "siikajoen terveysasema", "esihenkilö")
    )
    person = next(p for p in db.load_directory(store).people if p.id == person_id)
    assert person.unit_id is not None and person.roles == ("esihenkilö",) and person.active
    svc.save(v.Draft("Uusi Ihminen", "uusi@pohde.fi", roles="vastuukäyttäjä, esihenkilö"), person_id)
    svc.set_active(person_id, False)
    person = next(p for p in db.load_directory(store).people if p.id == person_id)
    assert person.roles == ("vastuukäyttäjä", "esihenkilö")
    assert not person.active and person.left_on == TODAY
    assert person.unit_id is None


def test_a_person_marked_left_drops_out_of_every_list(store: Store) -> None:
    svc = service(store)
    rule_list = db.add_list(store, "Kaikki vastuukäyttäjät", rule=json.dumps({"role": "vastuukäyttäjä"}))
    service_list = db.add_list(
        store, "Työjono", rule=json.dumps({"role": "vastuukäyttäjä", "service": "työjonolähetys"})
    )
    static = db.add_list(store, "Käsin")
    anna = next(p for p in db.load_directory(store).people if p.name == "Anna Heikkinen")
    db.set_member(store, static, anna.id, True)
    for list_id in (rule_list, service_list, static):
        assert svc.resolve(list_id).addresses == ["anna.heikkinen@pohde.fi"]
    svc.set_active(anna.id, False)
    for list_id in (rule_list, service_list, static):
        assert svc.resolve(list_id).addresses == []
    assert people_count(store) == 2  # kept for history


# --- the import preview ------------------------------------------------------------------------


def test_utf8_comma_file_adds_changes_and_leaves_unchanged(store: Store) -> None:
    text = (
        "name,email,phone,unit,roles\n"
        "Anna Heikkinen,anna.heikkinen@pohde.fi,040 123 4567,"
        "Oulun terveysasemat – Kaijonharju,vastuukäyttäjä\n"
        'Pekka Ranta,PEKKA.RANTA@pohde.fi,,,"tuotevastaava, pääkäyttäjä"\n'
        "Äijä Öhman,aija.ohman@pohde.fi,,Siikajoen terveysasema,vastuukäyttäjä\n"
    )
    preview = preview_text(store, text)
    assert (preview.encoding, preview.delimiter) == ("utf-8", ",")
    assert [(row.line, row.status) for row in preview.rows] == [
        (2, "unchanged"),
        (3, "changed"),
        (4, "added"),
    ]
    assert preview.rows[1].changes == ("roles",)
    assert preview.counts == {"added": 1, "changed": 1, "unchanged": 1, "rejected": 0}
    assert people_count(store) == 2  # a preview writes nothing


@pytest.mark.parametrize(
    ("encoding", "prefix", "expected"),
    [("cp1252", b"", "cp1252"), ("utf-8", b"\xef\xbb\xbf", "utf-8-sig"), ("utf-16", b"", "utf-16")],
)
def test_excel_finnish_flavours_are_detected(
    store: Store, encoding: str, prefix: bytes, expected: str
) -> None:
    text = (
        "Nimi;Sähköposti;Puhelin;Yksikkö;Roolit\r\n"
        "Äijä Öhman;aija.ohman@pohde.fi;;Siikajoen terveysasema;esihenkilö\r\n"
    )
    data = prefix + text.encode(encoding)
    preview = service(store).preview_import(data)
    assert preview.encoding == expected
    assert preview.delimiter == ";"
    (row,) = preview.rows
    assert row.status == "added", row.reason
    assert row.values is not None and row.values.name == "Äijä Öhman"
    assert row.values.roles == ("esihenkilö",)


def test_unknown_columns_are_ignored_and_named(store: Store) -> None:
    preview = preview_text(store, "name;email;Kotiosoite\nUusi;uusi@pohde.fi;\n")
    assert preview.ignored_columns == ("Kotiosoite",)
    assert preview.rows[0].status == "added"


def test_a_file_without_the_needed_columns_is_refused_as_a_whole(store: Store) -> None:
    i18n.set_language("en")
    with pytest.raises(csvimport.ImportFileError) as caught:
        preview_text(store, "nimi;puhelin\nAnna;040\n")
    assert "no column for e-mail address" in str(caught.value)
    with pytest.raises(csvimport.ImportFileError):
        service(store).preview_import(b"")
    with pytest.raises(csvimport.ImportFileError):
        service(store).preview_import(b"\x81\x8d\x8f\x90\x9d;\n")  # neither UTF-8 nor cp1252


REJECTIONS = [
    (v.NAME_MISSING, ";nimi.puuttuu@pohde.fi;;;;fi;kyllä"),
    (v.EMAIL_MISSING, "Ei Osoitetta;;;;;fi;kyllä"),
    (v.EMAIL_INVALID, "Huono Osoite;huono@osoite;;;;fi;kyllä"),
    (v.UNIT_UNKNOWN, "Väärä Yksikkö;vy@pohde.fi;;Ei ole olemassa;;fi;kyllä"),
    (v.ROLE_UNKNOWN, "Väärä Rooli;vr@pohde.fi;;;vastuukäytäjä;fi;kyllä"),
    (v.LANGUAGE_INVALID, "Väärä Kieli;vk@pohde.fi;;;;en;kyllä"),
    (v.ACTIVE_INVALID, "Väärä Tila;vt@pohde.fi;;;;fi;ehkä"),
    (v.PHONE_INVALID, "Väärä Puhelin;vp@pohde.fi;soita minulle;;;fi;kyllä"),
    (v.TOO_LONG, f"{'Pitkä ' * 30};pitka@pohde.fi;;;;fi;kyllä"),
    (v.FIELD_COUNT, "Liikaa;kentat@pohde.fi;;;;fi;kyllä;ylimääräinen"),
    (v.HETU, f"Tunnus Nimessä {a_hetu()};tn@pohde.fi;;;;fi;kyllä"),
]


@pytest.mark.parametrize(("code", "line"), REJECTIONS, ids=[code for code, _line in REJECTIONS])
def test_each_rejection_reason_rejects_only_its_row(store: Store, code: str, line: str) -> None:
    text = (
        f"{HEADER}\nHyvä Ennen;hyva1@pohde.fi;;;;fi;kyllä\n{line}\nHyvä Jälkeen;hyva2@pohde.fi;;;;fi;kyllä\n"
    )
    preview = preview_text(store, text)
    assert [row.status for row in preview.rows] == ["added", "rejected", "added"]
    rejected = preview.rows[1]
    assert code in rejected.codes, rejected.reason
    assert rejected.line == 3
    assert rejected.reason  # words for the user


def test_a_repeated_address_in_the_file_is_rejected_with_the_first_line(store: Store) -> None:
    text = f"{HEADER}\nEka;sama@pohde.fi;;;;fi;kyllä\nToka;SAMA@pohde.fi;;;;fi;kyllä\n"
    preview = preview_text(store, text)
    assert [row.status for row in preview.rows] == ["added", "rejected"]
    assert preview.rows[1].codes == (v.EMAIL_REPEATED,)
    assert "2" in preview.rows[1].reason


def test_an_address_two_people_share_is_ambiguous(store: Store) -> None:
    db.add_person(store, db.PersonValues("Anna Kaksoisolento", "Anna.Heikkinen@pohde.fi"))
    preview = preview_text(store, f"{HEADER}\nAnna;anna.heikkinen@pohde.fi;;;;fi;kyllä\n")
    assert preview.rows[0].codes == (v.EMAIL_AMBIGUOUS,)


def test_a_left_date_that_is_not_a_date_is_rejected(store: Store) -> None:
    preview = preview_text(store, "name;email;active;left_on\nAnna;anna.heikkinen@pohde.fi;ei;eilen\n")
    assert preview.rows[0].codes == (v.DATE_INVALID,)


@pytest.mark.parametrize("column", ["name", "email", "phone", "unit", "roles", "language", "active", "extra"])
def test_an_identity_code_in_any_column_rejects_the_row_and_is_never_shown(store: Store, column: str) -> None:
    cells = {
        "name": "Anna Heikkinen",
        "email": "anna.heikkinen@pohde.fi",
        "phone": "",
        "unit": "",
        "roles": "",
        "language": "fi",
        "active": "kyllä",
        "extra": "",
    }
    cells[column] = f"{cells[column]} {a_hetu()}".strip()
    text = ";".join(cells) + "\n" + ";".join(cells.values()) + "\n"
    preview = preview_text(store, text)
    (row,) = preview.rows
    assert row.status == "rejected" and row.codes == (v.HETU,)
    assert a_hetu() not in repr(row)
    assert row.name == "" and row.email == ""


def test_marking_left_and_coming_back_through_the_import(store: Store) -> None:
    preview = preview_text(store, "name;email;active\nAnna Heikkinen;anna.heikkinen@pohde.fi;ei\n")
    (row,) = preview.rows
    assert row.status == "changed" and row.changes == ("active", "left_on")
    assert row.values is not None and row.values.left_on == TODAY
    service(store).apply_import(preview)
    anna = next(p for p in db.load_directory(store).people if p.name == "Anna Heikkinen")
    assert not anna.active
    back = preview_text(store, "name;email;active\nAnna Heikkinen;anna.heikkinen@pohde.fi;kyllä\n")
    assert back.rows[0].changes == ("active", "left_on")


def test_blank_rows_of_separators_are_skipped(store: Store) -> None:
    preview = preview_text(store, f"{HEADER}\nUusi;uusi@pohde.fi;;;;fi;kyllä\n;;;;;;\n\n")
    assert [row.status for row in preview.rows] == ["added"]


# --- confirming ----------------------------------------------------------------------------------


def test_confirm_writes_the_added_and_changed_rows(store: Store) -> None:
    text = (
        f"{HEADER}\n"
        "Anna Heikkinen;anna.heikkinen@pohde.fi;040 999;;vastuukäyttäjä;sv;kyllä\n"
        "Uusi Ihminen;uusi@pohde.fi;;Siikajoen terveysasema;vastuukäyttäjä;fi;kyllä\n"
        "Hylätty;hylatty@;;;;fi;kyllä\n"
    )
    preview = preview_text(store, text)
    done = service(store).apply_import(preview)
    assert (done.added, done.changed) == (1, 1)
    people = {p.email: p for p in db.load_directory(store).people}
    assert people["anna.heikkinen@pohde.fi"].language == "sv"
    assert people["anna.heikkinen@pohde.fi"].unit_id is None
    assert people["uusi@pohde.fi"].roles == ("vastuukäyttäjä",)
    assert "hylatty@" not in people


def test_confirm_is_one_transaction(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = "".join(f"Henkilö {i};h{i}@pohde.fi;;;;fi;kyllä\n" for i in range(10))
    preview = preview_text(store, HEADER + "\n" + lines)
    original = db._write
    calls = {"n": 0}

    def failing(person, values, now):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 7:
            raise RuntimeError("disk went away")
        original(person, values, now)

    monkeypatch.setattr(db, "_write", failing)
    with pytest.raises(RuntimeError):
        service(store).apply_import(preview)
    assert people_count(store) == 2


def test_confirm_after_the_directory_changed_writes_nothing(store: Store) -> None:
    preview = preview_text(
        store, f"{HEADER}\nUusi;uusi@pohde.fi;;;;fi;kyllä\nToinen;toinen@pohde.fi;;;;fi;kyllä\n"
    )
    service(store).save(v.Draft("Joku Muu", "uusi@pohde.fi"))
    with pytest.raises(StaleImport):
        service(store).apply_import(preview)
    assert people_count(store) == 3


def test_five_thousand_rows(store: Store) -> None:
    lines = [HEADER]
    for i in range(5000):
        unit = "Siikajoen terveysasema" if i % 2 else "oulun terveysasemat – kaijonharju"
        lines.append(f"Henkilö Numero{i};henkilo.{i}@pohde.fi;040 {i:07d};{unit};vastuukäyttäjä;fi;kyllä")
    lines[1234] = "Rikki;rikki@;;;;fi;kyllä"
    data = ("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8")
    preview = service(store).preview_import(data)
    assert preview.counts == {"added": 4999, "changed": 0, "unchanged": 0, "rejected": 1}
    assert preview.of("rejected")[0].line == 1235
    done = service(store).apply_import(preview)
    assert done.added == 4999
    assert people_count(store) == 5001
    again = service(store).preview_import(data)
    assert again.counts == {"added": 0, "changed": 0, "unchanged": 4999, "rejected": 1}


# --- export --------------------------------------------------------------------------------------


def test_export_reimports_as_unchanged(store: Store) -> None:
    svc = service(store)
    left = svc.save(v.Draft("Lähtenyt Henkilö", "lahtenyt@pohde.fi", "+358 40 1234567"))
    svc.set_active(left, False)
    text = csvexport.rendered(db.export_people(store))
    assert text.startswith("\ufeffname;email;phone;unit;roles;language;active;left_on\r\n")
    assert "'+358 40 1234567" in text  # Excel would run it as a formula
    assert "Lähtenyt Henkilö;lahtenyt@pohde.fi;'+358 40 1234567;;;fi;ei;26.11.2026" in text
    preview = svc.preview_import(text.encode("utf-8"))
    assert preview.counts == {"added": 0, "changed": 0, "unchanged": 3, "rejected": 0}, [
        (row.line, row.reason, row.changes) for row in preview.rows
    ]


def test_export_with_an_identity_code_writes_nothing(store: Store, tmp_path: Path) -> None:
    db.add_person(store, db.PersonValues(f"Nimi {a_hetu()}", "x@pohde.fi"))
    out = tmp_path / "people.csv"
    with pytest.raises(csvexport.PeopleExportBlocked):
        csvexport.export(db.export_people(store), out)
    assert not out.exists()
    assert list(tmp_path.glob(".people-*")) == []
