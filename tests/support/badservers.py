"""Servers that misbehave, for the fault tests: a scripted IMAP peer and an SMTP server that stalls.

Both are small threaded TCP servers on loopback, in the test process, plain text (``security =
"none"`` is allowed for a server on this machine). They speak just enough of the protocol to bring
the app's real code (coordinator_tui/mail/sync.py, watch.py, send.py) to the point of the fault:

- :class:`BadImapServer`: greeting, CAPABILITY, LOGIN, LIST, EXAMINE/SELECT, UID SEARCH, UID FETCH
  (UID, FLAGS, RFC822.SIZE, INTERNALDATE, BODY.PEEK[]), NOOP, IDLE, LOGOUT, over a small mailbox.
  With ``fault`` set, the answer to one command (``Fault.on``) is spoiled: garbage, a FETCH with
  broken parentheses, a literal whose announced length is wrong, a stall in the middle of a literal
  (or of any answer), or the connection closed there. ``close_after`` closes every connection once
  that many bytes have gone out, wherever that falls. ``fault = None`` makes it a good server again.
- :class:`StallingSmtpServer`: greeting, EHLO, MAIL, RCPT, DATA; then, per ``stall``, it never
  answers the DATA command, or takes the text and never answers the final dot, or closes there.

A stalled connection is held until the client gives up (closes it) or the server is closed, so no
thread outlives the test.
"""

from __future__ import annotations

import contextlib
import re
import select
import socket
import socketserver
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

GREETING = b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] badserver ready\r\n"
INTERNALDATE = '"26-Nov-2026 09:30:00 +0200"'
UIDVALIDITY = 4242

# The command a fault hits. FETCH_META is the UID FETCH of sizes and flags, FETCH_BODY the one of
# whole messages (BODY.PEEK[]).
Command = Literal[
    "GREETING", "CAPABILITY", "LOGIN", "LIST", "EXAMINE", "SEARCH", "FETCH_META", "FETCH_BODY", "NOOP"
]
FaultKind = Literal[
    "garbage",  # a line that is no IMAP at all, then the tagged OK
    "broken_parens",  # every FETCH line loses its closing parenthesis, one gains an opening one
    "bad_number",  # a word where a number belongs (UIDVALIDITY, UIDNEXT, a SEARCH result)
    "literal_long",  # a literal announced 4000 bytes longer than it is, then the tagged OK
    "literal_short",  # a literal announced shorter than it is: its rest reads as IMAP lines
    "stall",  # half of the answer (in the middle of the first literal, if any), then nothing
    "close",  # half of the answer, then the connection closed
]


@dataclass
class Fault:
    on: Command
    kind: FaultKind


@dataclass
class StoredMessage:
    uid: int
    raw: bytes
    flags: tuple[str, ...] = ()


@dataclass
class Connection:
    """What one client connection did (for the tests' checks)."""

    commands: list[str] = field(default_factory=list)
    sent: int = 0  # bytes sent to the client
    faulted: bool = False  # the fault was applied on this connection
    logged_out: bool = False
    sent_before_logout: int = 0  # bytes sent up to the LOGOUT command


class BadImapServer:
    """An IMAP server on 127.0.0.1 with INBOX and Sent; one user (``username``/``password``)."""

    def __init__(
        self, messages: list[bytes], *, username: str = "koordinaattori", password: str = "salasana"
    ):
        self.username = username
        self.password = password
        self.folders: dict[str, list[StoredMessage]] = {
            "INBOX": [StoredMessage(uid, raw) for uid, raw in enumerate(messages, 1)],
            "Sent": [],
        }
        self.fault: Fault | None = None
        self.close_after: int | None = None  # close every connection after this many bytes out
        self.idle = False  # offer IDLE
        self.connections: list[Connection] = []
        self.stalled = threading.Event()  # set when a connection stalls on purpose
        self.closing = threading.Event()
        self._lock = threading.Lock()
        server = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                _ImapSession(server, self.request).run()

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._tcp = Server(("127.0.0.1", 0), Handler)
        self.port: int = self._tcp.server_address[1]
        self.host = "127.0.0.1"
        self._thread = threading.Thread(target=self._tcp.serve_forever, name="bad-imap", daemon=True)
        self._thread.start()

    def add_message(self, raw: bytes, folder: str = "INBOX") -> int:
        with self._lock:
            box = self.folders[folder]
            uid = (box[-1].uid if box else 0) + 1
            box.append(StoredMessage(uid, raw))
            return uid

    def new_connection(self) -> Connection:
        with self._lock:
            connection = Connection()
            self.connections.append(connection)
            return connection

    def close(self) -> None:
        self.closing.set()
        self._tcp.shutdown()
        self._tcp.server_close()
        self._thread.join(5)

    def __enter__(self) -> BadImapServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_TOKEN = re.compile(rb'"((?:[^"\\]|\\.)*)"|(\()|(\))|([^\s()"]+)')
