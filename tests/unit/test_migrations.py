"""Migrations: old stores upgrade losing no row, copied first; foreign or damaged files are left alone."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
import stat
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from coordinator_tui import i18n
from store import migrate
from store.engine import Store, open_store
from store.errors import StoreError
from store.migrate import backup_before_upgrade, ensure_current, head_revision, known_revisions, upgrade
from store.models import (
    Delivery,
    Feed,
    FeedItem,
    ListMember,
    MailAttachment,
    MailFolder,
    MailingList,
    MailMessage,
    Notice,
    NoticeVersion,
    Outbox,
    Person,
    RequestEvent,
    ServiceRequest,
    Unit,
    UnitService,
)
from store.search import search

WHEN = datetime(2026, 3, 2, 8, 15, tzinfo=UTC)
Snapshot = dict[str, list[dict[str, Any]]]


@pytest.fixture(autouse=True)
def english() -> None:
    """The store's words are asserted in English (the message ids); tests/conftest.py sets Finnish."""
    i18n.set_language("en")


def url_of(path: Path) -> str:
    return f"sqlite:///{path}"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def revision_of(path: Path) -> str:
    connection = sqlite3.connect(path)
    try:
        return connection.execute("SELECT version_num FROM alembic_version").fetchone()[0]
    finally:
        connection.close()


def snapshot(path: Path) -> Snapshot:
    """Every row of every table of the app (not Alembic's, not the search index), in rowid order."""
    connection = sqlite3.connect(path)
    try:
        tables = [
            name
            for (name,) in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
                "AND name NOT LIKE 'search_index%' AND name != 'alembic_version' ORDER BY name"
            )
        ]
        snap: Snapshot = {}
        for table in tables:
            cursor = connection.execute(f'SELECT * FROM "{table}" ORDER BY rowid')
            names = [column[0] for column in cursor.description]
            snap[table] = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        return snap
    finally:
        connection.close()


# Model columns that revisions after 0001 added; rows written "as 0001" leave them out.
COLUMNS_ADDED_AFTER_0001 = {"headers", "action_id", "config_url", "retry_after_at", "content_html"}


def insert_old_mail(session: Session, row: dict[str, Any]) -> int:
    """Insert a mail row as the 0001 schema has it (the model has columns added since); its id."""
    values = MailMessage(**row).model_dump(exclude={"id", *COLUMNS_ADDED_AFTER_0001})
    old_table = sa.table("mail_message", *(sa.column(name) for name in values))
    return int(session.connection().execute(sa.insert(old_table).values(values)).lastrowid)


def fill_old_store(store: Store) -> dict[str, int]:
    """Rows in most tables, written through the models against the 0001 schema."""
    with store.session() as session:
        units = [
            Unit(name="Keskustan terveysasema", area="Kuopio"),
            Unit(name="Sosiaalitoimisto", area="Iisalmi"),
        ]
        session.add_all(units)
        session.flush()
        person = Person(
            name="Maija Meikäläinen", email="maija@example.fi", unit_id=units[0].id, roles='["vk"]'
        )
        mailing_list = MailingList(name="Vastuukäyttäjät", bilingual=True)
        folder = MailFolder(name="INBOX", role="inbox", uidvalidity=1700000000, highest_uid=2)
        notice = Notice(subject="Häiriötiedote: Omaolo", text_fi="Kirjautuminen ei onnistu", start_at=WHEN)
        outbox = Outbox(message_id="<n1@example.fi>", subject="Häiriötiedote", raw=b"\x00\xffraw bytes\r\n")
        session.add_all([person, mailing_list, folder, notice, outbox])
        session.flush()
        feed_values = Feed(
            name="DigiFinland", url="https://www.digifinland.fi/feed/", etag='"abc"'
        ).model_dump(exclude={"id", *COLUMNS_ADDED_AFTER_0001})
        feed_id = (
            session.connection()
            .execute(
                sa.insert(sa.table("feed", *(sa.column(name) for name in feed_values))).values(feed_values)
            )
            .lastrowid
        )
        session.add(UnitService(unit_id=units[0].id, service="työjonolähetys", deployed_on=date(2025, 9, 1)))
        session.add(ListMember(list_id=mailing_list.id, person_id=person.id))
        # Core inserts naming the 0001 columns only: the model has columns that later revisions add.
        mail_rows = [
            {
                "folder_id": folder.id,
                "uid": 1,
                "message_id": "<m1@example.fi>",
                "subject": "Häiriö työjonolähetyksessä",
                "from_name": "Maija Meikäläinen",
                "from_addr": "maija@example.fi",
                "body_text": "Työjono ei lähetä.",
                "date": WHEN,
                "seen": True,
            },
            {"folder_id": folder.id, "uid": 2, "subject": "Kokousmuistio", "body_text": "Liitteenä muistio."},
        ]
        mail_ids = [insert_old_mail(session, row) for row in mail_rows]
        session.add(MailAttachment(mail_message_id=mail_ids[1], part="2", filename="muistio.pdf", size=1234))
        request = ServiceRequest(
            reference="OMA-2025-0099",
            year=2025,
            seq=99,
            title="Uusi vastuukäyttäjä",
            description="Lisätään käyttöoikeudet",
            unit_id=units[1].id,
            requester_person_id=person.id,
            notice_id=notice.id,
            priority=2,
            due_at=WHEN,
        )
        session.add(request)
        session.flush()
        event = RequestEvent(request_id=request.id, kind="note", text="Soitettu", at=WHEN)
        values = event.model_dump(exclude={"id", *COLUMNS_ADDED_AFTER_0001})
        session.connection().execute(
            sa.insert(sa.table("request_event", *(sa.column(name) for name in values))).values(values)
        )
        item_values = FeedItem(
            feed_id=feed_id, dedup_key="guid-1", title="Omaolon uudistukset", summary="Kevään julkaisu"
        ).model_dump(exclude={"id", *COLUMNS_ADDED_AFTER_0001})
        item_id = (
            session.connection()
            .execute(
                sa.insert(sa.table("feed_item", *(sa.column(name) for name in item_values))).values(
                    item_values
                )
            )
            .lastrowid
        )
        session.add(NoticeVersion(notice_id=notice.id, number=1, status="sent", subject="Häiriötiedote"))
        session.add(Delivery(outbox_id=outbox.id, recipient="maija@example.fi", status="accepted"))
        session.flush()
        return {"mail": mail_ids[0], "request": request.id, "feed_item": item_id, "notice": notice.id}


