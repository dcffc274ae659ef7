"""The demo store: deterministic, realistic, enough for every screen; and the bulk insert under it."""

from __future__ import annotations

import json
import re
import sqlite3
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlmodel import Session, SQLModel, col, select

from coordinator_tui.demo import HOSTILE_STRINGS, DemoScale, DemoSummary, build_demo_store
from coordinator_tui.demo import generate as demo_generate
from store.bulk import assign_ids, execute_prepared, insert_rows, next_free_id, prepare_insert, update_rows
from store.engine import Store, open_store
from store.errors import StoreError
from store.models import MailFolder, Unit
from store.search import search
from store.vocabulary import CLOCK_RUNNING_STATUSES, REQUEST_CATEGORIES, REQUEST_STATUSES
from tests.conftest import FIXED_NOW

HELSINKI = ZoneInfo("Europe/Helsinki")
TODAY = FIXED_NOW.astimezone(HELSINKI).date()
SQL_NOW = FIXED_NOW.strftime("%Y-%m-%d %H:%M:%S.%f")  # how SQLAlchemy writes times on SQLite

# Columns that hold a deadline or a plan, not something that happened: they may lie ahead.
FUTURE_ALLOWED = {
    ("service_request", "due_at"),
    ("checklist_run_item", "due_on"),
    ("checklist_run", "start_date"),  # a newcomer who starts next week is onboarded already
    ("notice", "expected_end_at"),
    ("notice_version", "scheduled_at"),
    ("outbox", "scheduled_at"),
}


def new_store(directory: Path, name: str = "s") -> Store:
    return open_store(f"sqlite:///{directory}/{name}.sqlite")


def connect(store: Store) -> sqlite3.Connection:
    assert store.path is not None
    return sqlite3.connect(store.path)


