"""Triage written back to a real Dovecot: flags, archive and delete (MOVE and COPY+EXPUNGE), rollback, undo.

Every test ends by comparing the store with the server after a sync: exactly the server's messages,
no duplicates, none lost.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from imapclient import IMAPClient
from imapclient.imapclient import DELETED, FLAGGED, SEEN
from sqlalchemy import text

from coordinator_tui.mail.imap import ImapError
from coordinator_tui.mail.sync import sync_account
from coordinator_tui.mail.triage import TriageChange, apply_local, inverse, push, revert_local
from store import mail as mail_store
from store import mailtriage
from store.engine import Store, open_store
from tests.support.dovecot import Dovecot, ImapAccount
from tests.support.messages import plain, section_for

FOLDERS = ("INBOX", "Sent", "Archive", "Trash")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(f"sqlite:///{tmp_path}/triage.sqlite")
    yield opened
    opened.dispose()


class Mailbox:
    """A user's mailbox on the session Dovecot, synced into a fresh store."""

    def __init__(self, dovecot: Dovecot, account: ImapAccount, store: Store) -> None:
        self.dovecot = dovecot
        self.account = account
        self.store = store
        self.section = section_for(account)

    def deliver(self, folder: str, name: str, flags: tuple[bytes, ...] = ()) -> int:
        raw = plain(f"Aihe {name}", f"Viesti {name}.\n", f"<{name}@example.fi>")
        return self.dovecot.deliver(folder, raw, flags, user=self.account.username)

    def sync(self) -> Any:
        report = sync_account(self.store, self.section, self.account.password)
        assert report.ok, report.error
        return report

    def push(self, change: TriageChange) -> None:
        push(self.store, self.section, self.account.password, change)

    def ids(self) -> dict[str, int]:
        """Message-ID name → store row id (each name exactly once in the store)."""
        with self.store.session() as session:
            rows = list(session.connection().execute(text("SELECT message_id, id FROM mail_message")))
        names = [message_id.strip("<>").split("@")[0] for message_id, _ in rows]
        assert len(names) == len(set(names)), f"duplicates in the store: {sorted(names)}"
        return {name: int(message_id) for name, (_, message_id) in zip(names, rows, strict=True)}

    def folder_id(self, name: str) -> int:
        with self.store.session() as session:
            state = mail_store.folder_state(session, name)
            assert state is not None and state.id is not None
            return state.id

    def where(self, name: str) -> tuple[str, int]:
        message_id = self.ids()[name]
        with self.store.session() as session:
            state = mailtriage.message_states(session, [message_id])[message_id]
        return state.folder.name, state.uid

    def server(self) -> dict[str, dict[str, tuple[int, bool, bool]]]:
        """Folder → Message-ID name → (UID, seen, flagged), as the server has it."""
        client: IMAPClient = self.dovecot.connect(self.account.username)
        result: dict[str, dict[str, tuple[int, bool, bool]]] = {}
        try:
            for folder in FOLDERS:
                client.select_folder(folder, readonly=True)
                uids = client.search("ALL")
                data = client.fetch(uids, ["FLAGS", "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"]) if uids else {}
                entries: dict[str, tuple[int, bool, bool]] = {}
                for uid, values in data.items():
                    header = values[b"BODY[HEADER.FIELDS (MESSAGE-ID)]"].decode()
                    name = header.split("<", 1)[1].split("@", 1)[0]
                    assert name not in entries, f"{name} twice in {folder} on the server"
                    flags = values[b"FLAGS"]
                    entries[name] = (uid, SEEN in flags, FLAGGED in flags)
                result[folder] = entries
        finally:
            client.logout()
        return result

    def stored(self) -> dict[str, dict[str, tuple[int, bool, bool]]]:
        """The same view of the store."""
        result: dict[str, dict[str, tuple[int, bool, bool]]] = {folder: {} for folder in FOLDERS}
        with self.store.session() as session:
            rows = session.connection().execute(
                text(
                    "SELECT f.name, m.message_id, m.uid, m.seen, m.flagged "
                    "FROM mail_message m JOIN mail_folder f ON f.id = m.folder_id"
                )
            )
            for folder, message_id, uid, seen, flagged in rows:
                name = message_id.strip("<>").split("@")[0]
                assert name not in result[folder], f"{name} twice in {folder} in the store"
                result[folder][name] = (uid, bool(seen), bool(flagged))
        return result

    def assert_in_step(self) -> None:
        """A sync finds nothing to do, and the store holds exactly the server's messages."""
        report = self.sync()
        assert all((f.new, f.removed) == (0, 0) for f in report.folders), [
            (f.name, f.new, f.changed, f.removed) for f in report.folders
        ]
        assert self.stored() == self.server()

    def dump(self) -> list[tuple[Any, ...]]:
        tables = ["mail_message", "mail_attachment", "search_index"]
        result: list[tuple[Any, ...]] = []
        with self.store.session() as session:
            for table in tables:
                rowid = "rowid, " if table == "search_index" else ""
                rows = session.connection().execute(text(f"SELECT {rowid}* FROM {table} ORDER BY 1"))
                result.extend((table, *values) for values in rows)
        return result


