"""Full-text search: safe queries, Finnish text, prefixes as you type, an index kept in step by triggers."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, select

from store.engine import Store, open_store
from store.models import Feed, FeedItem, MailFolder, MailMessage, Notice, ServiceRequest
from store.search import KINDS, SearchHit, fts_query, search


@pytest.fixture(scope="module")
def template_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated, empty store file, made once; each test works on its own copy."""
    path = tmp_path_factory.mktemp("template") / "store.sqlite"
    store = open_store(f"sqlite:///{path}")
    store.dispose()
    return path


@pytest.fixture
def store(template_store: Path, tmp_path: Path) -> Iterator[Store]:
    path = tmp_path / "store.sqlite"
    shutil.copy(template_store, path)
    opened = open_store(f"sqlite:///{path}")
    yield opened
    opened.dispose()


@pytest.fixture
def folder_id(store: Store) -> int:
    with store.session() as session:
        folder = MailFolder(name="INBOX", role="inbox")
        session.add(folder)
        session.flush()
        assert folder.id is not None
        return folder.id


def add_mail(store: Store, folder_id: int, uid: int, subject: str, body: str = "") -> int:
    with store.session() as session:
        mail = MailMessage(folder_id=folder_id, uid=uid, subject=subject, body_text=body)
        session.add(mail)
        session.flush()
        assert mail.id is not None
        return mail.id


def find(store: Store, text: str, kinds: tuple[str, ...] = KINDS, limit: int = 50) -> list[SearchHit]:
    with store.session() as session:
        return search(session, text, kinds, limit)


def found(store: Store, text: str, kinds: tuple[str, ...] = KINDS) -> set[tuple[str, int]]:
    return {(hit.kind, hit.ref_id) for hit in find(store, text, kinds)}


def check_index_integrity(store: Store) -> None:
    with store.session() as session:
        # FTS5's own check: raises if the index disagrees with its stored rows.
        session.connection().exec_driver_sql(
            "INSERT INTO search_index(search_index) VALUES ('integrity-check')"
        )


# --- the query -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "query"),
    [
        ("katko", '"katko"*'),
        ("Häiriö työj", '"Häiriö" "työj"*'),
        ('katko OR "huolto"', '"katko" "OR" "huolto"*'),
        ("NEAR(katko huolto, 2)", '"NEAR" "katko" "huolto" "2"*'),
        ("title:katko -huolto", '"title" "katko" "huolto"*'),
        ("  ", ""),
        ("*-()\"':^+", ""),
    ],
)
def test_fts_query_quotes_every_word(typed: str, query: str) -> None:
    assert fts_query(typed) == query


HOSTILE = [
    "AND",
    "OR",
    "NOT",
    "katko AND",
    "OR katko",
    "NEAR(katko huolto)",
    "NEAR/2",
    '"',
    '"katko',
    '""',
    "(",
    ")",
    "(katko",
    "*",
    "katko*",
    "-",
    "-katko",
    "katko -",
    "title:katko",
    "{title body}: katko",
    "^katko",
    "'",
    "katko'; DROP TABLE mail_message; --",
    "+",
    "\\",
    "%_",
    "\x00",
    "katko\u202e",
]


@pytest.mark.parametrize("typed", HOSTILE)
def test_hostile_input_never_raises(store: Store, folder_id: int, typed: str) -> None:
    add_mail(store, folder_id, 1, "Katko ja huolto")
    hits = find(store, typed)
    assert all(hit.kind == "mail" for hit in hits)
    assert len(find(store, "katko")) == 1  # and the table is still there


@given(typed=st.text(max_size=40))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_text_is_a_valid_query(store: Store, typed: str) -> None:
    with store.session() as session:
        assert isinstance(search(session, typed), list)


@pytest.mark.parametrize(
    ("typed", "operator_reading_would_find"),
    [
        ("katko OR huolto", "katko without or"),
        ("katko NOT huolto", "katko without huolto"),
        ("katko AND huolto", "katko and huolto without 'and'"),
        ("title:katko", "katko in the title column"),
        ("NEAR(katko huolto)", "katko near huolto"),
    ],
)
def test_operators_are_taken_as_words(
    store: Store, folder_id: int, typed: str, operator_reading_would_find: str
) -> None:
    plain = add_mail(store, folder_id, 1, "Katko", "huolto tiistaina")
    only_katko = add_mail(store, folder_id, 2, "Katko", "pelkkä katko")
    literal = add_mail(store, folder_id, 3, "Katko or not and title near", "huolto")
    # Read as FTS5 operators, these queries would find `plain` or `only_katko`; read as words,
    # every word must be present, which only `literal` satisfies.
    assert found(store, typed) == {("mail", literal)}, operator_reading_would_find
    assert {plain, only_katko}.isdisjoint(hit.ref_id for hit in find(store, typed))