@pytest.fixture
def old_store(tmp_path: Path) -> tuple[Store, dict[str, int]]:
    path = tmp_path / "store.sqlite"
    store = open_store(url_of(path), migrate=False)
    upgrade(store, "0001")
    ids = fill_old_store(store)
    store.dispose()
    assert revision_of(path) == "0001"
    return store, ids


@pytest.fixture(scope="module")
def head_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("head") / "store.sqlite"
    store = open_store(url_of(path))
    with store.session() as session:
        session.add(Unit(name="Keskustan terveysasema"))
    store.dispose()  # the last connection to close checkpoints the WAL into the file
    assert not path.with_name("store.sqlite-wal").exists()
    return path


@pytest.fixture
def head_store(head_template: Path, tmp_path: Path) -> Path:
    path = tmp_path / "store.sqlite"
    shutil.copy(head_template, path)
    return path


def backups_of(path: Path) -> list[Path]:
    return sorted(path.parent.glob(f"{path.name}.before-*"))


# --- the upgrade -----------------------------------------------------------------------------


def test_upgrade_from_first_revision_keeps_every_row(old_store: tuple[Store, dict[str, int]]) -> None:
    store, _ids = old_store
    assert store.path is not None
    before = snapshot(store.path)
    filled = [table for table, rows in before.items() if rows]
    assert len(filled) >= 14, filled  # the test is only as good as the rows it carries over

    ensure_current(store)

    assert revision_of(store.path) == head_revision() == "0008"
    after = snapshot(store.path)
    # Later revisions may add columns; every value that was there is still there, unchanged.
    kept = {
        table: [{name: row[name] for name in old[0]} for row in after[table]] if old else after[table]
        for table, old in before.items()
    }
    assert kept == before


def test_upgrade_backfills_the_search_index(old_store: tuple[Store, dict[str, int]]) -> None:
    store, ids = old_store
    ensure_current(store)
    with store.session() as session:

        def found(text: str) -> set[tuple[str, int]]:
            return {(hit.kind, hit.ref_id) for hit in search(session, text)}

        assert found("hairio tyojono") == {("mail", ids["mail"])}
        assert found("OMA-2025-0099") == {("request", ids["request"])}
        assert found("uudistukset") == {("feed_item", ids["feed_item"])}
        assert found("kirjautuminen") == {("notice", ids["notice"])}
    # The triggers work on rows that were there before the upgrade.
    with store.session() as session:
        session.get(MailMessage, ids["mail"]).subject = "Ratkaistu"
    with store.session() as session:
        assert [hit.ref_id for hit in search(session, "ratkaistu")] == [ids["mail"]]
        assert search(session, "työjonolähetyksessä") == []
    store.dispose()


