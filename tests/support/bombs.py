"""Mail bombs for the sync: a 50 MB message, 10,000 attachments, 1,000-deep nesting, a 1 MB header.

Each is a well-formed (if absurd) RFC 5322 message with a readable From, Subject and Message-ID,
so a test can check that the sync kept what was readable. They are built from repeated lines, not
random data: making all four takes well under a second, and the bytes are the same on every run.
Used by tests/integration/test_mail_bomb.py and bench/mail_bomb.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from base64 import b64encode
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CRLF = b"\r\n"
SENDER = ("Pommittaja Päivi", "pommi@example.fi")


@dataclass(frozen=True)
class Bomb:
    name: str  # a short key: "huge", "attachments", "nested", "header"
    subject: str
    message_id: str
    build: Callable[[], bytes]


def _head(subject: str, message_id: str, extra: list[str]) -> bytes:
    name, addr = SENDER
    lines = [
        f"From: =?utf-8?q?{_q(name)}?= <{addr}>",
        "To: omaolo@pohde.example.fi",
        f"Subject: {subject}",
        f"Message-ID: {message_id}",
        "Date: Thu, 26 Nov 2026 09:00:00 +0200",
        "MIME-Version: 1.0",
        *extra,
    ]
    return CRLF.join(line.encode("utf-8") for line in lines) + CRLF


def _q(text: str) -> str:
    data = text.encode("utf-8")
    return "".join(chr(b) if chr(b).isalnum() and b < 128 else "_" if b == 32 else f"={b:02X}" for b in data)


TEXT_LINE = "Tämä on pitkä viesti: yöpäivystys, ääkköset ja Omaolo-ohjaus toistuvat rivi riviltä.\r\n"


def huge_message(size: int = 50 * 1024 * 1024) -> bytes:
    """~``size`` bytes: a 10 MB text/plain body (read cut) and a base64 attachment for the rest."""
    boundary = "bomb-huge-boundary"
    text_bytes = min(size // 5, 10 * 1024 * 1024)
    line = TEXT_LINE.encode("utf-8")
    text = line * (text_bytes // len(line))
    b64_line = b64encode(bytes(range(256)) * 3)[:76] + CRLF  # 76 characters, as encoders write
    attachment = b64_line * max(1, (size - len(text)) // len(b64_line))
    return b"".join(
        [
            _head(
                "Pommi: 50 megatavun viesti",
                "<bomb-huge@example.fi>",
                [f'Content-Type: multipart/mixed; boundary="{boundary}"'],
            ),
            CRLF,
            f"--{boundary}\r\n".encode(),
            b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n",
            text,
            f"\r\n--{boundary}\r\n".encode(),
            b'Content-Type: application/octet-stream; name="levykuva.bin"\r\n'
            b'Content-Disposition: attachment; filename="levykuva.bin"\r\n'
            b"Content-Transfer-Encoding: base64\r\n\r\n",
            attachment,
            f"\r\n--{boundary}--\r\n".encode(),
        ]
    )


def many_attachments(count: int = 10_000) -> bytes:
    """A short text and ``count`` small attachments, each with its own file name."""
    boundary = "bomb-many"
    parts = [
        _head(
            f"Pommi: {count} liitettä",
            "<bomb-attachments@example.fi>",
            [f'Content-Type: multipart/mixed; boundary="{boundary}"'],
        ),
        CRLF,
        f"--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHei, liitteitä tulee.\r\n".encode(),
    ]
    for number in range(1, count + 1):
        parts.append(
            f'--{boundary}\r\nContent-Type: text/plain; name="liite-{number}.txt"\r\n'
            f'Content-Disposition: attachment; filename="liite-{number}.txt"\r\n\r\n'
            f"liite {number}\r\n".encode()
        )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts)


def deep_nesting(depth: int = 1000, text_bytes: int = 0) -> bytes:
    """``depth`` multipart/mixed parts, each inside the last, with a text part at the bottom.

    ~70 KB as it is, so the sync fetches it whole; ``text_bytes`` of text at the bottom make it a
    large message, which the sync reads by its BODYSTRUCTURE (Dovecot stops nesting at 100).
    """
    opening = []
    closing = []
    for level in range(depth):
        boundary = f"b{level}"
        header = f'Content-Type: multipart/mixed; boundary="{boundary}"\r\n'
        if level == 0:
            subject, message_id = "Pommi: 1000 sisäkkäistä osaa", "<bomb-nested@example.fi>"
            if text_bytes:
                subject, message_id = subject + " ja pitkä teksti", "<bomb-nested-long@example.fi>"
            opening.append(_head(subject, message_id, []))
            opening.append(header.encode() + CRLF)
        opening.append(f"--{boundary}\r\n".encode())
        if level + 1 < depth:
            opening.append(f'Content-Type: multipart/mixed; boundary="b{level + 1}"\r\n\r\n'.encode())
        closing.append(f"\r\n--{boundary}--\r\n".encode())
    line = TEXT_LINE.encode("utf-8")
    innermost = b"Content-Type: text/plain; charset=utf-8\r\n\r\nPohjalla on teksti.\r\n" + line * (
        text_bytes // len(line)
    )
    return b"".join(opening) + innermost + b"".join(reversed(closing))


def huge_header(size: int = 1024 * 1024) -> bytes:
    """A ~``size`` header section: thousands of Received lines and one long folded header."""
    received = (
        b"Received: from relay.example.fi (relay.example.fi [192.0.2.1]) by mx.pohde.fi "
        b"with ESMTPS id bomb; Thu, 26 Nov 2026 08:59:00 +0200\r\n"
    )
    fold = b"\r\n\tjatkuu ja jatkuu ja jatkuu ja jatkuu ja jatkuu ja jatkuu"
    folded = b"X-Bomb: alku" + fold * (size // 2 // len(fold)) + CRLF
    return b"".join(
        [
            _head("Pommi: megatavun otsake", "<bomb-header@example.fi>", []),
            received * ((size - len(folded)) // len(received)),
            folded,
            b"Content-Type: text/plain; charset=utf-8\r\n",
            CRLF,
            b"Otsakkeen alla on lyhyt teksti.\r\n",
        ]
    )


BOMBS = (
    Bomb("huge", "Pommi: 50 megatavun viesti", "<bomb-huge@example.fi>", huge_message),
    Bomb("attachments", "Pommi: 10000 liitettä", "<bomb-attachments@example.fi>", many_attachments),
    Bomb("nested", "Pommi: 1000 sisäkkäistä osaa", "<bomb-nested@example.fi>", deep_nesting),
    Bomb(
        "nested_large",
        "Pommi: 1000 sisäkkäistä osaa ja pitkä teksti",
        "<bomb-nested-long@example.fi>",
        lambda: deep_nesting(1000, 300 * 1024),
    ),
    Bomb("header", "Pommi: megatavun otsake", "<bomb-header@example.fi>", huge_header),
)


def normal_message(number: int) -> bytes:
    """An everyday message to deliver beside the bombs."""
    return (
        _head(f"Tavallinen viesti {number}", f"<normal-{number}@example.fi>", [])
        + b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        + f"Hei, tässä tavallinen viesti numero {number}.\r\n".encode()
    )


# --- the sync as cron runs it, with its peak memory -----------------------------------------------

# Runs `coordinator-tui <args>` and, as it exits, writes its VmHWM (peak resident set) to a file.
# Not ru_maxrss: Linux carries the parent's high-water mark over fork and exec into the child's
# figure, and the parent here (pytest, the bench) holds the bombs it has just written.
_HWM_RUNNER = """
import atexit, runpy, sys