_LITERAL = re.compile(rb"\{(\d+)\}\r\n")


def _tokens(text: bytes) -> list[bytes]:
    """Atoms and quoted strings of a command line, parentheses dropped (enough for these commands)."""
    found: list[bytes] = []
    for match in _TOKEN.finditer(text):
        quoted, _open, _close, atom = match.groups()
        if quoted is not None:
            found.append(re.sub(rb"\\(.)", rb"\1", quoted))
        elif atom is not None:
            found.append(atom)
    return found


def _uids_in(spec: str, existing: list[int]) -> list[int]:
    """The UIDs of ``existing`` in an IMAP sequence-set such as ``1:3,7,9:*``."""
    highest = max(existing, default=0)
    wanted: set[int] = set()
    for item in spec.split(","):
        first, colon, last = item.partition(":")
        low = highest if first == "*" else int(first)
        high = (highest if last == "*" else int(last)) if colon else low
        if low > high:
            low, high = high, low
        wanted.update(uid for uid in existing if low <= uid <= high)
    return sorted(wanted)


class _ImapSession:
    def __init__(self, server: BadImapServer, sock: socket.socket) -> None:
        self.server = server
        self.sock = sock
        self.conn = server.new_connection()
        self.file = sock.makefile("rb")
        self.selected: str | None = None
        self.open = True

    # -- sending, with the faults that concern bytes ----------------------------------------------------

    def send(self, data: bytes) -> None:
        limit = self.server.close_after
        if limit is not None and self.conn.sent + len(data) >= limit:
            self._sendall(data[: max(0, limit - self.conn.sent)])
            self.conn.faulted = True
            self._close()
            return
        self._sendall(data)

    def _sendall(self, data: bytes) -> None:
        if not self.open:
            return
        try:
            self.sock.sendall(data)
            self.conn.sent += len(data)
        except OSError:
            self.open = False

    def _close(self) -> None:
        self.open = False
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)

    def stall(self) -> None:
        """Say nothing more until the client closes the connection (or the server is closed)."""
        self.server.stalled.set()
        while self.open and not self.server.closing.is_set():
            readable, _, _ = select.select([self.sock], [], [], 0.1)
            if readable:
                try:
                    if not self.sock.recv(65536):
                        break
                except OSError:
                    break
        self.open = False

    def answer(self, command: Command, tag: str, response: bytes) -> None:
        """Send ``response`` (the whole answer, tagged line included), spoiled if the fault is on it."""
        fault = self.server.fault
        if fault is None or fault.on != command:
            self.send(response)
            return
        self.conn.faulted = True
        tagged = f"{tag} OK done\r\n".encode()
        kind = fault.kind
        if kind == "garbage":
            self.send(b"\x16\x03\x01\x00\xff garbage \x1b[31m that is no IMAP\r\n" + tagged)
        elif kind == "broken_parens":
            lines = response.split(b"\r\n")
            spoiled = [line[:-1] if line.endswith(b")") and b" FETCH (" in line else line for line in lines]
            self.send(b"\r\n".join(spoiled).replace(b" FETCH (", b" FETCH ((", 1))
        elif kind == "bad_number":
            self.send(re.sub(rb"(UIDVALIDITY |SEARCH |UIDNEXT )\d+", rb"\1twelve", response))
        elif kind in ("literal_long", "literal_short"):
            delta = 4000 if kind == "literal_long" else -40

            def respell(match: re.Match[bytes]) -> bytes:
                return b"{%d}\r\n" % max(0, int(match.group(1)) + delta)

            self.send(_LITERAL.sub(respell, response))
        else:  # stall or close halfway: in the middle of the first literal where there is one
            literal = _LITERAL.search(response)
            if literal is not None:
                cut = literal.end() + int(literal.group(1)) // 2
            else:
                cut = max(1, len(response) // 2)
            self.send(response[:cut])
            if kind == "stall":
                self.stall()
            else:
                self._close()

    # -- the protocol ----------------------------------------------------------------------------------

    def run(self) -> None:
        try:
            self.answer("GREETING", "*", GREETING)
            while self.open and not self.server.closing.is_set():
                line = self.file.readline(65536)
                if not line:
                    break
                self.command(line.rstrip(b"\r\n"))
        except (OSError, ValueError):
            pass
        finally:
            self.open = False
            with contextlib.suppress(OSError):
                self.sock.close()

    def command(self, line: bytes) -> None:
        tag, _, rest = line.partition(b" ")
        words = rest.split(b" ", 1)
        name = words[0].upper().decode("ascii", "replace")
        arguments = words[1] if len(words) > 1 else b""
        t = tag.decode("ascii", "replace")
        self.conn.commands.append(
            name if name != "UID" else "UID " + arguments.split(b" ")[0].upper().decode()
        )
        if name == "CAPABILITY":
            caps = "IMAP4rev1 AUTH=PLAIN" + (" IDLE" if self.server.idle else "")
            self.answer("CAPABILITY", t, f"* CAPABILITY {caps}\r\n{t} OK CAPABILITY done\r\n".encode())
        elif name == "LOGIN":
            user, password = [*_tokens(arguments), b"", b""][:2]
            if user.decode() == self.server.username and password.decode() == self.server.password:
                self.answer("LOGIN", t, f"{t} OK LOGIN done\r\n".encode())
            else:
                self.send(f"{t} NO [AUTHENTICATIONFAILED] Authentication failed.\r\n".encode())
        elif name == "LIST":
            lines = '* LIST (\\HasNoChildren) "/" INBOX\r\n* LIST (\\HasNoChildren \\Sent) "/" Sent\r\n'
            self.answer("LIST", t, f"{lines}{t} OK LIST done\r\n".encode())
        elif name in ("EXAMINE", "SELECT"):
            self.select(t, name, _tokens(arguments)[0].decode())
        elif name == "UID":
            self.uid(t, arguments)
        elif name == "NOOP":
            self.answer("NOOP", t, f"{t} OK NOOP done\r\n".encode())
        elif name == "IDLE" and self.server.idle:
            self.send(b"+ idling\r\n")
            while self.open:
                done = self.file.readline(1024)
                if not done or done.strip().upper() == b"DONE":
                    break
            self.send(f"{t} OK IDLE done\r\n".encode())
        elif name in ("CLOSE", "UNSELECT"):
            self.selected = None
            self.send(f"{t} OK {name} done\r\n".encode())
        elif name == "LOGOUT":
            self.conn.logged_out = True
            self.conn.sent_before_logout = self.conn.sent
            self.send(f"* BYE logging out\r\n{t} OK LOGOUT done\r\n".encode())
            self._close()
        else:
            self.send(f"{t} BAD unknown command\r\n".encode())

    def select(self, tag: str, name: str, folder: str) -> None:
        box = self.server.folders.get(folder)
        if box is None:
            self.send(f"{tag} NO [NONEXISTENT] no such folder\r\n".encode())
            return
        self.selected = folder
        uidnext = (box[-1].uid if box else 0) + 1
        mode = "READ-ONLY" if name == "EXAMINE" else "READ-WRITE"
        response = (
            f"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n"
            f"* {len(box)} EXISTS\r\n* 0 RECENT\r\n"
            f"* OK [UIDVALIDITY {UIDVALIDITY}] UIDs valid\r\n* OK [UIDNEXT {uidnext}] next UID\r\n"
            f"{tag} OK [{mode}] {name} done\r\n"
        )
        self.answer("EXAMINE", tag, response.encode())

    def uid(self, tag: str, arguments: bytes) -> None:
        box = self.server.folders.get(self.selected or "", [])
        words = arguments.split(b" ", 2)
        verb = words[0].upper()
        if verb == b"SEARCH":
            criteria = _tokens(words[1] + b" " + words[2] if len(words) > 2 else words[1])
            uids = [m.uid for m in box]
            if len(criteria) >= 2 and criteria[0].upper() == b"UID":
                uids = _uids_in(criteria[1].decode(), uids)
            found = " ".join(str(uid) for uid in uids)
            self.answer("SEARCH", tag, f"* SEARCH {found}\r\n{tag} OK SEARCH done\r\n".encode())
        elif verb == b"FETCH" and len(words) == 3:
            spec = words[1].decode()
            items = [item.upper() for item in _tokens(words[2])]
            out: list[bytes] = []
            positions = {m.uid: index for index, m in enumerate(box, 1)}
            for uid in _uids_in(spec, [m.uid for m in box]):
                message = box[positions[uid] - 1]
                parts = [f"UID {uid}".encode()]
                for item in items:
                    if item == b"FLAGS":
                        parts.append(f"FLAGS ({' '.join(message.flags)})".encode())
                    elif item == b"RFC822.SIZE":
                        parts.append(f"RFC822.SIZE {len(message.raw)}".encode())
                    elif item == b"INTERNALDATE":
                        parts.append(f"INTERNALDATE {INTERNALDATE}".encode())
                    elif item in (b"BODY.PEEK[]", b"BODY[]", b"RFC822"):
                        parts.append(b"BODY[] {%d}\r\n" % len(message.raw) + message.raw)
                out.append(b"* %d FETCH (" % positions[uid] + b" ".join(parts) + b")\r\n")
            which: Command = "FETCH_BODY" if any(b"BODY" in item for item in items) else "FETCH_META"
            self.answer(which, tag, b"".join(out) + f"{tag} OK FETCH done\r\n".encode())
        else:
            self.send(f"{tag} BAD unsupported UID command\r\n".encode())


# --- SMTP -------------------------------------------------------------------------------------------

SmtpStall = Literal["data_command", "after_text", "close_after_text", "none"]


class StallingSmtpServer:
    """An SMTP server on 127.0.0.1 without TLS or AUTH that misbehaves at DATA, per ``stall``:

    - ``data_command``: never answers the DATA command (no 354);
    - ``after_text``: answers 354, reads the text up to the final dot, and never answers it;
    - ``close_after_text``: reads the text, then closes the connection without an answer;
    - ``none``: a good server; the messages it took are in ``messages``.
    """

    def __init__(self, stall: SmtpStall = "after_text") -> None:
        self.stall = stall
        self.messages: list[bytes] = []
        self.texts_received = 0  # message texts read up to the final dot (delivered or not)
        self.stalled = threading.Event()
        self.closing = threading.Event()
        server = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                server._session(self.request, self.rfile)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._tcp = Server(("127.0.0.1", 0), Handler)
        self.host = "127.0.0.1"
        self.port: int = self._tcp.server_address[1]
        self._thread = threading.Thread(target=self._tcp.serve_forever, name="bad-smtp", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.closing.set()
        self._tcp.shutdown()
        self._tcp.server_close()
        self._thread.join(5)

    def __enter__(self) -> StallingSmtpServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _hold(self, sock: socket.socket) -> None:
        self.stalled.set()
        while not self.closing.is_set():
            readable, _, _ = select.select([sock], [], [], 0.1)
            if readable:
                try:
                    if not sock.recv(65536):
                        return
                except OSError:
                    return

    def _session(self, sock: socket.socket, rfile: Iterator[bytes]) -> None:
        def say(text: str) -> None:
            sock.sendall(text.encode() + b"\r\n")

        stall = self.stall
        say("220 badsmtp ESMTP ready")
        for line in rfile:
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                say("250-badsmtp\r\n250-8BITMIME\r\n250 SMTPUTF8")
            elif verb in (b"MAIL", b"RCPT", b"RSET", b"NOOP"):
                say("250 OK")
            elif verb == b"DATA":
                if stall == "data_command":
                    self._hold(sock)
                    return
                say("354 End data with <CR><LF>.<CR><LF>")
                text: list[bytes] = []
                for data_line in rfile:
                    if data_line == b".\r\n":
                        break
                    text.append(data_line[1:] if data_line.startswith(b"..") else data_line)
                self.texts_received += 1
                if stall == "after_text":
                    self._hold(sock)
                    return
                if stall == "close_after_text":
                    return
                self.messages.append(b"".join(text))
                say("250 OK queued")
            elif verb == b"QUIT":
                say("221 bye")
                return
            else:
                say("502 not implemented")