def test_empty_or_punctuation_only_query_returns_nothing(store: Store, folder_id: int) -> None:
    add_mail(store, folder_id, 1, "Katko")
    for typed in ("", "   ", "!?", '"*"', "---"):
        assert find(store, typed) == []


# --- Finnish text ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed", ["hairio", "häiriö", "HÄIRIÖ", "Hairiö", "storning", "störning", "aland", "Åland"]
)
def test_diacritics_are_optional(store: Store, folder_id: int, typed: str) -> None:
    mail = add_mail(store, folder_id, 1, "Häiriö Omaolossa", "Störning i Omaolo på Åland")
    add_mail(store, folder_id, 2, "Huoltokatko", "ei liity")
    assert found(store, typed) == {("mail", mail)}


def test_prefix_as_you_type(store: Store, folder_id: int) -> None:
    mail = add_mail(store, folder_id, 1, "Työjonolähetys ei toimi")
    other = add_mail(store, folder_id, 2, "Tyhjä viesti")
    word = "työjonolähetys"
    for end in range(3, len(word) + 1):
        assert found(store, word[:end]) == {("mail", mail)}, word[:end]
    assert found(store, "tyoj") == {("mail", mail)}
    assert found(store, "ty") == {("mail", mail), ("mail", other)}
    # Only the last word is a prefix: the earlier ones are whole words.
    assert found(store, "työ toimi") == set()
    assert found(store, "ei toi") == {("mail", mail)}


# --- kinds, titles and order -----------------------------------------------------------------


@pytest.fixture
def one_of_each(store: Store, folder_id: int) -> dict[str, int]:
    ids: dict[str, int] = {"mail": add_mail(store, folder_id, 1, "Yhteistyöpalaveri sovittu")}
    with store.session() as session:
        request = ServiceRequest(reference="OMA-2026-0042", year=2026, seq=42, title="Yhteistyöpalaveri")
        feed = Feed(name="DigiFinland", url="https://www.digifinland.fi/feed/")
        notice = Notice(subject="Tiedote", text_fi="Yhteistyöpalaveri siirtyy")
        session.add_all([request, feed, notice])
        session.flush()
        item = FeedItem(feed_id=feed.id, dedup_key="g1", title="Uutinen", summary="yhteistyöpalaveri")
        session.add(item)
        session.flush()
        ids.update(request=request.id, notice=notice.id, feed_item=item.id)
    return ids


def test_every_kind_is_found_with_its_own_id_and_title(store: Store, one_of_each: dict[str, int]) -> None:
    hits = {hit.kind: hit for hit in find(store, "yhteistyöpalaveri")}
    assert {kind: hit.ref_id for kind, hit in hits.items()} == one_of_each
    assert hits["mail"].title == "Yhteistyöpalaveri sovittu"
    assert hits["request"].title == "OMA-2026-0042 Yhteistyöpalaveri"
    assert hits["feed_item"].title == "Uutinen"
    assert hits["notice"].title == "Tiedote"
    assert "yhteistyöpalaveri" in hits["feed_item"].snippet


@pytest.mark.parametrize(
    "kinds",
    [("mail",), ("request",), ("feed_item",), ("notice",), ("request", "notice"), ("mail", "feed_item")],
)
def test_kinds_filter(store: Store, one_of_each: dict[str, int], kinds: tuple[str, ...]) -> None:
    assert found(store, "yhteistyö", kinds) == {(kind, one_of_each[kind]) for kind in kinds}


def test_request_found_by_reference_and_ticket(store: Store) -> None:
    with store.session() as session:
        request = ServiceRequest(
            reference="OMA-2026-0007", year=2026, seq=7, title="Kirjautuminen", digifinland_ticket="DF-31337"
        )
        session.add(request)
        session.flush()
        request_id = request.id
    assert found(store, "OMA-2026-0007") == {("request", request_id)}
    assert found(store, "DF-31337") == {("request", request_id)}