@pytest.fixture
def mailbox(dovecot: Dovecot, imap_user: ImapAccount, store: Store) -> Mailbox:
    box = Mailbox(dovecot, imap_user, store)
    for name in ("eka", "toka", "kolmas"):
        box.deliver("INBOX", name)
    box.deliver("Sent", "lahetetty", (SEEN,))
    box.sync()
    return box


def hide_capability(monkeypatch: pytest.MonkeyPatch, *names: bytes) -> None:
    original = IMAPClient.capabilities

    def capabilities(self: IMAPClient) -> tuple[bytes, ...]:
        return tuple(c for c in original(self) if c not in names)

    monkeypatch.setattr(IMAPClient, "capabilities", capabilities)


# -- flags ---------------------------------------------------------------------------------------------


def test_read_flag_and_their_undo_reach_the_server(mailbox: Mailbox) -> None:
    ids = mailbox.ids()

    read = apply_local(mailbox.store, "read", [ids["eka"], ids["toka"]])
    assert mailbox.stored()["INBOX"]["eka"][1] is True  # at once, before the server
    mailbox.push(read)
    flag = apply_local(mailbox.store, "flag", [ids["toka"], ids["lahetetty"]])  # two folders
    mailbox.push(flag)

    server = mailbox.server()
    assert {name: entry[1:] for name, entry in server["INBOX"].items()} == {
        "eka": (True, False),
        "toka": (True, True),
        "kolmas": (False, False),
    }
    assert server["Sent"]["lahetetty"][1:] == (True, True)
    assert read.pushed == {ids["eka"], ids["toka"]}
    mailbox.assert_in_step()

    mailbox.push(inverse(mailbox.store, read))
    mailbox.push(inverse(mailbox.store, flag))
    server = mailbox.server()
    assert not any(seen or flagged for _, seen, flagged in server["INBOX"].values())
    assert server["Sent"]["lahetetty"][1:] == (True, False)  # it was read before; it stays read
    mailbox.assert_in_step()


def test_a_flag_on_a_message_expunged_meanwhile_is_refused_and_rolled_back(mailbox: Mailbox) -> None:
    ids = mailbox.ids()
    uid = mailbox.stored()["INBOX"]["toka"][0]
    client = mailbox.dovecot.connect(mailbox.account.username)
    client.select_folder("INBOX")
    client.add_flags([uid], [DELETED])
    client.expunge()
    client.logout()
    before = mailbox.dump()

    change = apply_local(mailbox.store, "flag", [ids["eka"], ids["toka"]])
    with pytest.raises(ImapError) as raised:
        mailbox.push(change)
    revert_local(mailbox.store, change)

    assert "INBOX" in raised.value.what
    # eka was flagged on the server and stays flagged; toka is as it was (the next sync removes it).
    assert change.pushed == {ids["eka"]}
    after = mailbox.stored()["INBOX"]
    assert (after["eka"][2], after["toka"][2]) == (True, False)
    revert_local(mailbox.store, TriageChange(change.action, change.message_ids, change.items))
    assert mailbox.dump() == before  # the whole change reverted: exactly as before
    mailbox.sync()
    mailbox.push(apply_local(mailbox.store, "flag", [ids["eka"]]))
    mailbox.assert_in_step()


