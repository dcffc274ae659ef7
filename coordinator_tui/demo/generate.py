"""Deterministic Finnish demo data: a county's Omaolo network and half a year of its work, relative to now."""

from __future__ import annotations

import json
import queue
import random
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from operator import itemgetter
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

from coordinator_tui.demo import data
from store.bulk import execute_prepared, prepare_insert, update_rows
from store.errors import StoreError
from store.models import (
    ChecklistRun,
    ChecklistRunItem,
    ChecklistTemplate,
    ChecklistTemplateItem,
    Delivery,
    Feed,
    FeedForward,
    FeedItem,
    ListMember,
    MailAttachment,
    MailFolder,
    MailingList,
    MailMessage,
    Meeting,
    Notice,
    NoticeVersion,
    Outbox,
    Person,
    RequestAction,
    RequestEvent,
    RequestMail,
    ServiceRequest,
    Unit,
    UnitService,
)
from store.vocabulary import CLOCK_RUNNING_STATUSES, REQUEST_STATUSES

if TYPE_CHECKING:
    from store.engine import Store

HELSINKI = ZoneInfo("Europe/Helsinki")

# Text that breaks naive rendering: a mutt-style subject tag, Textual action markup, Rich markup,
# an ANSI escape, a bidi override, a theme variable. ``hostile=True`` puts them in every shown table.
HOSTILE_STRINGS = (
    "Re: [PATCH] fix",
    "[@click=app.quit]x[/]",
    "[b]bold",
    "\x1b[31mred",
    "\u202eevil",
    "[$accent]x[/]",
)
# The hostile notice that stays open, so the Today screen shows it too.
HOSTILE_OPEN_NOTICE = 1

# Tables in the order their foreign keys allow inserting them.
INSERT_ORDER: tuple[type[Any], ...] = (
    Unit,
    UnitService,
    Person,
    MailingList,
    ListMember,
    MailFolder,
    Outbox,
    Delivery,
    Notice,
    NoticeVersion,
    ServiceRequest,
    RequestAction,
    RequestEvent,
    MailMessage,
    RequestMail,
    MailAttachment,
    Feed,
    FeedItem,
    FeedForward,
    ChecklistTemplate,
    ChecklistTemplateItem,
    ChecklistRun,
    ChecklistRunItem,
    Meeting,
)

Row = dict[str, Any]

FOLDERS = (("INBOX", "inbox"), ("Sent", "sent"), ("Archive", "archive"), ("Trash", "trash"))
# Rows are handed to the writer in batches of about this many requests or messages, so that
# writing overlaps drawing.
REQUESTS_PER_FLUSH = 1000
MESSAGES_PER_FLUSH = 5000
# A request's mail thread has about this many messages (measured on the default demo).
MESSAGES_PER_REQUEST = 4.4
# Working days from triage to the due time, by priority; untriaged requests get a day for triage.
WORKING_DAYS_TO_DUE = {None: 1, 2: 1, 3: 3, 4: 10}


@dataclass(frozen=True)
class DemoScale:
    """How big a demo store to build. The default is one coordinator's half year."""

    units: int = 15
    people: int = 60
    messages: int = 2000
    requests: int = 320
    feed_items: int = 200
    # About how many history rows a request has: the changes its story needs, then notes up to this.
    events_per_request: int = 10
    history_days: int = 182

    def __post_init__(self) -> None:
        if not 1 <= self.units <= len(data.UNITS):
            raise ValueError(f"units must be between 1 and {len(data.UNITS)}, not {self.units}")
        if self.people < 3 * self.units:
            raise ValueError(f"people must be at least three per unit ({3 * self.units}), not {self.people}")
        for name in ("messages", "requests", "feed_items", "events_per_request"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} cannot be negative")
        if self.history_days < 30:
            raise ValueError("history_days must be at least 30")

    @classmethod
    def benchmark(
        cls, messages: int = 100_000, requests: int = 20_000, feed_items: int = 10_000
    ) -> DemoScale:
        """A store the size a busy county reaches in a few years, for the benchmarks."""
        return cls(
            units=len(data.UNITS),
            people=240,
            messages=messages,
            requests=requests,
            feed_items=feed_items,
            history_days=365,
        )


@dataclass(frozen=True)
class DemoSummary:
    """What a demo build wrote: rows per table, in insert order."""

    seed: int
    now: datetime
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def describe(self) -> str:
        width = max(len(name) for name in self.counts)
        lines = [f"  {name:<{width}}  {count:>8,}".replace(",", " ") for name, count in self.counts.items()]
        return "\n".join([f"Rows written (seed {self.seed}):", *lines])


def build_demo_store(
    store: Store,
    *,
    seed: int = 2026,
    now: datetime | None = None,
    hostile: bool = False,
    scale: DemoScale | None = None,
) -> DemoSummary:
    """Fill a new, empty, migrated store with demo data; refuses a store that already has data.

    ``now`` must be timezone-aware (default: the current time); every row's time is before it,
    except a scheduled maintenance break and the deadlines (due times, expected ends).
    """
    if now is None:
        now = datetime.now(UTC)
    elif now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")
    now = now.astimezone(UTC)
    refuse_a_store_with_data(store)
    writer = BackgroundWriter(store)
    # A seeded generator is the point here: demo rows, not secrets.
    demo = DemoBuilder(random.Random(seed), now, scale or DemoScale(), sink=writer)  # noqa: S311
    try:
        demo.build(hostile=hostile)
    except BaseException:
        writer.abandon()
        raise
    writer.finish()
    return DemoSummary(
        seed=seed, now=now, counts={model.__tablename__: len(demo.rows[model]) for model in INSERT_ORDER}
    )


def refuse_a_store_with_data(store: Store) -> None:
    from sqlalchemy import text

    with store.session() as session:
        for table in ("unit", "person", "mail_message", "service_request", "feed", "notice"):
            if session.connection().execute(text(f"SELECT 1 FROM {table} LIMIT 1")).first() is not None:
                raise StoreError(
                    f"The store {store.path or store.url} already has data; the demo fills only a new, "
                    "empty store.",
                    "Nothing was changed. Build the demo into a new file.",
                )


class RowSink(Protocol):
    """Where the builder hands finished rows: inserts in foreign-key order, then updates by id."""

    def insert(self, model: type[Any], rows: list[Row]) -> None: ...

    def update(self, model: type[Any], rows: list[Row]) -> None: ...


# The benchmark store is one transaction of ~270 MB; with SQLite's default 2 MB page cache the
# mail indexes (date, sender, thread) spill to the WAL and are read back from it for nearly every
# row (100k mails: 11.3 s → 8.6 s of writing with this cache). Only pages used are allocated.
BUILD_CACHE_KIB = 256 * 1024


class BackgroundWriter:
    """Writes batches of rows on its own thread, in the order given, all in one transaction.

    The caller's thread prepares each batch (pure Python: values bound to multi-row statements);
    this thread executes them. SQLite inserts the rows and runs the search triggers without
    holding the GIL, so on two cores the demo draws the next rows while the last ones are written.
    """

    _ABANDON = object()

    def __init__(self, store: Store) -> None:
        self.store = store
        self.dialect = store.engine.dialect
        self.batches: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.error: BaseException | None = None
        self.abandoned = False
        self.thread = threading.Thread(target=self.run, name="demo-writer", daemon=True)
        self.thread.start()

    def run(self) -> None:
        try:
            with self.store.session() as session:
                connection = session.connection()
                usual_cache_size = int(connection.exec_driver_sql("PRAGMA cache_size").scalar_one())
                connection.exec_driver_sql(f"PRAGMA cache_size={-BUILD_CACHE_KIB}")
                for batch in iter(self.batches.get, None):
                    if self.abandoned:
                        raise _Abandoned  # skip what is still queued
                    write, *arguments = batch
                    write(session, *arguments)
                # The pooled connection outlives the build. Shrinking the cache before the commit
                # costs nothing: the commit writes every dirty page to the WAL anyway.
                connection.exec_driver_sql(f"PRAGMA cache_size={usual_cache_size}")
        except _Abandoned:
            pass  # the session rolled back; the builder's own error is what the caller sees
        except BaseException as error:
            self.error = error

    def insert(self, model: type[Any], rows: list[Row]) -> None:
        self.put(execute_prepared, prepare_insert(self.dialect, model, rows))

    def update(self, model: type[Any], rows: list[Row]) -> None:
        self.put(update_rows, model, rows)

    def put(self, write: Callable[..., None], *arguments: Any) -> None:
        if self.error is not None:
            self.finish()  # raises the writer's error, so drawing stops at once
        self.batches.put((write, *arguments))

    def finish(self) -> None:
        """Wait for the last batch and commit; raises what went wrong in the writer."""
        self.batches.put(None)
        self.thread.join()
        if self.error is not None:
            raise self.error

    def abandon(self) -> None:
        """Roll back whatever was written (the builder failed)."""
        self.abandoned = True
        self.batches.put(self._ABANDON)  # wakes the thread if it waits for a batch
        self.thread.join()


class _Abandoned(Exception):
    pass


# --- Time, the county's way ----------------------------------------------------------------------


def fi_date(day: date) -> str:
    return f"{day.day}.{day.month}.{day.year}"


def fi_datetime(moment: datetime) -> str:
    local = moment.astimezone(HELSINKI)
    return f"{fi_date(local.date())} klo {local.hour}.{local.minute:02d}"


def add_working_days(day: date, count: int) -> date:
    """``day`` moved by ``count`` working days (Monday to Friday); negative counts go back."""
    step = 1 if count >= 0 else -1
    remaining = abs(count)
    if day.weekday() < 5:
        # From a working day, every five working days are exactly one week.
        weeks, remaining = divmod(remaining, 5)
        day += timedelta(weeks=weeks * step)
    while remaining:
        day += timedelta(days=step)
        if day.weekday() < 5:
            remaining -= 1
    return day