def test_results_best_first(store: Store, folder_id: int) -> None:
    weak = add_mail(store, folder_id, 1, "Viikkokooste", "katko " + "muuta asiaa " * 60)
    strong = add_mail(store, folder_id, 2, "Katko", "katko katko")
    middle = add_mail(store, folder_id, 3, "Katko", "muuta asiaa " * 10)
    hits = find(store, "katko")
    assert [hit.ref_id for hit in hits] == [strong, middle, weak]
    ranks = [hit.rank for hit in hits]
    assert ranks == sorted(ranks)


def test_limit(store: Store, folder_id: int) -> None:
    for uid in range(1, 8):
        add_mail(store, folder_id, uid, f"Katko {uid}")
    assert len(find(store, "katko", limit=3)) == 3
    assert len(find(store, "katko")) == 7


# --- the index follows the tables ------------------------------------------------------------

TITLE_FIELD = {
    MailMessage: "subject",
    ServiceRequest: "title",
    FeedItem: "title",
    Notice: "subject",
}
KIND_OF = {MailMessage: "mail", ServiceRequest: "request", FeedItem: "feed_item", Notice: "notice"}


def make_row(session: Session, table: type, title: str) -> int:
    if table is MailMessage:
        folder = MailFolder(name="INBOX")
        session.add(folder)
        session.flush()
        row = MailMessage(folder_id=folder.id, uid=1, subject=title)
    elif table is ServiceRequest:
        row = ServiceRequest(reference="OMA-2026-0001", year=2026, seq=1, title=title)
    elif table is FeedItem:
        feed = Feed(name="f", url="https://example.fi/feed")
        session.add(feed)
        session.flush()
        row = FeedItem(feed_id=feed.id, dedup_key="k", title=title)
    else:
        row = Notice(subject=title)
    session.add(row)
    session.flush()
    return row.id


@pytest.mark.parametrize("table", list(TITLE_FIELD), ids=lambda table: table.__name__)
def test_changed_title_is_reindexed(store: Store, table: type) -> None:
    kind = KIND_OF[table]
    with store.session() as session:
        row_id = make_row(session, table, "Alkuperäinen otsikko")
    assert found(store, "alkuperäinen") == {(kind, row_id)}
    with store.session() as session:
        row = session.get(table, row_id)
        setattr(row, TITLE_FIELD[table], "Korjattu otsikko")
    assert found(store, "alkuperäinen") == set()
    assert found(store, "korjattu") == {(kind, row_id)}
    assert len(find(store, "otsikko")) == 1  # replaced, not added twice
    check_index_integrity(store)


@pytest.mark.parametrize("table", list(TITLE_FIELD), ids=lambda table: table.__name__)
def test_deleted_row_leaves_the_index(store: Store, table: type) -> None:
    with store.session() as session:
        row_id = make_row(session, table, "Poistettava otsikko")
    assert len(find(store, "poistettava")) == 1
    with store.session() as session:
        session.delete(session.get(table, row_id))
    assert find(store, "poistettava") == []
    check_index_integrity(store)


def test_body_change_is_reindexed(store: Store, folder_id: int) -> None:
    mail = add_mail(store, folder_id, 1, "Kysymys", "vanha sisältö")
    with store.session() as session:
        session.get(MailMessage, mail).body_text = "uusi sisältö"
    assert found(store, "vanha") == set()
    assert found(store, "uusi") == {("mail", mail)}


def test_flag_only_update_keeps_the_row_found_once(store: Store, folder_id: int) -> None:
    mail = add_mail(store, folder_id, 1, "Luettava viesti")
    with store.session() as session:
        message = session.get(MailMessage, mail)
        message.seen = True
        message.flagged = True
    assert [(hit.kind, hit.ref_id) for hit in find(store, "luettava")] == [("mail", mail)]
    with store.session() as session:
        assert session.exec(select(MailMessage.seen)).one() is True
    check_index_integrity(store)


def test_cascaded_delete_leaves_the_index(store: Store, folder_id: int) -> None:
    # Deleting a folder deletes its messages by ON DELETE CASCADE; their delete trigger must fire.
    add_mail(store, folder_id, 1, "Kansion viesti")
    with store.session() as session:
        session.delete(session.get(MailFolder, folder_id))
    with store.session() as session:
        assert session.exec(select(MailMessage)).all() == []
    assert find(store, "kansion") == []
    check_index_integrity(store)