# -- archive and delete --------------------------------------------------------------------------------


@pytest.mark.parametrize("server_move", [True, False], ids=["MOVE", "COPY+EXPUNGE"])
def test_archive_moves_on_the_server_and_the_store_learns_the_uid(
    mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch, server_move: bool
) -> None:
    if not server_move:
        hide_capability(monkeypatch, b"MOVE")
    ids = mailbox.ids()

    change = apply_local(mailbox.store, "archive", [ids["eka"], ids["kolmas"], ids["lahetetty"]])
    assert mailbox.where("eka") == ("Archive", -ids["eka"])  # at once, under a placeholder
    mailbox.push(change)

    server = mailbox.server()
    assert sorted(server["INBOX"]) == ["toka"] and sorted(server["Sent"]) == []
    assert sorted(server["Archive"]) == ["eka", "kolmas", "lahetetty"]
    # The real UIDs from COPYUID, on the same rows (ids kept): no refetch needed.
    assert mailbox.stored()["Archive"] == server["Archive"]
    assert mailbox.ids() == ids
    mailbox.assert_in_step()
    assert mailbox.ids() == ids


SYNC_MODES = {"qresync": (), "condstore": (b"QRESYNC",), "uid-sets": (b"QRESYNC", b"CONDSTORE")}


@pytest.mark.parametrize("hidden", list(SYNC_MODES.values()), ids=list(SYNC_MODES))
def test_archive_then_a_sync_before_the_push_then_the_push(
    mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch, hidden: tuple[bytes, ...]
) -> None:
    hide_capability(monkeypatch, *hidden)
    ids = mailbox.ids()
    change = apply_local(mailbox.store, "archive", [ids["eka"], ids["toka"]])

    mailbox.sync()  # the server has not moved them yet: the sync shows them in INBOX again
    assert sorted(mailbox.stored()["INBOX"]) == ["eka", "kolmas", "toka"]
    assert mailbox.stored()["Archive"] == {}
    mailbox.push(change)

    assert mailbox.stored() == mailbox.server()  # settled by the push itself, no sync needed
    assert sorted(mailbox.stored()["Archive"]) == ["eka", "toka"]
    mailbox.assert_in_step()


@pytest.mark.parametrize("hidden", list(SYNC_MODES.values()), ids=list(SYNC_MODES))
def test_archive_then_a_sync_between_the_server_move_and_the_store(
    mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch, hidden: tuple[bytes, ...]
) -> None:
    """The sync sees the real message in Archive while the placeholder row is still there."""
    hide_capability(monkeypatch, *hidden)
    ids = mailbox.ids()
    change = apply_local(mailbox.store, "archive", [ids["eka"]])
    client = mailbox.dovecot.connect(mailbox.account.username)
    client.select_folder("INBOX")
    client.move([mailbox.server()["INBOX"]["eka"][0]], "Archive")  # another client does it first
    client.logout()
    mailbox.sync()

    with pytest.raises(ImapError):
        mailbox.push(change)  # it is no longer in INBOX: nothing more to do there
    revert_local(mailbox.store, change)

    mailbox.assert_in_step()
    assert sorted(mailbox.stored()["Archive"]) == ["eka"]


@pytest.mark.parametrize("server_move", [True, False], ids=["MOVE", "COPY+EXPUNGE"])
def test_delete_moves_to_trash_and_from_the_trash_deletes_for_good(
    mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch, server_move: bool
) -> None:
    if not server_move:
        hide_capability(monkeypatch, b"MOVE")
    ids = mailbox.ids()

    mailbox.push(apply_local(mailbox.store, "delete", [ids["toka"]]))
    assert sorted(mailbox.server()["Trash"]) == ["toka"]
    mailbox.assert_in_step()
    gone = apply_local(mailbox.store, "delete", [ids["toka"]])
    assert "toka" not in mailbox.ids()
    mailbox.push(gone)

    assert mailbox.server()["Trash"] == {}
    mailbox.assert_in_step()