def test_upgrade_takes_a_private_backup_at_the_old_revision(old_store: tuple[Store, dict[str, int]]) -> None:
    store, _ids = old_store
    assert store.path is not None
    before = snapshot(store.path)
    ensure_current(store)

    backups = backups_of(store.path)
    assert len(backups) == 1, backups
    backup = backups[0]
    assert re.fullmatch(r"store\.sqlite\.before-0001-\d{8}-\d{6}", backup.name), backup.name
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert backup.read_bytes()[:16] == b"SQLite format 3\x00"
    assert revision_of(backup) == "0001"
    assert snapshot(backup) == before
    connection = sqlite3.connect(backup)
    try:
        tables = {name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    finally:
        connection.close()
    assert "search_index" not in tables


def test_open_store_upgrades_an_old_store(old_store: tuple[Store, dict[str, int]]) -> None:
    store, ids = old_store
    assert store.path is not None
    reopened = open_store(store.url)
    try:
        assert revision_of(store.path) == head_revision()
        with reopened.session() as session:
            assert session.exec(select(ServiceRequest.reference)).all() == ["OMA-2025-0099"]
            assert session.get(Outbox, 1).raw == b"\x00\xffraw bytes\r\n"
            moment = session.get(MailMessage, ids["mail"]).date
            assert moment == WHEN
            assert moment.utcoffset() is not None  # times stay aware through the upgrade
    finally:
        reopened.dispose()


def test_failed_upgrade_is_rolled_back_whole(old_store: tuple[Store, dict[str, int]]) -> None:
    store, _ids = old_store
    assert store.path is not None
    # 0002 ends by creating this index; an index of that name already there makes its last step
    # fail after the FTS table and the triggers were created.
    connection = sqlite3.connect(store.path)
    connection.execute("CREATE INDEX ix_mail_message_unseen ON mail_message (uid)")
    connection.commit()
    connection.close()
    before = snapshot(store.path)

    with pytest.raises(StoreError) as caught:
        ensure_current(store)
    assert "could not be upgraded" in caught.value.what
    assert "rolled back" in caught.value.todo

    assert revision_of(store.path) == "0001"
    assert snapshot(store.path) == before
    connection = sqlite3.connect(store.path)
    try:
        leftovers = connection.execute(
            "SELECT type, name FROM sqlite_master WHERE name LIKE 'search_index%' OR type = 'trigger'"
        ).fetchall()
    finally:
        connection.close()
    assert leftovers == []


def test_up_to_date_store_is_not_copied(head_store: Path) -> None:
    open_store(url_of(head_store)).dispose()
    assert backups_of(head_store) == []


def test_new_store_is_created_at_head_without_a_backup(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite"
    open_store(url_of(path)).dispose()
    assert revision_of(path) == head_revision()
    assert backups_of(path) == []


def test_two_backups_in_the_same_second(head_store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    class FrozenClock(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> FrozenClock:  # type: ignore[override]
            return cls(2026, 3, 2, 8, 15, 0)

    monkeypatch.setattr(migrate, "datetime", FrozenClock)
    first = backup_before_upgrade(head_store, "0001")
    second = backup_before_upgrade(head_store, "0001")
    assert first != second
    assert first.exists() and second.exists()


def test_damaged_message_has_no_internals(old_store: tuple[Store, dict[str, int]]) -> None:
    store, _ids = old_store
    assert store.path is not None
    corrupt_a_page_of(store.path, "mail_message")
    with pytest.raises(StoreError) as caught:
        ensure_current(store)
    assert "[SQL:" not in str(caught.value)
    assert "sqlalche.me" not in str(caught.value)


# --- the fast path and Alembic agree ---------------------------------------------------------


def test_head_revision_is_alembics_head(tmp_path: Path) -> None:
    from alembic.script import ScriptDirectory

    store = Store(url=url_of(tmp_path / "store.sqlite"), path=tmp_path / "store.sqlite")
    script = ScriptDirectory.from_config(migrate.alembic_config(store))
    assert script.get_heads() == [head_revision()]
    assert [revision.revision for revision in reversed(list(script.walk_revisions()))] == known_revisions()
    assert known_revisions()[0] == "0001"


@pytest.mark.parametrize(("which", "imports_alembic"), [("up-to-date", False), ("new", True)])
def test_opening_an_up_to_date_store_does_not_import_alembic(
    head_store: Path, tmp_path: Path, which: str, imports_alembic: bool
) -> None:
    path = head_store if which == "up-to-date" else tmp_path / "new" / "store.sqlite"
    code = (
        "import json, sys\n"
        "from store.engine import open_store\n"
        f"open_store({url_of(path)!r})\n"
        "print(json.dumps({name: name in sys.modules for name in ('alembic', 'sqlalchemy')}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    loaded = json.loads(result.stdout)
    assert loaded["alembic"] is imports_alembic
    if which == "up-to-date":
        # The engine is built on first use; the start-up check reads alembic_version with sqlite3 alone.
        assert loaded["sqlalchemy"] is False


# --- files that are not ours, or damaged -----------------------------------------------------


def test_store_from_a_newer_version_is_refused_untouched(head_store: Path) -> None:
    connection = sqlite3.connect(head_store)
    connection.execute("UPDATE alembic_version SET version_num = '9999'")
    connection.commit()
    connection.close()
    before = digest(head_store)
    with pytest.raises(StoreError) as caught:
        open_store(url_of(head_store))
    assert "newer version of coordinator-tui" in caught.value.what
    assert "9999" in caught.value.what
    assert caught.value.todo.startswith("Nothing was changed.")
    assert digest(head_store) == before
    assert backups_of(head_store) == []


def test_text_file_is_refused_untouched(tmp_path: Path) -> None:
    (tmp_path / "files").mkdir()
    path = tmp_path / "files" / "notes.txt"
    path.write_text("Muistiinpanoja: soita Maijalle maanantaina.\n" * 50, encoding="utf-8")
    path.chmod(0o600)
    before = digest(path)
    with pytest.raises(StoreError) as caught:
        open_store(url_of(path))
    assert "is not a coordinator-tui store (it is not a SQLite database)" in caught.value.what
    assert digest(path) == before
    assert sorted(path.parent.iterdir()) == [path]  # no -wal, -shm or backup beside it


def test_refused_file_keeps_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("Muistiinpanoja\n", encoding="utf-8")
    path.chmod(0o644)
    with pytest.raises(StoreError):
        open_store(url_of(path))
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_other_sqlite_database_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite"
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")
    connection.executemany("INSERT INTO notes (text) VALUES (?)", [("yksi",), ("kaksi",)])
    connection.commit()
    connection.close()
    before = digest(path)
    with pytest.raises(StoreError) as caught:
        open_store(url_of(path))
    assert "is a SQLite database but not a coordinator-tui store" in caught.value.what
    assert caught.value.todo.startswith("Nothing was changed.")
    assert digest(path) == before
    assert backups_of(path) == []


def page_size_of(path: Path) -> int:
    connection = sqlite3.connect(path)
    try:
        return connection.execute("PRAGMA page_size").fetchone()[0]
    finally:
        connection.close()


def corrupt_a_page_of(path: Path, table: str) -> None:
    """Overwrite the b-tree header of a page of ``table`` that is neither page 1 nor the first of the file."""
    connection = sqlite3.connect(path)
    try:
        page_size = connection.execute("PRAGMA page_size").fetchone()[0]
        pages = [
            page
            for (page,) in connection.execute(
                "SELECT pageno FROM dbstat WHERE name = ? ORDER BY pageno", (table,)
            )
        ]
    finally:
        connection.close()
    page = pages[len(pages) // 2]
    assert page >= 2
    with path.open("r+b") as handle:
        handle.seek((page - 1) * page_size)
        handle.write(b"\xff" * 12)


@pytest.mark.parametrize("damage", ["truncated", "version-page", "schema-page"])
def test_damaged_store_is_refused_untouched(head_store: Path, damage: str) -> None:
    if damage == "truncated":
        os.truncate(head_store, head_store.stat().st_size // 3)
    elif damage == "version-page":
        corrupt_a_page_of(head_store, "alembic_version")
    else:
        # Page 1 after the 100-byte file header: the b-tree header of sqlite_master.
        with head_store.open("r+b") as handle:
            handle.seek(100)
            handle.write(b"\xff" * 8)
    before = digest(head_store)
    with pytest.raises(StoreError) as caught:
        open_store(url_of(head_store))
    assert "is damaged and cannot be read" in caught.value.what
    assert "Nothing was changed" in caught.value.todo
    assert digest(head_store) == before
    assert backups_of(head_store) == []


def test_damaged_old_store_fails_its_upgrade_untouched(old_store: tuple[Store, dict[str, int]]) -> None:
    # The start-up check reads only the schema and the revision; a damaged data page is found when
    # the upgrade reads every row to fill the search index, and the upgrade is rolled back.
    store, _ids = old_store
    assert store.path is not None
    with store.session() as session:
        folder_id = session.exec(select(MailFolder.id)).first()
        for n in range(60):
            row = {
                "folder_id": folder_id,
                "uid": 100 + n,
                "subject": f"Viesti {n}",
                "body_text": "sisältöä " * 60,
            }
            insert_old_mail(session, row)
    store.dispose()
    corrupt_a_page_of(store.path, "mail_message")
    before = digest(store.path)
    with pytest.raises(StoreError) as caught:
        ensure_current(store)
    assert "is damaged and cannot be read" in caught.value.what
    assert digest(store.path) == before
    assert revision_of(store.path) == "0001"