def dump(store: Store) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table as SQLite stores it, in primary-key order."""
    connection = connect(store)
    try:
        tables = {}
        for table in SQLModel.metadata.sorted_tables:
            order = ", ".join(f'"{column.name}"' for column in table.primary_key.columns)
            tables[table.name] = connection.execute(
                f'SELECT * FROM "{table.name}" ORDER BY {order}'
            ).fetchall()
        return tables
    finally:
        connection.close()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, DemoSummary]:
    store = new_store(tmp_path_factory.mktemp("demo"))
    summary = build_demo_store(store, seed=2026, now=FIXED_NOW)
    return store, summary


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Store:
    store = new_store(tmp_path_factory.mktemp("hostile"))
    build_demo_store(store, seed=2026, now=FIXED_NOW, hostile=True)
    return store


@pytest.fixture(scope="module")
def db(demo: tuple[Store, DemoSummary]) -> Iterator[sqlite3.Connection]:
    connection = connect(demo[0])
    yield connection
    connection.close()


def scalar(connection: sqlite3.Connection, sql: str, *params: object) -> Any:
    return connection.execute(sql, params).fetchone()[0]


# --- Determinism ---------------------------------------------------------------------------------


def test_the_same_seed_and_now_give_identical_rows(tmp_path: Path, demo: tuple[Store, DemoSummary]) -> None:
    again = new_store(tmp_path)
    build_demo_store(again, seed=2026, now=FIXED_NOW)
    first, second = dump(demo[0]), dump(again)
    for table, rows in first.items():
        assert rows == second[table], f"{table} differs between two builds"
    assert sum(len(rows) for rows in first.values()) > 5000


def test_another_seed_gives_other_rows(tmp_path: Path, demo: tuple[Store, DemoSummary]) -> None:
    other = new_store(tmp_path)
    build_demo_store(other, seed=7, now=FIXED_NOW)
    assert dump(other)["mail_message"] != dump(demo[0])["mail_message"]


def test_a_bigger_store_streams_in_batches_and_stays_consistent(tmp_path: Path) -> None:
    # Enough requests and messages for several batches to the writer thread.
    scale = DemoScale(messages=6000, requests=2300, feed_items=300)
    store = new_store(tmp_path)
    summary = build_demo_store(store, seed=3, now=FIXED_NOW, scale=scale, hostile=True)
    connection = connect(store)
    assert scalar(connection, "SELECT count(*) FROM mail_message") == 6000 + len(HOSTILE_STRINGS)
    assert scalar(connection, "SELECT count(*) FROM service_request") == 2300 + len(HOSTILE_STRINGS)
    assert scalar(connection, "SELECT count(*) FROM feed_item") == 300 + len(HOSTILE_STRINGS)
    assert summary.counts == {
        table: len(rows) for table, rows in dump(store).items() if table in summary.counts
    }
    assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
    for uidnext, highest, count, top in connection.execute(
        "SELECT f.uidnext, f.highest_uid, count(m.id), max(m.uid) FROM mail_folder f "
        "JOIN mail_message m ON m.folder_id = f.id GROUP BY f.id"
    ):
        assert highest == top == count and uidnext == highest + 1


# --- What the demo holds -------------------------------------------------------------------------


def test_counts_follow_the_default_scale(demo: tuple[Store, DemoSummary], db: sqlite3.Connection) -> None:
    store, summary = demo
    scale = DemoScale()
    assert scalar(db, "SELECT count(*) FROM unit") == scale.units == 15
    assert scalar(db, "SELECT count(*) FROM person") == scale.people == 60
    assert scalar(db, "SELECT count(*) FROM mail_message") == scale.messages
    assert scalar(db, "SELECT count(*) FROM service_request") == scale.requests
    assert scalar(db, "SELECT count(*) FROM feed_item") == scale.feed_items
    assert scalar(db, "SELECT count(*) FROM mail_attachment") > 20
    events = scalar(db, "SELECT count(*) FROM request_event")
    assert 5 * scale.requests < events < 15 * scale.requests
    assert summary.counts == {table: len(rows) for table, rows in dump(store).items()}
    assert "mail_message" in summary.describe() and "2 000" in summary.describe()


def test_every_request_status_and_category_appears(db: sqlite3.Connection) -> None:
    statuses = {row[0] for row in db.execute("SELECT status FROM service_request")}
    assert statuses == set(REQUEST_STATUSES)
    categories = {row[0] for row in db.execute("SELECT category FROM service_request WHERE status != 'uusi'")}
    assert categories == set(REQUEST_CATEGORIES)


def test_requests_keep_the_rules_of_triage(db: sqlite3.Connection) -> None:
    rows = db.execute(
        "SELECT reference, year, seq, status, category, priority, assignee, digifinland_ticket, "
        "resolved_at, closed_at, due_at FROM service_request ORDER BY id"
    ).fetchall()
    sequences: dict[int, list[int]] = defaultdict(list)
    for reference, year, seq, status, category, priority, assignee, ticket, resolved, closed, due in rows:
        assert reference == f"OMA-{year}-{seq:04d}"
        sequences[year].append(seq)
        assert due is not None
        if status == "uusi":
            assert (category, priority, assignee) == ("", None, "")
        else:
            assert category in REQUEST_CATEGORIES and priority in (1, 2, 3, 4) and assignee
        if status == "odottaa DigiFinlandia":
            assert re.fullmatch(r"DF-\d{5}", ticket)
        if status in ("ratkaistu", "suljettu"):
            assert resolved is not None
        if status == "suljettu":
            assert closed is not None and closed >= resolved
    for year, numbers in sequences.items():
        assert sorted(numbers) == list(range(1, len(numbers) + 1)), f"the {year} sequence has gaps"


def test_request_history_matches_the_request(db: sqlite3.Connection) -> None:
    latest = dict(db.execute("SELECT request_id, max(at) FROM request_event GROUP BY request_id").fetchall())
    created = {
        row[0] for row in db.execute("SELECT request_id FROM request_event WHERE kind = 'created'").fetchall()
    }
    for request_id, updated_at in db.execute("SELECT id, updated_at FROM service_request"):
        assert request_id in created
        assert latest[request_id] == updated_at
    # Most requests came by mail and keep their thread; the rest were made by hand (a phone call).
    linked = scalar(db, "SELECT count(DISTINCT request_id) FROM request_mail")
    assert 0.7 < linked / scalar(db, "SELECT count(*) FROM service_request") < 1
    by_hand = scalar(db, "SELECT count(*) FROM request_event WHERE kind = 'created' AND text = 'Luotu käsin'")
    assert by_hand == scalar(db, "SELECT count(*) FROM service_request") - linked


def test_the_today_screen_has_something_to_count(db: sqlite3.Connection) -> None:
    end_of_today = datetime.combine(TODAY + timedelta(days=1), datetime.min.time(), HELSINKI)
    end_text = end_of_today.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    running = ", ".join(f"'{status}'" for status in CLOCK_RUNNING_STATUSES)
    figures = {
        "unread inbox mail": "SELECT count(*) FROM mail_message m JOIN mail_folder f ON f.id = m.folder_id "
        "WHERE m.seen = 0 AND f.role = 'inbox'",
        "untriaged": "SELECT count(*) FROM service_request WHERE status = 'uusi' AND merged_into_id IS NULL",
        "overdue": f"SELECT count(*) FROM service_request WHERE status IN ({running}) "
        f"AND due_at < '{SQL_NOW}'",
        "due today": f"SELECT count(*) FROM service_request WHERE status IN ({running}) "
        f"AND due_at >= '{SQL_NOW}' AND due_at < '{end_text}'",
        "open notices": "SELECT count(*) FROM notice WHERE is_open = 1",
        "unread feed items": "SELECT count(*) FROM feed_item WHERE read = 0",
        "onboarding due": "SELECT count(*) FROM checklist_run_item i JOIN checklist_run r ON r.id = i.run_id "
        f"WHERE r.status = 'open' AND i.done_at IS NULL AND i.due_on <= '{TODAY.isoformat()}'",
    }
    counts = {name: scalar(db, sql) for name, sql in figures.items()}
    assert all(count > 0 for count in counts.values()), counts
    assert counts["unread inbox mail"] < 100


def test_unread_mail_is_mostly_recent(db: sqlite3.Connection) -> None:
    three_days_ago = (FIXED_NOW - timedelta(days=3)).strftime("%Y-%m-%d %H:%M:%S.%f")
    unread = scalar(db, "SELECT count(*) FROM mail_message WHERE seen = 0")
    recent = scalar(db, "SELECT count(*) FROM mail_message WHERE seen = 0 AND date >= ?", three_days_ago)
    assert recent >= unread * 0.6
    assert scalar(db, "SELECT count(*) FROM mail_message WHERE flagged = 1") > 0


def test_mail_threads_hold_together(db: sqlite3.Connection) -> None:
    messages = db.execute(
        'SELECT message_id, in_reply_to, "references", thread_key FROM mail_message'
    ).fetchall()
    by_id = {message_id: (in_reply_to, thread_key) for message_id, in_reply_to, _refs, thread_key in messages}
    assert len(by_id) == len(messages)  # Message-IDs are unique
    replies = 0
    for message_id, in_reply_to, references, thread_key in messages:
        assert re.fullmatch(r"<[^<>@\s]+@[^<>@\s]+>", message_id)
        assert thread_key in by_id and by_id[thread_key][0] == ""  # the root starts the thread
        if in_reply_to:
            replies += 1
            assert in_reply_to in by_id and in_reply_to in references.split()
            assert by_id[in_reply_to][1] == thread_key
    assert replies > len(messages) * 0.2


def test_folders_have_their_roles_and_uid_counters(db: sqlite3.Connection) -> None:
    roles = dict(db.execute("SELECT role, name FROM mail_folder").fetchall())
    assert roles == {"inbox": "INBOX", "sent": "Sent", "archive": "Archive", "trash": "Trash"}
    for folder_id, uidnext in db.execute("SELECT id, uidnext FROM mail_folder"):
        top = scalar(db, "SELECT max(uid) FROM mail_message WHERE folder_id = ?", folder_id)
        assert uidnext == top + 1


def test_mail_is_finnish_and_from_example_domains(db: sqlite3.Connection) -> None:
    senders = Counter(row[0].rsplit("@", 1)[1] for row in db.execute("SELECT from_addr FROM mail_message"))
    assert all(domain.endswith(".example.fi") for domain in senders), senders
    for subject, snippet, body in db.execute(
        "SELECT subject, snippet, body_text FROM mail_message LIMIT 300"
    ):
        assert subject and body and len(snippet) <= 100
        assert snippet == " ".join(body.split())[: len(snippet)]
    newsletters = scalar(db, "SELECT count(*) FROM mail_message WHERE from_addr LIKE 'uutiskirje@%'")
    assert 20 <= newsletters <= 30  # weekly, for half a year


def test_people_units_and_lists(db: sqlite3.Connection) -> None:
    known_roles = {
        "vastuukäyttäjä",
        "tuotevastaava",
        "Omaolovastaava",
        "pääkäyttäjä",
        "ICT-asiantuntija",
        "esihenkilö",
    }
    names, emails = set(), set()
    for name, email, roles, active, left_on in db.execute(
        "SELECT name, email, roles, active, left_on FROM person"
    ):
        assert email.endswith("@pohde.example.fi") and email not in emails
        assert set(json.loads(roles)) <= known_roles
        assert (active == 1) == (left_on is None)
        names.add(name)
        emails.add(email)
    assert 2 <= scalar(db, "SELECT count(*) FROM person WHERE active = 0") <= 6
    assert scalar(db, "SELECT count(*) FROM person WHERE language = 'sv'") > 0
    services = {row[0] for row in db.execute("SELECT DISTINCT service FROM unit_service")}
    assert services == {
        "oirearviot",
        "palveluarviot",
        "työjonolähetys",
        "ajanvaraus",
        "ammattilaisen käyttöliittymä",
    }
    assert scalar(db, "SELECT count(*) FROM unit_service WHERE deployed_on IS NULL") == 0
    lists = {
        name: (rule, bilingual)
        for name, rule, bilingual in db.execute("SELECT name, rule, bilingual FROM mailing_list")
    }
    assert json.loads(lists["Kaikki vastuukäyttäjät"][0]) == {"role": "vastuukäyttäjä"}
    assert json.loads(lists["Työjonolähetystä käyttävät yksiköt"][0])["service"] == "työjonolähetys"
    assert lists["Tuotevastaavat"][0] == ""
    assert (
        scalar(
            db,
            "SELECT count(*) FROM list_member m JOIN mailing_list l ON l.id = m.list_id "
            "WHERE l.name = 'Tuotevastaavat'",
        )
        > 0
    )
    assert any(bilingual for _rule, bilingual in lists.values())


def test_feeds_have_months_of_items_and_the_newest_are_unread(db: sqlite3.Connection) -> None:
    feeds = {row[0] for row in db.execute("SELECT name FROM feed")}
    assert feeds == {"DigiFinland", "Omaolo", "Kanta", "THL"}
    assert all(".example." in row[0] for row in db.execute("SELECT url FROM feed"))
    oldest = scalar(db, "SELECT min(published_at) FROM feed_item")
    assert oldest < (FIXED_NOW - timedelta(days=90)).strftime("%Y-%m-%d")

    def read_share(condition: str, moment: datetime) -> float:
        limit = moment.strftime("%Y-%m-%d %H:%M:%S.%f")
        return scalar(db, f"SELECT avg(read) FROM feed_item WHERE published_at {condition} ?", limit)

    assert read_share(">=", FIXED_NOW - timedelta(days=5)) < 0.3
    assert read_share("<", FIXED_NOW - timedelta(days=30)) > 0.9
    assert scalar(db, "SELECT count(*) FROM feed_forward") > 0


def test_notices_open_resolved_and_scheduled(db: sqlite3.Connection) -> None:
    open_disruptions = db.execute(
        "SELECT id, status, services, text_fi, instructions, thread_message_id FROM notice "
        "WHERE is_open = 1 AND kind = 'häiriö'"
    ).fetchall()
    assert len(open_disruptions) == 1
    notice_id, status, services, text_fi, instructions, thread_id = open_disruptions[0]
    assert status in ("tutkitaan", "syy tunnistettu")
    assert json.loads(services) == ["työjonolähetys"]
    assert "116117" in text_fi and "Päivystysapu" in instructions
    versions = db.execute(
        "SELECT v.number, v.message_id, o.raw FROM notice_version v JOIN outbox o ON o.id = v.outbox_id "
        "WHERE v.notice_id = ? ORDER BY v.number",
        (notice_id,),
    ).fetchall()
    assert [number for number, _id, _raw in versions] == [1, 2]
    assert versions[0][1] == thread_id
    assert f"In-Reply-To: {thread_id}".encode() in versions[1][2]  # one e-mail thread per disruption
    resolved = db.execute("SELECT status, actual_end_at FROM notice WHERE is_open = 0").fetchall()
    assert len(resolved) >= 3 and all(s == "korjattu" and end is not None for s, end in resolved)
    scheduled = db.execute(
        "SELECT status, start_at, is_open FROM notice WHERE kind = 'huoltokatko'"
    ).fetchall()
    assert len(scheduled) == 1
    assert scheduled[0][0] == "aikataulutettu" and scheduled[0][1] > SQL_NOW and scheduled[0][2] == 1


def test_onboarding_templates_and_runs(db: sqlite3.Connection) -> None:
    template_id, kind = db.execute(
        "SELECT id, kind FROM checklist_template WHERE name = 'Vastuukäyttäjän perehdytys' AND is_current = 1"
    ).fetchone()
    assert kind == "onboarding"
    offsets = [
        row[0]
        for row in db.execute(
            "SELECT due_offset_days FROM checklist_template_item WHERE template_id = ? ORDER BY position",
            (template_id,),
        )
    ]
    assert len(offsets) == 11 and min(offsets) < 0 < max(offsets)
    assert scalar(db, "SELECT count(*) FROM checklist_template WHERE kind = 'offboarding'") == 1
    assert 3 <= scalar(db, "SELECT count(*) FROM checklist_run") <= 4
    assert scalar(db, "SELECT count(*) FROM checklist_run_item WHERE done_at IS NOT NULL") > 0
    for run_id, status in db.execute("SELECT id, status FROM checklist_run"):
        items = db.execute(
            "SELECT due_on, done_at FROM checklist_run_item WHERE run_id = ?", (run_id,)
        ).fetchall()
        assert items
        if status == "done":
            assert all(done is not None for _due, done in items)
    assert scalar(db, "SELECT count(*) FROM meeting") >= 2


def test_due_dates_count_working_days() -> None:
    thursday = date(2026, 11, 26)
    assert demo_generate.add_working_days(thursday, 2) == date(2026, 11, 30)  # over the weekend
    assert demo_generate.add_working_days(thursday, -5) == date(2026, 11, 19)
    assert demo_generate.add_working_days(date(2026, 11, 28), 1) == date(2026, 11, 30)  # from a Saturday


def test_every_time_is_before_now_except_plans_and_the_maintenance(hostile: Store) -> None:
    connection = connect(hostile)
    maintenance = {row[0] for row in connection.execute("SELECT id FROM notice WHERE kind = 'huoltokatko'")}
    checked = 0
    for table in SQLModel.metadata.sorted_tables:
        for column in table.columns:
            stored_as = getattr(column.type, "impl", column.type)  # UTCDateTime stores a DateTime
            kind = (
                datetime
                if isinstance(stored_as, sa.DateTime)
                else date
                if isinstance(stored_as, sa.Date)
                else None
            )
            if kind is None or (table.name, column.name) in FUTURE_ALLOWED:
                continue
            limit = SQL_NOW if kind is datetime else TODAY.isoformat()
            later = connection.execute(
                f'SELECT {"id" if "id" in table.c else "rowid"}, "{column.name}" FROM "{table.name}" '
                f'WHERE "{column.name}" {">=" if kind is datetime else ">"} ?',
                (limit,),
            ).fetchall()
            if (table.name, column.name) == ("notice", "start_at"):
                later = [row for row in later if row[0] not in maintenance]
            assert later == [], f"{table.name}.{column.name} has times after now: {later[:3]}"
            checked += 1
    assert checked > 30


def test_times_are_stored_as_sqlalchemy_stores_them(db: sqlite3.Connection) -> None:
    # The screens compare these columns as text; a different format would sort wrongly.
    stamp = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}")
    for sql in (
        "SELECT date FROM mail_message LIMIT 50",
        "SELECT due_at FROM service_request LIMIT 50",
        "SELECT at FROM request_event LIMIT 50",
        "SELECT last_sync_at FROM mail_folder",
        "SELECT published_at FROM feed_item LIMIT 50",
    ):
        for (value,) in db.execute(sql):
            assert stamp.fullmatch(value), (sql, value)
    assert db.execute("SELECT typeof(seen), typeof(raw) FROM mail_message, outbox LIMIT 1").fetchone() == (
        "integer",
        "blob",
    )


def test_full_text_search_finds_demo_rows(demo: tuple[Store, DemoSummary]) -> None:
    store = demo[0]
    with store.session() as session:
        mail = search(session, "työjonolähetys", kinds=("mail",))
        assert mail and all(hit.kind == "mail" for hit in mail)
        requests = search(session, "OMA-2026-0001", kinds=("request",))
        assert requests and requests[0].title.startswith("OMA-2026-0001")
        assert search(session, "Päivystysapuun", kinds=("notice",))
        assert search(session, "versiojulkaisu", kinds=("feed_item",))


# --- Hostile rows --------------------------------------------------------------------------------

HOSTILE_PLACES = [
    ("mail_message", "subject"),
    ("mail_message", "from_name"),
    ("service_request", "title"),
    ("person", "name"),
    ("unit", "name"),
    ("mailing_list", "name"),
    ("feed", "title"),
    ("feed_item", "title"),
    ("notice", "subject"),
    ("checklist_run_item", "text"),
]


@pytest.mark.parametrize(("table", "column"), HOSTILE_PLACES)
def test_hostile_text_is_in_every_shown_table(
    hostile: Store, db: sqlite3.Connection, table: str, column: str
) -> None:
    connection = connect(hostile)
    values = {row[0] for row in connection.execute(f'SELECT "{column}" FROM "{table}"')}
    assert set(HOSTILE_STRINGS) <= values
    plain = {row[0] for row in db.execute(f'SELECT "{column}" FROM "{table}"')}
    assert not set(HOSTILE_STRINGS) & plain  # only when asked for


def test_hostile_rows_are_the_newest_and_one_notice_stays_open(hostile: Store) -> None:
    connection = connect(hostile)
    newest = [
        row[0] for row in connection.execute("SELECT subject FROM mail_message ORDER BY date DESC LIMIT 6")
    ]
    assert sorted(newest) == sorted(HOSTILE_STRINGS)
    newest_requests = {
        row[0]
        for row in connection.execute("SELECT title FROM service_request ORDER BY created_at DESC LIMIT 6")
    }
    assert newest_requests == set(HOSTILE_STRINGS)
    open_hostile = connection.execute(
        "SELECT subject FROM notice WHERE is_open = 1 AND subject IN (?, ?, ?, ?, ?, ?)", HOSTILE_STRINGS
    ).fetchall()
    assert open_hostile == [("[@click=app.quit]x[/]",)]
    assert HOSTILE_STRINGS == (
        "Re: [PATCH] fix",
        "[@click=app.quit]x[/]",
        "[b]bold",
        "\x1b[31mred",
        "\u202eevil",
        "[$accent]x[/]",
    )


# --- Refusals and failures -----------------------------------------------------------------------


def test_a_store_with_data_is_refused_and_left_alone(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    build_demo_store(store, now=FIXED_NOW, scale=DemoScale(messages=100, requests=20, feed_items=10))
    before = dump(store)
    with pytest.raises(StoreError, match="already has data"):
        build_demo_store(store, now=FIXED_NOW)
    assert dump(store) == before


def test_a_failing_build_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self: object, *, hostile: bool) -> None:
        raise RuntimeError("feeds broke")

    monkeypatch.setattr(demo_generate.DemoBuilder, "build_feeds", broken)
    store = new_store(tmp_path)
    with pytest.raises(RuntimeError, match="feeds broke"):
        build_demo_store(store, now=FIXED_NOW)
    assert all(rows == [] for rows in dump(store).values())  # mail had been written, and rolled back


def test_now_must_be_aware_and_the_scale_sensible(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="timezone"):
        build_demo_store(new_store(tmp_path), now=datetime(2026, 11, 26, 9, 30))
    with pytest.raises(ValueError, match="units"):
        DemoScale(units=500)
    with pytest.raises(ValueError, match="people"):
        DemoScale(units=15, people=10)


# --- store.bulk ----------------------------------------------------------------------------------


def test_bulk_rows_are_stored_exactly_as_the_orm_stores_them(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    moment = datetime(2026, 11, 26, 9, 30, 15, 123456, tzinfo=HELSINKI)
    with store.session() as session:
        session.add(MailFolder(id=1, name="ORM", role="inbox", last_sync_at=moment))
        session.flush()
        row = {"id": 2, "name": "Bulk", "role": "inbox", "uidvalidity": None, "uidnext": None}
        row |= {"highest_uid": 0, "highest_modseq": None, "last_sync_at": moment, "last_error": ""}
        insert_rows(session, MailFolder, [row])
    connection = connect(store)
    orm, bulk = connection.execute("SELECT last_sync_at, highest_uid FROM mail_folder ORDER BY id").fetchall()
    assert orm == bulk == ("2026-11-26 07:30:15.123456", 0)
    with store.session() as session:
        assert session.exec(select(MailFolder).where(MailFolder.id == 2)).one().last_sync_at == moment


def test_bulk_insert_fills_table_defaults_and_refuses_mixed_columns(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    with store.session() as session:
        insert_rows(
            session, Unit, [{"name": "Kempele"}, {"name": "Liminka"}]
        )  # area, code, created_at default
        with pytest.raises(ValueError, match="same columns"):
            insert_rows(session, Unit, [{"name": "A"}, {"name": "B", "area": "Oulu"}])
    with Session(store.engine) as session:
        units = session.exec(select(Unit).order_by(col(Unit.id))).all()
    assert [(unit.name, unit.area) for unit in units] == [("Kempele", ""), ("Liminka", "")]
    assert all(unit.created_at.tzinfo is not None for unit in units)


def test_bulk_binds_constant_defaults_itself_and_stays_on_the_fast_path(tmp_path: Path) -> None:
    # The demo's 100k mails left out `headers` (default ""): that sent every batch through
    # SQLAlchemy's row-by-row path on the writer thread and doubled the benchmark store's build.
    store = new_store(tmp_path)
    rows = [{"id": 1, "name": "INBOX"}]
    prepared = prepare_insert(store.engine.dialect, MailFolder, rows)
    assert prepared.statements and not prepared.rows
    with store.session() as session:
        execute_prepared(session, prepared)
        insert_rows(session, MailFolder, [{"id": 2, "name": "Arkisto"}])
    connection = connect(store)
    stored = connection.execute("SELECT id, role, highest_uid, last_error FROM mail_folder ORDER BY id")
    assert stored.fetchall() == [(1, "", 0, ""), (2, "", 0, "")]
    # A default only Python computes (a creation time) still goes the ORM's way, and is filled.
    unit_rows = [{"name": "Kempele", "area": "", "code": ""}]
    assert prepare_insert(store.engine.dialect, Unit, unit_rows).rows == unit_rows


def test_bulk_rejects_naive_times_like_any_insert(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    with pytest.raises(Exception, match="timezone"), store.session() as session:
        insert_rows(
            session, Unit, [{"name": "X", "area": "", "code": "", "created_at": datetime(2026, 1, 1)}]
        )


def test_ids_allocated_ahead_and_rows_updated_by_id(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    with store.session() as session:
        assert next_free_id(session, Unit) == 1
        rows = [{"name": name} for name in ("Ii", "Muhos", "Vaala")]
        assert assign_ids(rows, next_free_id(session, Unit)) == [1, 2, 3]
        insert_rows(session, Unit, rows)
        assert next_free_id(session, Unit) == 4
        update_rows(session, Unit, [{"id": 2, "area": "Muhos"}, {"id": 3, "area": "Vaala"}])
    connection = connect(store)
    assert connection.execute("SELECT id, name, area FROM unit ORDER BY id").fetchall() == [
        (1, "Ii", ""),
        (2, "Muhos", "Muhos"),
        (3, "Vaala", "Vaala"),
    ]