def at_local(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=HELSINKI).astimezone(UTC)


def ascii_fold(name: str) -> str:
    return name.lower().translate(str.maketrans("äöåé ", "aoae-"))


def plain_snippet(body: str) -> str:
    return " ".join(body[:200].split())[:100]


def json_list(values: Sequence[Any]) -> str:
    return json.dumps(list(values), ensure_ascii=False)


# --- The builder ---------------------------------------------------------------------------------


@dataclass
class Thread:
    """The messages of one mail thread so far, for In-Reply-To and References of the next."""

    root_id: str
    chain: list[str]

    @property
    def references(self) -> str:
        return " ".join(self.chain)


class RequestStory:
    """The history of one request as it is told: its events, its mail thread and the links between them."""

    def __init__(
        self,
        demo: DemoBuilder,
        request_id: int,
        reference: str,
        title: str,
        category: str,
        requester: Row,
        with_mail: bool,
    ) -> None:
        self.demo = demo
        self.category = category
        self.request_id = request_id
        self.reference = reference
        self.title = title
        self.requester = requester
        self.with_mail = with_mail
        self.coordinator = data.COORDINATORS[0] if demo.rng.random() < 0.85 else data.COORDINATORS[1]
        self.status = "uusi"
        self.events: list[Row] = []
        self.links: list[tuple[Row, str]] = []  # (mail row, reason)
        self.thread: Thread | None = None
        self.last_received: Row | None = None

    def event(
        self, at: datetime, kind: str, field: str = "", old: str = "", new: str = "", text: str = ""
    ) -> None:
        actor = data.SYSTEM_ACTOR if kind in ("created", "mail_in") else self.coordinator
        self.events.append(
            {
                "request_id": self.request_id,
                "at": at,
                "actor": actor,
                "kind": kind,
                "field": field,
                "old": old,
                "new": new,
                "text": text,
            }
        )

    def change_status(self, at: datetime, status: str) -> None:
        self.event(at, "change", "status", self.status, status)
        self.status = status

    def mail_in(
        self,
        at: datetime,
        body: str,
        *,
        root: bool = False,
        unread_allowed: bool = True,
        attachments: Sequence[str] = (),
    ) -> None:
        """A message from the requester: the first one, or a reply carrying the request's tag."""
        if not self.with_mail:
            return
        demo = self.demo
        role, seen = demo.placement(at)
        row, self.thread = demo.mail(
            role=role,
            moment=at,
            subject=self.title if root else f"Re: [{self.reference}] {self.title}",
            sender=demo.person_sender(self.requester),
            to=data.SHARED_MAILBOX,
            body=body,
            thread=self.thread,
            seen=seen or not unread_allowed,
            flagged=root and demo.rng.random() < 0.04,
            attachments=attachments,
        )
        self.last_received = row
        # The first message was made into the request (a link by hand); replies find it by In-Reply-To.
        self.links.append((row, "manual" if root else "header"))
        if not root:
            self.event(at, "mail_in", text=plain_snippet(body))

    def mail_out(self, at: datetime, kind: str, **values: str) -> None:
        """The coordinator's reply in the request's thread, from the shared mailbox."""
        if not self.with_mail:
            return
        demo = self.demo
        replies = data.SOLUTIONS[self.category] if kind == "solution" else data.COORDINATOR_REPLIES[kind]
        text = demo.pick(replies).format(reference=self.reference, **values)
        body = demo.coordinator_letter(text, self.requester, self.coordinator)
        if self.last_received is not None:
            self.last_received["answered"] = True
        row, self.thread = demo.mail(
            role="sent",
            moment=at,
            subject=f"Re: [{self.reference}] {self.title}",
            sender=(data.SHARED_MAILBOX_NAME, data.SHARED_MAILBOX),
            to=self.requester["email"],
            body=body,
            thread=self.thread,
        )
        self.links.append((row, "manual"))
        self.event(at, "mail_out", text=plain_snippet(body))

    def digifinland_mail(self, at: datetime, ticket: str, *, solved: bool) -> None:
        """DigiFinland's service desk about the escalated ticket: its own thread, linked by hand."""
        if not self.with_mail:
            return
        demo = self.demo
        state = "ratkaistu" if solved else "vastaanotettu"
        news = "Muutos on tehty tuotantoon." if solved else "Käsittelemme sen mahdollisimman pian."
        body = (
            f"Hei,\n\nPalvelupyyntönne {ticket} on {state}. {news}\n\n"
            "Ystävällisin terveisin\nDigiFinland Oy, Omaolo-tuki"
        )
        role, seen = demo.placement(at)
        row, _thread = demo.mail(
            role=role,
            moment=at,
            subject=f"[{ticket}] Palvelupyyntö {state}: {self.title}",
            sender=("DigiFinland Omaolo-tuki", f"omaolo.tuki@{data.DIGIFINLAND_DOMAIN}"),
            to=data.SHARED_MAILBOX,
            body=body,
            seen=seen,
        )
        self.links.append((row, "manual"))
        self.event(at, "mail_in", text=plain_snippet(body))

    def add_notes(self, created: datetime, events_per_request: int) -> None:
        """Notes between the request's first and last event, up to about ``events_per_request`` rows."""
        rng = self.demo.rng
        target = rng.randint(max(1, events_per_request - 2), events_per_request + 2)
        last = max(event["at"] for event in self.events)
        span = last - created
        for _ in range(target - len(self.events)):
            at = created + span * rng.random() if span else created
            self.event(at, "note", text=self.demo.pick(data.REQUEST_NOTES))