def test_delete_without_a_trash_folder_deletes_for_good(mailbox: Mailbox) -> None:
    with mailbox.store.session() as session:
        mail_store.ensure_folder(session, "Trash", "")  # as if the server had no \Trash folder
    ids = mailbox.ids()

    mailbox.push(apply_local(mailbox.store, "delete", [ids["kolmas"]]))

    server = mailbox.server()
    assert sorted(server["INBOX"]) == ["eka", "toka"] and server["Trash"] == {}


def test_archive_into_a_folder_gone_from_the_server_is_refused_and_rolled_back(mailbox: Mailbox) -> None:
    with mailbox.store.session() as session:
        # The store's archive folder is one the server no longer has (deleted there).
        mail_store.ensure_folder(session, "Archive", "")
        mail_store.ensure_folder(session, "Arkisto 2025", "archive")
    ids = mailbox.ids()
    before = mailbox.dump()
    server_before = mailbox.server()

    change = apply_local(mailbox.store, "archive", [ids["eka"], ids["toka"]])
    with pytest.raises(ImapError) as raised:
        mailbox.push(change)
    revert_local(mailbox.store, change)

    assert "Arkisto 2025" in raised.value.what
    assert mailbox.dump() == before
    assert mailbox.server() == server_before


def test_archive_of_a_message_expunged_meanwhile_is_refused_and_rolled_back(mailbox: Mailbox) -> None:
    ids = mailbox.ids()
    client = mailbox.dovecot.connect(mailbox.account.username)
    client.select_folder("INBOX")
    client.add_flags([mailbox.stored()["INBOX"]["kolmas"][0]], [DELETED])
    client.expunge()
    client.logout()
    before = mailbox.dump()

    change = apply_local(mailbox.store, "archive", [ids["kolmas"]])
    with pytest.raises(ImapError) as raised:
        mailbox.push(change)
    revert_local(mailbox.store, change)

    assert raised.value.what and change.pushed == set()
    assert mailbox.dump() == before
    assert mailbox.server()["Archive"] == {}
    assert mailbox.sync().folder("INBOX").removed == 1  # the next sync shows it gone
    mailbox.assert_in_step()


# -- undo ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("action", ["archive", "delete"])
def test_undo_moves_back_on_the_server(mailbox: Mailbox, action: str) -> None:
    ids = mailbox.ids()
    change = apply_local(mailbox.store, action, [ids["eka"], ids["lahetetty"]])
    mailbox.push(change)

    undo = inverse(mailbox.store, change)
    assert mailbox.where("eka")[0] == "INBOX" and mailbox.where("lahetetty")[0] == "Sent"
    mailbox.push(undo)

    server = mailbox.server()
    assert sorted(server["INBOX"]) == ["eka", "kolmas", "toka"] and sorted(server["Sent"]) == ["lahetetty"]
    assert server["Archive"] == server["Trash"] == {}
    assert mailbox.stored() == server
    assert mailbox.ids() == ids
    mailbox.assert_in_step()


def test_undo_before_the_uid_is_known_finds_the_message_by_message_id(mailbox: Mailbox) -> None:
    ids = mailbox.ids()
    change = apply_local(mailbox.store, "archive", [ids["toka"]])
    mailbox.push(change)
    with mailbox.store.session() as session:  # as if the server had given no COPYUID
        mailtriage.move_message(session, ids["toka"], mailbox.folder_id("Archive"), -ids["toka"])

    mailbox.push(inverse(mailbox.store, change))

    assert sorted(mailbox.server()["INBOX"]) == ["eka", "kolmas", "toka"]
    mailbox.assert_in_step()


def test_archive_then_delete_before_the_archive_is_pushed(mailbox: Mailbox) -> None:
    """The delete's message is only a placeholder in Archive when queued: found by Message-ID."""
    ids = mailbox.ids()
    archive = apply_local(mailbox.store, "archive", [ids["eka"]])
    delete = apply_local(mailbox.store, "delete", [ids["eka"]])
    assert delete.items[0].folder == "Archive" and delete.items[0].uid < 0

    mailbox.push(archive)
    mailbox.push(delete)

    assert sorted(mailbox.server()["Trash"]) == ["eka"]
    assert mailbox.stored() == mailbox.server()
    mailbox.assert_in_step()