def _write_peak(path=sys.argv[1]):
    with open("/proc/self/status") as status:
        peak = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    with open(path, "w") as out:
        out.write(peak)

atexit.register(_write_peak)
sys.argv = ["coordinator-tui", *sys.argv[2:]]
runpy.run_module("coordinator_tui", run_name="__main__", alter_sys=True)
"""


def write_config(path: Path, store: Path, account: Any) -> Path:
    """A config file for `coordinator-tui sync` against ``account`` (an ImapAccount)."""
    path.write_text(
        f'[store]\nurl = "sqlite:///{store}"\n'
        f'[imap]\nhost = "{account.host}"\nport = {account.port}\nsecurity = "tls"\n'
        f'username = "{account.username}"\nca_file = "{account.ca_file}"\n',
        encoding="utf-8",
    )
    return path


@dataclass(frozen=True)
class SyncRun:
    code: int
    report: dict[str, Any]  # the --json report ({} when the sync printed none)
    peak_rss_mb: float  # VmHWM of the sync process
    stderr: str


def run_sync(config: Path, password: str, *, timeout: float = 300) -> SyncRun:
    """`coordinator-tui --config config sync --json` as a process of its own, and its peak RSS."""
    with tempfile.TemporaryDirectory(prefix="bomb-hwm-") as work:
        peak_file = Path(work) / "peak"
        done = subprocess.run(
            [sys.executable, "-c", _HWM_RUNNER, str(peak_file), "--config", str(config), "sync", "--json"],
            env={**os.environ, "COORDINATOR_TUI_IMAP_PASSWORD": password},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
        peak_kb = int(peak_file.read_text()) if peak_file.exists() else 0
    try:
        report = json.loads(done.stdout.decode("utf-8"))
    except ValueError:
        report = {}
    return SyncRun(done.returncode, report, peak_kb / 1024, done.stderr.decode("utf-8", "replace")[-3000:])