class DemoBuilder:
    """Draws every row of the demo as a plain dict, with ids assigned here, and hands them to a sink.

    Everything comes from one ``random.Random(seed)`` in a fixed order and every time is computed
    from ``now``, so the same seed and ``now`` give byte-identical rows.
    """

    def __init__(
        self,
        rng: random.Random,
        now: datetime,
        scale: DemoScale,
        sink: RowSink | None = None,
    ) -> None:
        self.rng = rng
        self.sink = sink
        self.now = now
        self.scale = scale
        self.today = now.astimezone(HELSINKI).date()
        # Ordinary rows end a few minutes before now, so that hostile rows are always the newest.
        self.horizon = now - timedelta(minutes=3)
        self.end_of_today = datetime.combine(self.today + timedelta(days=1), time(0), HELSINKI).astimezone(
            UTC
        )
        self.rows: dict[type[Any], list[Row]] = {model: [] for model in INSERT_ORDER}
        self.has_id = {model: "id" in model.__table__.c for model in INSERT_ORDER}
        self.signatures: dict[int, str] = {}
        self.flushed = dict.fromkeys(INSERT_ORDER, 0)
        self.folder_ids = {role: number for number, (_name, role) in enumerate(FOLDERS, start=1)}
        self.next_uid = dict.fromkeys(self.folder_ids.values(), 1)

    # --- helpers that draw ---

    def add(self, model: type[Any], row: Row) -> Row:
        """Keep ``row`` for ``model``'s table, numbering it (in place) if the table has ids."""
        table = self.rows[model]
        if self.has_id[model] and "id" not in row:
            row["id"] = len(table) + 1
        table.append(row)
        return row

    def pick(self, values: Sequence[Any]) -> Any:
        return values[int(self.rng.random() * len(values))]

    def days_ago(self, days: float) -> datetime:
        return self.now - timedelta(days=days)

    def office_moment(self, max_days_ago: float, min_days_ago: float = 0.0) -> datetime:
        """A moment in office hours on a working day (mostly), between the two ages, before now."""
        rng = self.rng
        day = self.today - timedelta(days=int(min_days_ago + rng.random() * (max_days_ago - min_days_ago)))
        if day.weekday() >= 5 and rng.random() < 0.85:
            day -= timedelta(days=day.weekday() - 4)  # most weekend mail is really Friday's
        if rng.random() < 0.9:
            minutes = int(rng.triangular(7 * 60 + 30, 16 * 60 + 30, 10 * 60))
        else:
            minutes = int(rng.uniform(16 * 60 + 30, 22 * 60))
        moment = at_local(day, minutes // 60, minutes % 60, int(rng.random() * 60))
        if moment >= self.horizon:
            moment = self.horizon - timedelta(seconds=rng.uniform(60, 3 * 3600))
        return moment

    def after(self, moment: datetime, typical: timedelta) -> datetime:
        """About ``typical`` after ``moment`` but before the horizon (``moment`` itself if past it)."""
        room = max((self.horizon - moment) * 0.7, timedelta(0))
        step = typical * self.rng.uniform(0.3, 1.7)
        return moment + min(step, room)

    def message_id(self, moment: datetime, domain: str) -> str:
        return f"<{int(moment.timestamp())}.{self.rng.getrandbits(40):010x}@{domain}>"

    # --- the build ---

    def build(self, *, hostile: bool) -> None:
        self.build_units()
        self.build_people()
        self.build_lists()
        self.build_folders()
        self.build_notices()
        self.flush()
        self.build_requests()  # these two flush as they go
        self.build_other_mail(self.scale.messages - len(self.rows[MailMessage]))
        if hostile:
            self.build_hostile()
        self.build_feeds(hostile=hostile)
        self.build_checklists(hostile=hostile)
        self.build_meetings()
        self.flush()
        self.count_the_uids()

    def flush(self) -> None:
        """Hand the rows drawn since the last flush to the sink, parents before children.

        A row handed over is final: nothing changes it afterwards, since it may be written already.
        """
        for model in INSERT_ORDER:
            table, start = self.rows[model], self.flushed[model]
            if len(table) > start:
                if self.sink is not None:
                    self.sink.insert(model, table[start:])
                self.flushed[model] = len(table)

    # --- the network ---

    def build_units(self) -> None:
        rng = self.rng
        for index, (name, area, kind) in enumerate(data.UNITS[: self.scale.units]):
            unit = self.add(
                Unit,
                {
                    "name": name,
                    "area": area,
                    "code": f"PPH-{4100 + index * 13}",
                    "created_at": self.days_ago(rng.uniform(700, 1100)),
                },
            )
            shares = data.SERVICE_SHARE[kind]
            services = [service for service in data.SERVICES if rng.random() < shares[service]]
            first_deployed = self.today - timedelta(days=rng.randint(260, 1000))
            # Later services follow within months, but none in the last weeks: the two fresh
            # deployments below are the only ones with a first cooperation meeting ahead.
            settled_by = self.today - timedelta(days=60)
            for position, service in enumerate(services):
                deployed = first_deployed + timedelta(days=position * rng.randint(0, 90))
                self.add(
                    UnitService,
                    {"unit_id": unit["id"], "service": service, "deployed_on": min(deployed, settled_by)},
                )
            if index in (3, 7):
                # Two fresh deployments, so that a first cooperation meeting is coming up.
                recent = self.today - timedelta(days=rng.randint(20, 35))
                fresh = "palveluarviot" if "palveluarviot" not in services else "ajanvaraus"
                if fresh not in services:
                    self.add(UnitService, {"unit_id": unit["id"], "service": fresh, "deployed_on": recent})

    def build_people(self) -> None:
        rng = self.rng
        units = self.rows[Unit]
        unit_count = len(units)
        used_names: set[str] = set()
        used_emails: set[str] = set()
        self.people_by_unit: dict[int, list[Row]] = {unit["id"]: [] for unit in units}
        for index in range(self.scale.people):
            if index < 3 * unit_count:
                unit_id: int | None = units[index % unit_count]["id"]
                slot = index // unit_count
                roles = [data.UNIT_ROLES[slot]]
            elif index < 3 * unit_count + len(data.COUNTY_ROLES):
                unit_id, slot = None, -1
                roles = [data.COUNTY_ROLES[index - 3 * unit_count]]
            else:
                unit_id, slot = self.pick(units)["id"], 3
                roles = ["vastuukäyttäjä" if rng.random() < 0.7 else "esihenkilö"]
            if roles == ["vastuukäyttäjä"] and rng.random() < 0.1:
                roles.append("pääkäyttäjä")
            while True:
                first, last = self.pick(data.FIRST_NAMES), self.pick(data.LAST_NAMES)
                if f"{first} {last}" not in used_names:
                    break
            name = f"{first} {last}"
            used_names.add(name)
            email = self.unique_email(ascii_fold(first), ascii_fold(last), used_emails)
            created = self.days_ago(rng.uniform(200, 900))
            person = self.add(
                Person,
                {
                    "name": name,
                    "email": email,
                    "phone": "",
                    "unit_id": unit_id,
                    "roles": json_list(roles),
                    "language": "fi",
                    "active": True,
                    "left_on": None,
                    "created_at": created,
                    "updated_at": self.after(created, timedelta(days=60)),
                },
            )
            person["_slot"] = slot
            if unit_id is not None:
                self.people_by_unit[unit_id].append(person)
        self.cast_people(used_emails)
        for person in self.rows[Person]:
            person.pop("_slot")

    def unique_email(self, first: str, last: str, used: set[str]) -> str:
        email, number = f"{first}.{last}@{data.COUNTY_DOMAIN}", 2
        while email in used:
            email, number = f"{first}.{last}{number}@{data.COUNTY_DOMAIN}", number + 1
        used.add(email)
        return email

    def cast_people(self, used_emails: set[str]) -> None:
        """Choose who is new (onboarding), who has left, and who reads notices in Swedish."""
        rng = self.rng
        third_slot = [person for person in self.rows[Person] if person["_slot"] == 2]
        self.newcomers = third_slot[:3]
        self.leavers = third_slot[3:7]
        # Newcomer 0 started two weeks ago, 1 starts in two working days, 2 finished months ago.
        for person, days in zip(self.newcomers, (16, 4, 130), strict=False):
            person["created_at"] = self.days_ago(days + rng.random())
            person["updated_at"] = self.after(person["created_at"], timedelta(hours=3))
        for person in self.leavers:
            left = self.today - timedelta(days=rng.randint(10, 150))
            person["active"] = False
            person["left_on"] = left
            person["updated_at"] = at_local(left, 15, rng.randint(0, 59))
        settled = [p for p in self.rows[Person] if p["_slot"] in (0, 1) and p["unit_id"] is not None]
        for person, swedish in zip(settled[4::4], data.SWEDISH_NAMES, strict=False):
            first, last = swedish.split(" ")
            used_emails.discard(person["email"])
            person["name"] = swedish
            person["email"] = self.unique_email(ascii_fold(first), ascii_fold(last), used_emails)
            person["language"] = "sv"
        self.active_people = [p for p in self.rows[Person] if p["active"]]
        not_started = {person["id"] for person in self.newcomers[1:2]}
        self.requesters = [
            p for p in self.active_people if p["unit_id"] is not None and p["id"] not in not_started
        ]
        self.unit_by_id = {unit["id"]: unit for unit in self.rows[Unit]}

    def has_role(self, person: Row, role: str) -> bool:
        return role in json.loads(person["roles"])

    def build_lists(self) -> None:
        created = self.days_ago(400)
        self.add(
            MailingList,
            {
                "name": "Kaikki vastuukäyttäjät",
                "description": "Hyvinvointialueen kaikki Omaolon vastuukäyttäjät.",
                "rule": json.dumps({"role": "vastuukäyttäjä"}, ensure_ascii=False),
                "bilingual": False,
                "created_at": created,
            },
        )
        self.add(
            MailingList,
            {
                "name": "Työjonolähetystä käyttävät yksiköt",
                "description": "Vastuukäyttäjät yksiköissä, joissa työjonolähetys on käytössä.",
                "rule": json.dumps(
                    {"role": "vastuukäyttäjä", "service": "työjonolähetys"}, ensure_ascii=False
                ),
                "bilingual": False,
                "created_at": created,
            },
        )
        product_owners = self.add(
            MailingList,
            {
                "name": "Tuotevastaavat",
                "description": "Omaolon tuotevastaavat; kootaan käsin.",
                "rule": "",
                "bilingual": False,
                "created_at": created,
            },
        )
        self.notice_list = self.add(
            MailingList,
            {
                "name": "Häiriötiedotteet – Störningsmeddelanden",
                "description": "Häiriö- ja huoltotiedotteet suomeksi ja ruotsiksi.",
                "rule": "",
                "bilingual": True,
                "created_at": created,
            },
        )
        steering = self.add(
            MailingList,
            {
                "name": "Omaolo-ohjausryhmä",
                "description": "Omaolovastaavat, tuotevastaavat ja pääkäyttäjät.",
                "rule": "",
                "bilingual": False,
                "created_at": created,
            },
        )
        not_yet_added = {person["id"] for person in self.newcomers[1:2]}  # starts next week
        for person in self.active_people:
            if self.has_role(person, "tuotevastaava"):
                self.add(ListMember, {"list_id": product_owners["id"], "person_id": person["id"]})
            if person["id"] not in not_yet_added and any(
                self.has_role(person, role) for role in ("vastuukäyttäjä", "esihenkilö", "Omaolovastaava")
            ):
                self.add(ListMember, {"list_id": self.notice_list["id"], "person_id": person["id"]})
            if any(
                self.has_role(person, role) for role in ("Omaolovastaava", "tuotevastaava", "pääkäyttäjä")
            ):
                self.add(ListMember, {"list_id": steering["id"], "person_id": person["id"]})
        members = {
            row["person_id"] for row in self.rows[ListMember] if row["list_id"] == self.notice_list["id"]
        }
        self.notice_recipients = [p["email"] for p in self.active_people if p["id"] in members]
        self.responsible_users = [
            p["email"] for p in self.active_people if self.has_role(p, "vastuukäyttäjä")
        ]

    def build_folders(self) -> None:
        """The folders, before their messages; :meth:`count_the_uids` sets their UID counters."""
        for name, role in FOLDERS:
            self.add(
                MailFolder,
                {
                    "id": self.folder_ids[role],
                    "name": name,
                    "role": role,
                    "uidvalidity": 1_600_000_000 + self.rng.randint(0, 99_999_999),
                    "uidnext": 1,
                    "highest_uid": 0,
                    "highest_modseq": None,
                    "last_sync_at": self.now - timedelta(minutes=2),
                    "last_error": "",
                },
            )

    def count_the_uids(self) -> None:
        """Each folder's next UID, known once every message is drawn (the rows stay as handed over)."""
        counters = [
            {"id": folder_id, "uidnext": next_uid, "highest_uid": next_uid - 1}
            for folder_id, next_uid in self.next_uid.items()
        ]
        if self.sink is not None:
            self.sink.update(MailFolder, counters)

    # --- mail ---

    def mail(
        self,
        *,
        role: str,
        moment: datetime,
        subject: str,
        sender: tuple[str, str],
        to: str,
        body: str,
        thread: Thread | None = None,
        seen: bool = True,
        flagged: bool = False,
        attachments: Sequence[str] = (),
        attachment_values: dict[str, str] | None = None,
    ) -> tuple[Row, Thread]:
        """One message; ``thread`` is the thread it replies into (None starts a new one)."""
        name, address = sender
        message_id = self.message_id(moment, address.rsplit("@", 1)[1])
        if thread is None:
            in_reply_to, references = "", ""
            thread = Thread(root_id=message_id, chain=[message_id])
        else:
            in_reply_to, references = thread.chain[-1], thread.references
            thread.chain.append(message_id)
        size = len(body) + len(subject) + 1100
        folder_id = self.folder_ids[role]
        uid = self.next_uid[folder_id]
        self.next_uid[folder_id] = uid + 1
        row: Row = {
            "folder_id": folder_id,
            "uid": uid,
            "message_id": message_id,
            "in_reply_to": in_reply_to,
            "references": references,
            "thread_key": thread.root_id,
            "subject": subject,
            "from_name": name,
            "from_addr": address,
            "to_addrs": to,
            "cc_addrs": "",
            "date": moment,
            "seen": seen,
            "flagged": flagged,
            "answered": False,
            "size": size,
            "has_attachments": bool(attachments),
            "snippet": plain_snippet(body),
            "body_text": body,
            "parse_note": "",
            "modseq": None,
        }
        self.add(MailMessage, row)
        # Part 1 is the text; attachments follow as parts 2, 3, ...
        for part, kind in enumerate(attachments, start=2):
            filename, content_type, typical = data.ATTACHMENT_KINDS[kind]
            attachment_size = int(typical * self.rng.uniform(0.5, 1.5))
            self.add(
                MailAttachment,
                {
                    "mail_message_id": row["id"],
                    "part": str(part),
                    "filename": filename.format(**(attachment_values or {})),
                    "content_type": content_type,
                    "size": attachment_size,
                },
            )
            row["size"] += attachment_size * 4 // 3  # base64
        return row, thread

    def placement(self, moment: datetime, *, trash_share: float = 0.0) -> tuple[str, bool]:
        """The folder of a received message and whether it has been read, from its age."""
        rng = self.rng
        age_days = (self.now - moment).total_seconds() / 86400
        if trash_share and rng.random() < trash_share:
            return "trash", True
        if age_days > 21 and rng.random() < 0.75:
            return "archive", True
        if age_days < 3:
            return "inbox", rng.random() < 0.3
        if age_days < 10:
            return "inbox", rng.random() < 0.92
        return "inbox", rng.random() < 0.995

    def person_sender(self, person: Row) -> tuple[str, str]:
        return person["name"], person["email"]

    def signature(self, person: Row) -> str:
        signature = self.signatures.get(person["id"])
        if signature is None:
            role = json.loads(person["roles"])[0]
            unit = self.unit_by_id.get(person["unit_id"])
            place = unit["name"] if unit else "Pohjois-Pohjanmaan hyvinvointialue"
            signature = self.signatures[person["id"]] = (
                f"{person['name']}\n{role[0].upper()}{role[1:]}, {place}"
            )
        return signature

    def letter(self, person: Row | None, lines: Sequence[str], **values: str) -> str:
        text = " ".join(line.format(**values) for line in lines)
        closing = self.pick(data.CLOSINGS)
        signature = self.signature(person) if person else data.SHARED_MAILBOX_NAME
        return f"{self.pick(data.GREETINGS)}\n\n{text}\n\n{closing}\n{signature}"

    def coordinator_letter(self, text: str, person: Row | None, signer: str = data.COORDINATORS[0]) -> str:
        greeting = f"Hei {person['name'].split(' ')[0]}," if person else "Hei,"
        return (
            f"{greeting}\n\n{text}\n\nYstävällisin terveisin\n{signer}\n"
            f"Omaolo-koordinaattori, Pohjois-Pohjanmaan hyvinvointialue\n{data.SHARED_MAILBOX}"
        )

    # --- notices (before requests, which link to them) ---

    def build_notices(self) -> None:
        rng = self.rng
        start = self.now - timedelta(hours=2, minutes=10)
        expected = self.now + timedelta(hours=2)
        self.open_notice_start = start
        self.notice_windows: list[tuple[int, datetime, datetime]] = []
        contact = f"Omaolo-koordinaattori, {data.SHARED_MAILBOX}"
        instructions = (
            "Ohjatkaa asiakkaita soittamaan omalle terveysasemalle virka-aikana. Kiireellisissä asioissa "
            "asiakas soittaa Päivystysapuun numeroon 116117, hätätilanteessa numeroon 112."
        )
        impact = (
            "Omaolossa tehdyt oirearviot eivät siirry terveysasemien työjonoihin. Arvio valmistuu "
            "asiakkaalle, mutta yhteydenottopyyntö ei tavoita yksikköä."
        )
        text_fi = (
            f"Omaolon työjonolähetyksessä on häiriö {fi_datetime(start)} alkaen. {impact} {instructions} "
            f"Arvioimme häiriön korjautuvan {fi_datetime(expected)} mennessä. Tiedotamme tilanteesta "
            "tässä samassa viestiketjussa."
        )
        text_sv = (
            f"Det finns en störning i Omaolos arbetskö sedan {fi_datetime(start)}. Symtombedömningar "
            "når inte hälsostationernas arbetsköer. Be klienterna ringa sin hälsostation under tjänstetid, "
            "i brådskande fall Jourhjälpen 116117 och i nödsituationer 112."
        )
        self.notice(
            kind="häiriö",
            services=["työjonolähetys"],
            subject="Häiriötiedote: Omaolon työjonolähetys ei toimi",
            start=start,
            expected_end=expected,
            actual_end=None,
            impact=impact,
            instructions=instructions,
            contact=contact,
            text_fi=text_fi,
            text_sv=text_sv,
            versions=[
                ("tutkitaan", start + timedelta(minutes=18), "Häiriö havaittu; syytä selvitetään.", ""),
                (
                    "syy tunnistettu",
                    self.now - timedelta(minutes=40),
                    "Syy tunnistettu: integraatiopalvelun varmenne oli vanhentunut. Korjaus on käynnissä.",
                    "Syy tunnistettu ja korjausaika arvioitu.",
                ),
            ],
        )
        resolved = [
            ("häiriö", ["oirearviot"], "Häiriötiedote: Omaolon kirjautuminen ei toimi", 38, 3),
            (
                "hidastelu",
                ["ammattilaisen käyttöliittymä"],
                "Ammattilaisen käyttöliittymä toimii hitaasti",
                74,
                5,
            ),
            ("katko", ["ajanvaraus"], "Katko: Omaolon ajanvaraus ei ole käytettävissä", 111, 2),
            ("häiriö", ["palveluarviot"], "Häiriötiedote: palveluarviot eivät tallennu", 149, 4),
        ]
        for kind, services, subject, days, hours in resolved:
            begun = self.office_moment(days + 1, days)
            ended = begun + timedelta(hours=hours, minutes=rng.randint(0, 50))
            body = (
                f"{subject}. Häiriö alkoi {fi_datetime(begun)}. Palvelu ({', '.join(services)}) "
                f"ei ollut käytettävissä normaalisti. {instructions}"
            )
            steps = [("tutkitaan", begun + timedelta(minutes=20), "Häiriötä selvitetään.", "")]
            if kind == "hidastelu":
                steps.append(
                    (
                        "seurataan",
                        begun + timedelta(hours=2),
                        "Korjaus asennettu, tilannetta seurataan.",
                        "Seuranta",
                    )
                )
            steps.append(
                (
                    "korjattu",
                    ended + timedelta(minutes=10),
                    f"Häiriö korjattu {fi_datetime(ended)}.",
                    "Korjattu",
                )
            )
            self.notice(
                kind=kind,
                services=services,
                subject=subject,
                start=begun,
                expected_end=begun + timedelta(hours=4),
                actual_end=ended,
                impact=f"Palvelu {services[0]} ei toiminut normaalisti.",
                instructions=instructions,
                contact=contact,
                text_fi=body,
                text_sv="",
                versions=steps,
            )
        # Maintenance announced three days ago for next week: the one notice dated in the future.
        break_day = add_working_days(self.today, 4)
        break_start = at_local(break_day, 18)
        break_text = (
            f"Omaolo ei ole käytettävissä {fi_datetime(break_start)}–21.00 huoltotöiden vuoksi. "
            "Katkon aikana oirearvioita ja palveluarvioita ei voi tehdä eikä työjonoa käsitellä. "
            "Kiireellisissä asioissa asiakkaat soittavat Päivystysapuun numeroon 116117."
        )
        self.notice(
            kind="huoltokatko",
            services=list(data.SERVICES),
            subject=f"Huoltokatko: Omaolo ei ole käytettävissä {fi_date(break_day)} klo 18.00–21.00",
            start=break_start,
            expected_end=break_start + timedelta(hours=3),
            actual_end=None,
            impact="Omaolo ei ole käytettävissä katkon aikana.",
            instructions="Asiakkaat voivat tehdä arvion katkon jälkeen.",
            contact=contact,
            text_fi=break_text,
            text_sv=f"Omaolo är inte tillgängligt {fi_datetime(break_start)}–21.00 på grund av underhåll.",
            versions=[("aikataulutettu", self.days_ago(3) + timedelta(minutes=5), break_text, "")],
        )

    def notice(
        self,
        *,
        kind: str,
        services: list[str],
        subject: str,
        start: datetime,
        expected_end: datetime | None,
        actual_end: datetime | None,
        impact: str,
        instructions: str,
        contact: str,
        text_fi: str,
        text_sv: str,
        versions: list[tuple[str, datetime, str, str]],
        units: Sequence[int] = (),
    ) -> Row:
        """A notice with its sent versions, each through the outbox to the notice list (Bcc)."""
        created = min(versions[0][1] - timedelta(minutes=5), start)
        notice = self.add(
            Notice,
            {
                "kind": kind,
                "services": json_list(services),
                "units": json_list(units),
                "status": versions[-1][0],
                "start_at": start,
                "expected_end_at": expected_end,
                "actual_end_at": actual_end,
                "impact": impact,
                "instructions": instructions,
                "contact": contact,
                "text_fi": text_fi,
                "text_sv": text_sv,
                "subject": subject,
                "thread_message_id": "",
                "is_open": actual_end is None,
                "created_at": created,
                "updated_at": versions[-1][1],
            },
        )
        first_id = ""
        for number, (status, sent_at, status_line, changes) in enumerate(versions, start=1):
            body = f"{status_line}\n\n{text_fi}"  # every version carries the whole notice
            message_id = (
                f"<notice-{notice['id']}-{number}.{self.rng.getrandbits(32):08x}@{data.COUNTY_DOMAIN}>"
            )
            first_id = first_id or message_id
            version_subject = subject if number == 1 else f"Päivitys: {subject}"
            outbox = self.outbox(
                kind="notice",
                message_id=message_id,
                subject=version_subject,
                body=f"{body}\n\n{text_sv}".strip(),
                recipients=self.notice_recipients,
                sent_at=sent_at,
                thread_root=first_id if number > 1 else "",
            )
            self.add(
                NoticeVersion,
                {
                    "notice_id": notice["id"],
                    "number": number,
                    "status": status,
                    "subject": version_subject,
                    "body_fi": body,
                    "body_sv": text_sv,
                    "changes": changes,
                    "message_id": message_id,
                    "outbox_id": outbox["id"],
                    "created_at": sent_at - timedelta(minutes=3),
                    "scheduled_at": None,
                    "sent_at": sent_at,
                },
            )
        notice["thread_message_id"] = first_id
        if actual_end is not None or kind == "häiriö":
            self.notice_windows.append((notice["id"], start, actual_end or self.now))
        return notice

    def outbox(
        self,
        *,
        kind: str,
        message_id: str,
        subject: str,
        body: str,
        recipients: Sequence[str],
        sent_at: datetime,
        thread_root: str = "",
    ) -> Row:
        from email.message import EmailMessage
        from email.policy import SMTP
        from email.utils import format_datetime

        message = EmailMessage(policy=SMTP)
        message["From"] = f"{data.SHARED_MAILBOX_NAME} <{data.SHARED_MAILBOX}>"
        message["To"] = f"{data.SHARED_MAILBOX_NAME} <{data.SHARED_MAILBOX}>"  # recipients go in Bcc
        message["Subject"] = subject
        message["Date"] = format_datetime(sent_at.astimezone(HELSINKI))
        message["Message-ID"] = message_id
        if thread_root:
            message["In-Reply-To"] = thread_root
            message["References"] = thread_root
        message.set_content(body)
        outbox = self.add(
            Outbox,
            {
                "kind": kind,
                "message_id": message_id,
                "subject": subject,
                "raw": message.as_bytes(),
                "recipients": json_list(recipients),
                "state": "sent",
                "error": "",
                "scheduled_at": None,
                "created_at": sent_at - timedelta(seconds=20),
                "sent_at": sent_at,
            },
        )
        for recipient in recipients:
            self.add(
                Delivery,
                {
                    "outbox_id": outbox["id"],
                    "recipient": recipient,
                    "status": "accepted",
                    "smtp_reply": "250 2.0.0 Ok: queued",
                    "at": sent_at,
                },
            )
        return outbox

    # --- service requests and their mail ---

    def build_requests(self) -> None:
        rng = self.rng
        count = self.scale.requests
        created = sorted(self.office_moment(self.scale.history_days) for _ in range(count))
        # A few requests about the open disruption arrived after it began.
        incident_reports = min(3, count // 10)
        window = self.now - self.open_notice_start
        for k in range(incident_reports):
            created[-1 - k] = self.open_notice_start + window * (0.15 + 0.25 * k)
        created.sort()
        statuses = [self.status_for_age(self.now - moment) for moment in created]
        self.ensure_every_status(statuses)
        # The Today screen's due-today and overdue figures are never zero in the demo: the two
        # newest requests whose clock runs fall due today, the oldest one is overdue.
        running = [index for index, status in enumerate(statuses) if status in CLOCK_RUNNING_STATUSES]
        due_today = set(running[-2:])
        overdue = set(running[:1])
        # Request threads take at most about 60 % of the mailbox, leaving room for its other mail.
        mail_share = min(1.0, 0.6 * self.scale.messages / (MESSAGES_PER_REQUEST * count)) if count else 0.0
        mail_cap = 0.8 * self.scale.messages
        topics_by_category: dict[str, list[tuple[str, str, list[str]]]] = {}
        for topic in data.REQUEST_TOPICS:
            topics_by_category.setdefault(topic[0], []).append(topic)
        work_queue_topic = next(t for t in data.REQUEST_TOPICS if t[1] == data.WORK_QUEUE_FAULT)
        categories = list(data.CATEGORY_WEIGHTS)
        weights = list(data.CATEGORY_WEIGHTS.values())
        sequence_by_year: dict[int, int] = {}
        for index, (moment, status) in enumerate(zip(created, statuses, strict=True)):
            if moment >= self.open_notice_start:
                topic = work_queue_topic
            else:
                topic = self.pick(topics_by_category[rng.choices(categories, weights)[0]])
            year = moment.astimezone(HELSINKI).year
            sequence_by_year[year] = sequence_by_year.get(year, 0) + 1
            self.request(
                index=index,
                year=year,
                seq=sequence_by_year[year],
                created=moment,
                status=status,
                topic=topic,
                with_mail=rng.random() < mail_share and len(self.rows[MailMessage]) < mail_cap,
                due_today=index in due_today,
                overdue=index in overdue,
            )
            if (index + 1) % REQUESTS_PER_FLUSH == 0:
                self.flush()

    def status_for_age(self, age: timedelta) -> str:
        days = age.total_seconds() / 86400
        weights: tuple[float, ...]
        if days < 1:
            weights = (60, 25, 7, 4, 4, 0)
        elif days < 7:
            weights = (12, 33, 18, 14, 18, 5)
        elif days < 30:
            weights = (1, 12, 6, 7, 20, 54)
        else:
            weights = (0, 1, 0.5, 1.5, 4, 93)
        return self.rng.choices(REQUEST_STATUSES, weights)[0]

    def ensure_every_status(self, statuses: list[str]) -> None:
        """Small demos still show every status: the missing ones replace the most common one."""
        for status in REQUEST_STATUSES:
            if status in statuses or len(statuses) < len(REQUEST_STATUSES):
                continue
            common = max(REQUEST_STATUSES, key=statuses.count)
            # The newest request of the most common status, so a closed one is at least old.
            candidates = [i for i, s in enumerate(statuses) if s == common]
            statuses[candidates[-1] if status in ("uusi", "käsittelyssä") else candidates[0]] = status

    def request(
        self,
        *,
        index: int,
        year: int,
        seq: int,
        created: datetime,
        status: str,
        topic: tuple[str, str, list[str]],
        with_mail: bool,
        due_today: bool = False,
        overdue: bool = False,
    ) -> None:
        """One request and its history: triage, replies, escalation, resolution, as its status needs."""
        rng = self.rng
        category, title_pattern, lines = topic
        requester = self.pick(self.requesters)
        unit = self.unit_by_id[requester["unit_id"]]
        title = title_pattern.format(unit=unit["name"])
        reference = f"OMA-{year}-{seq:04d}"
        story = RequestStory(
            self, len(self.rows[ServiceRequest]) + 1, reference, title, category, requester, with_mail
        )
        row: Row = {
            "id": story.request_id,
            "reference": reference,
            "year": year,
            "seq": seq,
            "title": title,
            "description": " ".join(line.format(unit=unit["name"]) for line in lines),
            "requester_person_id": requester["id"],
            "requester_email": requester["email"],
            "unit_id": unit["id"],
            "category": "",
            "priority": None,
            "status": status,
            "assignee": "",
            "due_at": self.due(created, None),  # untriaged requests get a day for triage
            "digifinland_ticket": "",
            "tags": json_list([self.pick(data.REQUEST_TAGS)] if rng.random() < 0.15 else []),
            "notice_id": None,
            "merged_into_id": None,
            "created_at": created,
            "updated_at": created,
            "first_response_at": None,
            "resolved_at": None,
            "closed_at": None,
            "version": 1,
        }
        for notice_id, begun, ended in self.notice_windows:
            if category == "vika tai häiriö" and begun <= created <= ended:
                row["notice_id"] = notice_id

        root_body = self.letter(requester, lines, unit=unit["name"])
        attachments = ["screenshot"] if "kuvakaappaus" in root_body else []
        if "Liitteenä uudet" in root_body:
            attachments = ["contacts"]
        arrived = created - timedelta(minutes=rng.uniform(1, 6))
        story.mail_in(arrived, root_body, root=True, unread_allowed=status == "uusi", attachments=attachments)
        story.event(created, "created", text="Luotu sähköpostista" if with_mail else "Luotu käsin")

        if status == "uusi":
            if rng.random() < 0.1 and self.now - created > timedelta(days=1):
                story.mail_in(
                    self.after(created, timedelta(days=1)), self.pick(data.REQUESTER_REPLIES["nudge"])
                )
        else:
            last = self.after(created, timedelta(hours=3))
            priority = rng.choices(
                (1, 2, 3, 4), (25, 45, 25, 5) if category == "vika tai häiriö" else (5, 20, 50, 25)
            )[0]
            due = self.due(last, priority)
            for name, new in (
                ("category", category),
                ("priority", str(priority)),
                ("assignee", story.coordinator),
                ("due_at", due.isoformat()),
            ):
                story.event(last, "change", name, "", new)
            story.change_status(last, "käsittelyssä")
            row.update(category=category, priority=priority, assignee=story.coordinator, due_at=due)
            row["first_response_at"] = last
            if rng.random() < 0.5:
                story.mail_out(last, "ack")
            escalate = status == "odottaa DigiFinlandia" or (
                status in ("ratkaistu", "suljettu") and rng.random() < 0.3
            )
            if status == "odottaa pyytäjää":
                last = self.after(last, timedelta(days=1))
                story.mail_out(last, "question")
                story.change_status(last, status)
            elif escalate:
                ticket = f"DF-{rng.randint(10_000, 99_999)}"
                row["digifinland_ticket"] = ticket
                last = self.after(last, timedelta(hours=6))
                story.event(last, "change", "digifinland_ticket", "", ticket)
                story.change_status(last, "odottaa DigiFinlandia")
                # DigiFinland answers on its own clock; the due time moves out to match.
                pushed = self.due(last, 4)
                story.event(last, "change", "due_at", row["due_at"].isoformat(), pushed.isoformat())
                row["due_at"] = pushed
                story.mail_out(last, "escalated", ticket=ticket)
                last = self.after(last, timedelta(minutes=40))
                story.digifinland_mail(last, ticket, solved=False)
            if status in ("ratkaistu", "suljettu"):
                if rng.random() < 0.25:
                    last = self.after(last, timedelta(days=1))
                    story.mail_out(last, "question")
                    last = self.after(last, timedelta(hours=20))
                    story.mail_in(last, self.pick(data.REQUESTER_REPLIES["info"]))
                if escalate:
                    last = self.after(last, timedelta(days=3))
                    story.digifinland_mail(last, row["digifinland_ticket"], solved=True)
                last = self.after(last, timedelta(days=1))
                story.mail_out(last, "solution")
                story.change_status(last, "ratkaistu")
                row["resolved_at"] = last
                if rng.random() < 0.5:
                    last = self.after(last, timedelta(hours=5))
                    story.mail_in(last, self.pick(data.REQUESTER_REPLIES["thanks"]))
            if status == "suljettu":
                last = self.after(last, timedelta(days=7))
                story.change_status(last, "suljettu")
                row["closed_at"] = last
                if index > 5 and rng.random() < 0.03:
                    duplicate_of = self.rows[ServiceRequest][index - 1 - rng.randint(0, 4)]
                    row["merged_into_id"] = duplicate_of["id"]
                    story.event(last, "merged", text=f"Yhdistetty pyyntöön {duplicate_of['reference']}")
        if status != "uusi":
            story.add_notes(created, self.scale.events_per_request)
        if due_today or overdue:
            moved = self.after(max(event["at"] for event in story.events), timedelta(minutes=30))
            if due_today:
                new_due = self.now + (self.end_of_today - self.now) * rng.uniform(0.3, 0.9)
            else:
                new_due = created + (self.now - created) / 2
            story.event(moved, "change", "due_at", row["due_at"].isoformat(), new_due.isoformat())
            row["due_at"] = new_due
        events = story.events
        events.sort(key=itemgetter("at"))
        row["updated_at"] = events[-1]["at"]
        row["version"] = 1 + sum(1 for event in events if event["kind"] in ("change", "merged"))
        self.add(ServiceRequest, row)
        history = self.rows[RequestEvent]
        for number, event in enumerate(events, start=len(history) + 1):
            event["id"] = number
        history.extend(events)
        for mail_row, reason in story.links:
            self.add(
                RequestMail,
                {
                    "request_id": story.request_id,
                    "mail_message_id": mail_row["id"],
                    "reason": reason,
                    "linked_at": mail_row["date"],
                },
            )

    def due(self, start: datetime, priority: int | None) -> datetime:
        """A due time from a start and a priority: 1 in four hours, else by the end of office hours."""
        if priority == 1:
            return start + timedelta(hours=4)
        working_days = WORKING_DAYS_TO_DUE[priority]
        return at_local(add_working_days(start.astimezone(HELSINKI).date(), working_days), 15)

    # --- the rest of the shared mailbox ---

    def build_other_mail(self, budget: int) -> None:
        """DigiFinland's and Kanta's mail on their calendar, then the network's mail to fill ``budget``."""
        budget -= self.scheduled_mail(budget)
        kinds: list[tuple[Callable[[int], int], int]] = [
            (self.digifinland_disruption, 3),
            (self.discussion, 40),
            (self.meeting_invitation, 12),
            (self.auto_reply, 10),
            (self.thanks_feedback, 7),
        ]
        makers = [maker for maker, _weight in kinds]
        weights = [weight for _maker, weight in kinds]
        unflushed = 0
        while budget > 0:
            written = self.rng.choices(makers, weights)[0](budget)
            budget -= written
            unflushed += written
            if unflushed >= MESSAGES_PER_FLUSH:
                self.flush()
                unflushed = 0

    def scheduled_mail(self, budget: int) -> int:
        """A newsletter every Thursday, a release every four weeks with its maintenance break announced
        a week ahead, Kanta's monthly break: as many as fit in ``budget``, newest first."""
        written = 0
        monday = self.today - timedelta(days=self.today.weekday())
        for week in range(self.scale.history_days // 7 + 1):
            if written >= budget:
                break
            week_start = monday - timedelta(weeks=week)
            letters: list[tuple[Callable[[datetime], None], datetime]] = [
                (self.newsletter, at_local(week_start + timedelta(days=3), 9, self.rng.randint(0, 50)))
            ]
            if week % 4 == 1:
                letters.append((self.release_note, at_local(week_start + timedelta(days=1), 14, 5)))
                letters.append((self.maintenance_mail, at_local(week_start + timedelta(days=1), 14, 20)))
            if week % 4 == 2:
                letters.append((self.kanta_mail, at_local(week_start + timedelta(days=2), 12, 30)))
            for letter, moment in letters:
                if moment < self.now and written < budget:
                    letter(moment)
                    written += 1
        return written

    def broadcast(
        self, sender: tuple[str, str], subject: str, body: str, moment: datetime, **extra: Any
    ) -> None:
        role, seen = self.placement(moment)
        self.mail(
            role=role,
            moment=moment,
            subject=subject,
            sender=sender,
            to=data.SHARED_MAILBOX,
            body=body,
            seen=seen,
            **extra,
        )

    def version_of(self, day: date) -> str:
        return f"{day.year}.{(day.timetuple().tm_yday - 1) // 28 + 1}"

    def release_note(self, moment: datetime) -> None:
        release_day = add_working_days(moment.astimezone(HELSINKI).date(), 5)
        version = self.version_of(release_day)
        changes = "\n".join(f"- {line}" for line in self.rng.sample(data.RELEASE_CHANGES, 3))
        body = (
            f"Hei,\n\nOmaoloon julkaistaan versio {version} {fi_date(release_day)} klo 18.00–20.00. "
            f"Julkaisu sisältää seuraavat muutokset:\n{changes}\n\nJulkaisun aikana palvelussa voi esiintyä "
            "lyhyitä katkoja.\n\nYstävällisin terveisin\nDigiFinland Oy"
        )
        self.broadcast(
            ("DigiFinland tiedottaa", f"tiedotteet@{data.DIGIFINLAND_DOMAIN}"),
            f"Omaolon versiojulkaisu {version} {fi_date(release_day)}",
            body,
            moment,
            attachments=["release"],
            attachment_values={"version": version},
        )

    def maintenance_mail(self, moment: datetime) -> None:
        day = add_working_days(moment.astimezone(HELSINKI).date(), 5)
        body = (
            f"Hei,\n\nOmaolossa on huoltokatko {fi_date(day)} klo 18.00–21.00 version {self.version_of(day)} "
            "julkaisun vuoksi. Katkon aikana Omaolo ei ole käytettävissä. Pyydämme vastuukäyttäjiä "
            "tiedottamaan katkosta yksiköissään.\n\nYstävällisin terveisin\nDigiFinland Oy"
        )
        self.broadcast(
            ("DigiFinland tiedottaa", f"tiedotteet@{data.DIGIFINLAND_DOMAIN}"),
            f"Huoltokatko Omaolossa {fi_date(day)} klo 18.00–21.00",
            body,
            moment,
        )

    def newsletter(self, moment: datetime) -> None:
        local = moment.astimezone(HELSINKI)
        week, year = local.isocalendar().week, local.isocalendar().year
        topics = "\n".join(f"- {line}" for line in self.rng.sample(data.NEWSLETTER_TOPICS, 3))
        body = (
            f"Omaolo-uutiskirje {week}/{year}\n\n"
            f"Tässä numerossa:\n{topics}\n\n"
            f"Lue koko uutiskirje verkossa: https://www.{data.DIGIFINLAND_DOMAIN}/uutiskirje\n\n"
            "Saat tämän viestin, koska olet tilannut DigiFinlandin uutiskirjeen."
        )
        self.broadcast(
            ("DigiFinlandin uutiskirje", f"uutiskirje@{data.DIGIFINLAND_DOMAIN}"),
            f"Omaolo-uutiskirje {week}/{year}",
            body,
            moment,
        )

    def kanta_mail(self, moment: datetime) -> None:
        day = add_working_days(moment.astimezone(HELSINKI).date(), 3)
        body = (
            f"Kanta-palveluissa on käyttökatko {fi_date(day)} klo 21.00–23.00. Katko ei vaikuta "
            "Omaolon oirearvioihin, mutta ajanvarauksen tiedot eivät päivity katkon aikana.\n\nKanta-palvelut"
        )
        self.broadcast(
            ("Kanta-palvelut", "tiedotteet@kanta.example.fi"),
            f"Kanta-palveluiden käyttökatko {fi_date(day)}",
            body,
            moment,
        )

    def digifinland_disruption(self, budget: int) -> int:
        moment = self.office_moment(self.scale.history_days)
        service = self.pick(data.SERVICES)
        sender = ("DigiFinland tiedottaa", f"tiedotteet@{data.DIGIFINLAND_DOMAIN}")
        subject = f"Häiriö Omaolossa: {service}"
        role, seen = self.placement(moment)
        body = (
            f"Hei,\n\nOmaolon palvelussa {service} on havaittu häiriö {fi_datetime(moment)} alkaen. "
            "Selvitämme vikaa ja tiedotamme tilanteesta.\n\nDigiFinland Oy"
        )
        _row, thread = self.mail(
            role=role,
            moment=moment,
            subject=subject,
            sender=sender,
            to=data.SHARED_MAILBOX,
            body=body,
            seen=seen,
        )
        if budget < 2:
            return 1
        fixed = self.after(moment, timedelta(hours=3))
        role, seen = self.placement(fixed)
        body = f"Hei,\n\nHäiriö on korjattu {fi_datetime(fixed)}. Pahoittelemme haittaa.\n\nDigiFinland Oy"
        self.mail(
            role=role,
            moment=fixed,
            subject=f"Re: {subject} – korjattu",
            sender=sender,
            to=data.SHARED_MAILBOX,
            body=body,
            thread=thread,
            seen=seen,
        )
        return 2

    def discussion(self, budget: int) -> int:
        rng = self.rng
        moment = self.office_moment(self.scale.history_days)
        subject = self.pick(data.DISCUSSION_SUBJECTS)
        starter = self.pick(self.requesters)
        to = f"vastuukayttajat@{data.COUNTY_DOMAIN}"
        role, seen = self.placement(moment)
        attachments = ["minutes"] if subject.startswith("Muistio") else []
        body = self.letter(starter, [self.pick(data.DISCUSSION_LINES)])
        _row, thread = self.mail(
            role=role,
            moment=moment,
            subject=subject,
            sender=self.person_sender(starter),
            to=to,
            body=body,
            seen=seen,
            attachments=attachments,
        )
        written = 1
        for _ in range(min(budget - 1, rng.randint(0, 4))):
            moment = self.after(moment, timedelta(hours=5))
            if rng.random() < 0.2:
                body = self.coordinator_letter(self.pick(data.COORDINATOR_REPLIES["discussion"]), starter)
                self.mail(
                    role="sent",
                    moment=moment,
                    subject=f"Re: {subject}",
                    sender=(data.SHARED_MAILBOX_NAME, data.SHARED_MAILBOX),
                    to=to,
                    body=body,
                    thread=thread,
                )
            else:
                replier = self.pick(self.requesters)
                role, seen = self.placement(moment)
                body = self.letter(replier, [self.pick(data.DISCUSSION_LINES)])
                self.mail(
                    role=role,
                    moment=moment,
                    subject=f"Re: {subject}",
                    sender=self.person_sender(replier),
                    to=to,
                    body=body,
                    thread=thread,
                    seen=seen,
                )
            written += 1
        return written

    def meeting_invitation(self, budget: int) -> int:
        unit = self.pick(self.rows[Unit])
        people = [p for p in self.people_by_unit[unit["id"]] if p["active"]] or self.requesters
        moment = self.office_moment(self.scale.history_days)
        meeting_day = add_working_days(moment.astimezone(HELSINKI).date(), 10)
        subject = f"Kutsu: yhteistyöpalaveri {fi_date(meeting_day)} – {unit['name']}"
        body = (
            f"Hei,\n\nKutsun teidät Omaolon yhteistyöpalaveriin {fi_date(meeting_day)} klo 13.00–14.00 "
            "Teamsissa. Käymme läpi käyttöluvut, palautteet ja kehitystoiveet.\n\n"
            f"Ystävällisin terveisin\n{data.COORDINATORS[0]}\nOmaolo-koordinaattori"
        )
        to = ", ".join(p["email"] for p in people[:3])
        _row, thread = self.mail(
            role="sent",
            moment=moment,
            subject=subject,
            sender=(data.SHARED_MAILBOX_NAME, data.SHARED_MAILBOX),
            to=to,
            body=body,
        )
        if budget < 2:
            return 1
        replier = self.pick(people)
        moment = self.after(moment, timedelta(hours=20))
        role, seen = self.placement(moment)
        self.mail(
            role=role,
            moment=moment,
            subject=f"Re: {subject}",
            sender=self.person_sender(replier),
            to=data.SHARED_MAILBOX,
            body=self.letter(replier, ["Sopii meille, osallistumme kolmestaan."]),
            thread=thread,
            seen=seen,
        )
        return 2

    def auto_reply(self, _budget: int) -> int:
        person = self.pick(self.requesters)
        moment = self.office_moment(self.scale.history_days)
        back = add_working_days(moment.astimezone(HELSINKI).date(), self.rng.randint(3, 15))
        body = f"{self.pick(data.AUTO_REPLY_LINES).format(date=fi_date(back))}\n\n{person['name']}"
        role, seen = self.placement(moment, trash_share=0.4)
        self.mail(
            role=role,
            moment=moment,
            subject=f"Automaattinen vastaus: {self.pick(data.DISCUSSION_SUBJECTS)}",
            sender=self.person_sender(person),
            to=data.SHARED_MAILBOX,
            body=body,
            seen=seen,
        )
        return 1

    def thanks_feedback(self, _budget: int) -> int:
        person = self.pick(self.requesters)
        moment = self.office_moment(self.scale.history_days)
        body = self.letter(
            person, ["Välitän tiedoksi asiakkaalta tulleen palautteen.", self.pick(data.THANKS_FEEDBACK)]
        )
        role, seen = self.placement(moment)
        self.mail(
            role=role,
            moment=moment,
            subject="VS: Kiitospalaute Omaolosta",
            sender=self.person_sender(person),
            to=data.SHARED_MAILBOX,
            body=body,
            seen=seen,
        )
        return 1

    # --- feeds ---

    def build_feeds(self, *, hostile: bool) -> None:
        rng = self.rng
        fetched = self.now - timedelta(minutes=7)
        items: list[tuple[Row, Row]] = []  # (feed, item) before ids, to number them by date
        remaining = self.scale.feed_items
        for position, (name, title, url, site, share) in enumerate(data.FEEDS):
            is_last = position == len(data.FEEDS) - 1
            count = remaining if is_last else round(self.scale.feed_items * share)
            count = min(count, remaining)
            remaining -= count
            feed = self.add(
                Feed,
                {
                    "name": name,
                    "url": url,
                    "title": title,
                    "etag": f'W/"{rng.getrandbits(48):012x}"',
                    "last_modified": "",
                    "last_fetch_at": fetched,
                    "last_success_at": fetched,
                    "last_error": "",
                    "warning": "Syöte ei ollut hyvin muodostettua XML:ää; kohteet luettiin silti."
                    if name == "THL"
                    else "",
                    "from_config": True,
                    "created_at": self.days_ago(self.scale.history_days + 30),
                },
            )
            for number in range(count):
                published = self.office_moment(self.scale.history_days)
                items.append((feed, self.feed_item(feed, site, name, number, published)))
        if hostile:
            for index, text in enumerate(HOSTILE_STRINGS):
                feed = self.add(
                    Feed,
                    {
                        "name": text,
                        "url": f"https://hostile{index}.example.com/feed.xml",
                        "title": text,
                        "etag": "",
                        "last_modified": "",
                        "last_fetch_at": fetched,
                        "last_success_at": fetched,
                        "last_error": "",
                        "warning": "",
                        "from_config": False,
                        "created_at": self.days_ago(2),
                    },
                )
                published = self.now - timedelta(minutes=1 + index)
                item = self.feed_item(feed, f"https://hostile{index}.example.com", "", 0, published)
                item.update(title=text, summary=" ".join(HOSTILE_STRINGS), read=False, starred=False)
                items.append((feed, item))
        items.sort(key=lambda pair: (pair[1]["published_at"], pair[0]["id"], pair[1]["dedup_key"]))
        newest_by_feed: dict[int, datetime] = {}
        for _feed, item in items:
            self.add(FeedItem, item)
            newest_by_feed[item["feed_id"]] = item["published_at"]
        from email.utils import format_datetime

        for feed in self.rows[Feed]:
            if feed["id"] in newest_by_feed:
                feed["last_modified"] = format_datetime(newest_by_feed[feed["id"]], usegmt=True)
        self.build_forwards()

    def feed_item(self, feed: Row, site: str, name: str, number: int, published: datetime) -> Row:
        rng = self.rng
        local = published.astimezone(HELSINKI)
        patterns = data.FEED_TITLES.get(name) or ["Tiedote"]
        title = self.pick(patterns).format(
            version=self.version_of(local.date()),
            date=fi_date(add_working_days(local.date(), 5)),
            month=f"{data.MONTHS[local.month - 1]} {local.year}",
            topic=self.pick(data.FEED_TOPICS),
            year=local.year,
        )
        link = f"{site}/ajankohtaista/{local:%Y-%m}/{number + 1}"
        age_days = (self.now - published).total_seconds() / 86400
        read = rng.random() < 0.1 if age_days < 7 else rng.random() < 0.97
        sentences = rng.sample(data.FEED_SENTENCES, 3)
        return {
            "feed_id": feed["id"],
            "dedup_key": link,
            "guid": link,
            "link": link,
            "title": title,
            "summary": sentences[0],
            "content_text": " ".join(sentences),
            "published_at": published,
            "first_seen_at": self.after(published, timedelta(minutes=40)),
            "read": read,
            "starred": rng.random() < 0.04,
            "mail_message_id": None,
        }

    def build_forwards(self) -> None:
        """A few items were passed on to the responsible users, so the "already sent" mark shows."""
        candidates = [
            item for item in self.rows[FeedItem] if item["read"] and item["feed_id"] <= len(data.FEEDS)
        ]
        every = max(1, len(candidates) // 6)
        for item in candidates[every // 2 :: every][:6]:
            sent_at = self.after(item["first_seen_at"], timedelta(hours=20))
            subject = f"VL: {item['title']}"
            message_id = f"<forward-{item['id']}.{self.rng.getrandbits(32):08x}@{data.COUNTY_DOMAIN}>"
            outbox = self.outbox(
                kind="forward",
                message_id=message_id,
                subject=subject,
                body=f"Hei,\n\ntiedoksi:\n\n{item['title']}\n{item['summary']}\n{item['link']}",
                recipients=self.responsible_users,
                sent_at=sent_at,
            )
            self.add(
                FeedForward,
                {
                    "feed_item_id": item["id"],
                    "list_id": self.rows[MailingList][0]["id"],
                    "outbox_id": outbox["id"],
                    "sent_at": sent_at,
                },
            )

    # --- onboarding ---

    def build_checklists(self, *, hostile: bool) -> None:
        created = self.days_ago(300)
        onboarding = self.add(
            ChecklistTemplate,
            {
                "family": "vastuukäyttäjä-perehdytys",
                "version": 1,
                "name": "Vastuukäyttäjän perehdytys",
                "kind": "onboarding",
                "is_current": True,
                "created_at": created,
            },
        )
        offboarding = self.add(
            ChecklistTemplate,
            {
                "family": "vastuukäyttäjä-poistuminen",
                "version": 1,
                "name": "Vastuukäyttäjän poistuminen",
                "kind": "offboarding",
                "is_current": True,
                "created_at": created,
            },
        )
        for template, items in ((onboarding, data.ONBOARDING_ITEMS), (offboarding, data.OFFBOARDING_ITEMS)):
            for position, (text, who, offset, link) in enumerate(items, start=1):
                self.add(
                    ChecklistTemplateItem,
                    {
                        "template_id": template["id"],
                        "position": position,
                        "text": text,
                        "who": who,
                        "due_offset_days": offset,
                        "link": link,
                    },
                )
        # (person, template, items, start date, positions left undone although due, finished)
        runs = []
        if len(self.newcomers) > 0:
            start = add_working_days(self.today, -8)
            runs.append((self.newcomers[0], onboarding, data.ONBOARDING_ITEMS, start, {4, 8}, False))
        if len(self.newcomers) > 1:
            start = add_working_days(self.today, 2)
            runs.append((self.newcomers[1], onboarding, data.ONBOARDING_ITEMS, start, {2}, False))
        if len(self.newcomers) > 2:
            start = add_working_days(self.today, -85)
            runs.append((self.newcomers[2], onboarding, data.ONBOARDING_ITEMS, start, set(), True))
        if self.leavers:
            leaver = max(self.leavers, key=lambda person: person["left_on"])
            runs.append((leaver, offboarding, data.OFFBOARDING_ITEMS, leaver["left_on"], set(), True))
        for person, template, items, start, undone, finished in runs:
            self.checklist_run(person, template["id"], items, start, undone, finished)
        if hostile:
            person = self.hostile_people[0]
            hostile_items = [
                (text, "koordinaattori", -index, "") for index, text in enumerate(HOSTILE_STRINGS)
            ]
            self.checklist_run(person, onboarding["id"], hostile_items, self.today, set(range(1, 7)), False)

    def checklist_run(
        self,
        person: Row,
        template_id: int,
        items: Sequence[tuple[str, str, int, str]],
        start: date,
        undone: set[int],
        finished: bool,
    ) -> None:
        rng = self.rng
        created = min(
            at_local(add_working_days(start, -7), 9, rng.randint(0, 59)), self.now - timedelta(days=1)
        )
        run = self.add(
            ChecklistRun,
            {
                "template_id": template_id,
                "person_id": person["id"],
                "start_date": start,
                "status": "done" if finished else "open",
                "created_at": created,
                "completed_at": None,
            },
        )
        last_done = created
        for position, (text, who, offset, link) in enumerate(items, start=1):
            due_on = add_working_days(start, offset)
            done_at = None
            if finished or (due_on <= self.today and position not in undone):
                done_at = min(at_local(due_on, 10, rng.randint(0, 59)), self.now - timedelta(minutes=30))
                done_at = max(done_at, created + timedelta(minutes=position))
                last_done = max(last_done, done_at)
            self.add(
                ChecklistRunItem,
                {
                    "run_id": run["id"],
                    "position": position,
                    "text": text,
                    "who": who,
                    "due_on": due_on,
                    "link": link,
                    "done_at": done_at,
                    "done_by": data.COORDINATORS[0] if done_at else "",
                    "note": "",
                    "request_id": None,
                },
            )
        if finished:
            run["completed_at"] = last_done

    def build_meetings(self) -> None:
        rng = self.rng
        services_by_unit: dict[int, list[Row]] = {}
        for service in self.rows[UnitService]:
            services_by_unit.setdefault(service["unit_id"], []).append(service)
        for unit in self.rows[Unit][:3]:
            deployed = (
                min(s["deployed_on"] for s in services_by_unit.get(unit["id"], []))
                if unit["id"] in services_by_unit
                else None
            )
            if deployed is None:
                continue
            people = [p["id"] for p in self.people_by_unit[unit["id"]] if p["active"]]
            held = [add_working_days(deployed, 22)]
            yearly = held[0] + timedelta(days=365)
            while yearly < self.today:
                held.append(add_working_days(yearly, 0))
                yearly += timedelta(days=365)
            for day in held:
                self.add(
                    Meeting,
                    {
                        "unit_id": unit["id"],
                        "held_on": day,
                        "participants": json_list(people[:3]),
                        "notes": self.pick(data.MEETING_NOTES),
                        "actions": self.pick(data.MEETING_ACTIONS),
                        "haipro_count": rng.randint(0, 4),
                    },
                )

    # --- hostile rows ---

    def build_hostile(self) -> None:
        """One row per hostile string in every table the screens show, newer than the rest of the demo."""
        self.hostile_people = []
        count = len(HOSTILE_STRINGS)
        for index, text in enumerate(HOSTILE_STRINGS):
            unit = self.add(Unit, {"name": text, "area": text, "code": "", "created_at": self.days_ago(3)})
            person = self.add(
                Person,
                {
                    "name": text,
                    "email": f"vihamielinen{index}@example.com",
                    "phone": "",
                    "unit_id": unit["id"],
                    "roles": json_list(["vastuukäyttäjä"]),
                    "language": "fi",
                    "active": True,
                    "left_on": None,
                    "created_at": self.days_ago(3),
                    "updated_at": self.days_ago(3),
                },
            )
            self.hostile_people.append(person)
            mailing_list = self.add(
                MailingList,
                {
                    "name": text,
                    "description": text,
                    "rule": "",
                    "bilingual": False,
                    "created_at": self.days_ago(3),
                },
            )
            self.add(ListMember, {"list_id": mailing_list["id"], "person_id": person["id"]})
        body = "\n".join(HOSTILE_STRINGS)
        for index, text in enumerate(HOSTILE_STRINGS):
            moment = self.now - timedelta(seconds=30 + 20 * index)
            self.mail(
                role="inbox",
                moment=moment,
                subject=text,
                sender=(HOSTILE_STRINGS[(index + 1) % count], f"vihamielinen{index}@example.com"),
                to=data.SHARED_MAILBOX,
                body=body,
                seen=False,
                attachments=["screenshot"] if index == 0 else (),
            )
            created = self.now - timedelta(seconds=40 + 20 * index)
            year = created.astimezone(HELSINKI).year
            seq = 1 + max((r["seq"] for r in self.rows[ServiceRequest] if r["year"] == year), default=0)
            request = self.add(
                ServiceRequest,
                {
                    "reference": f"OMA-{year}-{seq:04d}",
                    "year": year,
                    "seq": seq,
                    "title": text,
                    "description": body,
                    "requester_person_id": self.hostile_people[index]["id"],
                    "requester_email": f"vihamielinen{index}@example.com",
                    "unit_id": self.hostile_people[index]["unit_id"],
                    "category": "",
                    "priority": None,
                    "status": "uusi",
                    "assignee": "",
                    "due_at": self.due(created, None),
                    "digifinland_ticket": "",
                    "tags": json_list([text]),
                    "notice_id": None,
                    "merged_into_id": None,
                    "created_at": created,
                    "updated_at": created,
                    "first_response_at": None,
                    "resolved_at": None,
                    "closed_at": None,
                    "version": 1,
                },
            )
            self.add(
                RequestEvent,
                {
                    "request_id": request["id"],
                    "at": created,
                    "actor": data.SYSTEM_ACTOR,
                    "kind": "created",
                    "field": "",
                    "old": "",
                    "new": "",
                    "text": text,
                },
            )
            begun = self.now - timedelta(minutes=5 + index)
            is_open = index == HOSTILE_OPEN_NOTICE
            self.notice(
                kind="tiedote",
                services=[text],
                subject=text,
                start=begun,
                expected_end=None,
                actual_end=None if is_open else begun + timedelta(minutes=1),
                impact=text,
                instructions=text,
                contact=text,
                text_fi=body,
                text_sv="",
                versions=[("tutkitaan" if is_open else "korjattu", begun + timedelta(seconds=30), body, "")],
            )
