"""IMAP sync: `coordinator-tui sync` against mbsync (Debian isync), in the same run, on one Dovecot.

Seeds a private Dovecot (tests/support/dovecot.py) with N realistic messages — Finnish text in
utf-8, iso-8859-1 and windows-1252, quoted-printable and 8bit, Outlook-style text+HTML, HTML-only
newsletters, threads (In-Reply-To/References), some attachments of a few hundred KB — spread over
INBOX, Sent and Archive. Then, for several rounds, alternating which goes first:

- `coordinator-tui sync --json` into a fresh store (a subprocess with a config file, the test CA as
  ca_file, the password in COORDINATOR_TUI_IMAP_PASSWORD): the initial sync, then no-change re-syncs;
- `mbsync -a` (IMAPS, CertificateFile = the test CA) into a fresh Maildir: the same.

Reports medians: wall time of each process, the IMAP work of the no-change sync as the sync itself
reports it (its `seconds`), and the peak RSS of the sync process (wait4's ru_maxrss).

    .venv/bin/python bench/imap_sync.py [--messages 20000] [--rounds 3] [--quiet-runs 5]
        [--json bench/results/imap_sync.json] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from base64 import encodebytes
from pathlib import Path
from quopri import encodestring

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.dovecot import Dovecot, generate_tls_files, seed_maildir  # noqa: E402

COORDINATOR_TUI = ROOT / ".venv" / "bin" / "coordinator-tui"
MBSYNC = shutil.which("mbsync") or "/usr/bin/mbsync"
TARGET_INITIAL_RATIO = 1.5  # our initial wall time / mbsync's
TARGET_QUIET_IMAP_S = 0.1
TARGET_QUIET_PROCESS_S = 0.6
TARGET_PEAK_RSS_MB = 200.0
FOLDERS = (("INBOX", 0.80), ("Sent", 0.12), ("Archive", 0.08))

# --- realistic mail --------------------------------------------------------------------------

PEOPLE = [
    ("Päivi Meriläinen", "paivi.merilainen@pohde.fi"),
    ("Jörgen Sällä", "jorgen.salla@example.fi"),
    ("Sari Öhman", "sari.ohman@ouka.fi"),
    ("Matti Äijälä", "matti.aijala@pohde.fi"),
    ("Liisa Mäkelä", "liisa.makela@example.fi"),
    ("DigiFinland tuki", "tuki@digifinland.fi"),
    ("Åsa Björklund", "asa.bjorklund@kronoby.fi"),
    ("Tero Kärkkäinen", "tero.karkkainen@raahe.fi"),
]
SUBJECTS = [
    "Omaolon käyttöoikeus uudelle hoitajalle",
    "Työjonon lähetys ei toimi",
    "Huoltokatko to klo 18–20",
    "Palaute: oirearvion tulos epäselvä",
    "Kokousmuistio – alueellinen koordinaatioryhmä",
    "Käyttäjälista päivitetty",
    "Yöpäivystyksen ohjaus Omaolosta",
    "Lomakkeen käännös ruotsiksi / översättning",
    "Raportti: marraskuun käyntimäärät",
    "Tunnus lukittu – pikainen apu",
]
WORDS = [
    "hei",
    "kiitos",
    "viestistä",
    "asia",
    "on",
    "työn",
    "alla",
    "palaan",
    "huomenna",
    "terveisin",
    "käyttäjä",
    "tunnus",
    "lomake",
    "oirearvio",
    "hoitaja",
    "päivystys",
    "ohjaus",
    "yhteydenotto",
    "sähkö",
    "öljy",
    "äänestys",
    "työvuoro",
    "ääkköset",
    "lähete",
    "vastaanotto",
    "ajanvaraus",
    "palvelu",
    "järjestelmä",
    "häiriö",
    "korjaus",
    "tiedote",
    "hyvinvointialue",
]


def paragraph(rng: random.Random, words: int) -> str:
    text = " ".join(rng.choice(WORDS) for _ in range(words))
    lines, line = [], ""
    for word in text.split():
        if len(line) + len(word) > 70:
            lines.append(line)
            line = ""
        line = f"{line} {word}".strip()
    lines.append(line)
    return "\n".join(lines).capitalize() + "."


def encoded_word(text: str, charset: str = "utf-8") -> str:
    if text.isascii():
        return text
    data = text.encode(charset, "replace")
    return (
        f"=?{charset}?q?"
        + "".join(chr(b) if (chr(b).isalnum() and b < 128) else "_" if b == 32 else f"={b:02X}" for b in data)
        + "?="
    )


def headers(
    rng: random.Random, number: int, subject: str, charset: str, parent: str | None, refs: str
) -> list[str]:
    name, addr = rng.choice(PEOPLE)
    day = 1 + number % 28
    lines = [
        f"Return-Path: <{addr}>",
        f"Received: from mail.example.fi (mail.example.fi [192.0.2.{number % 250}]) by mx.pohde.fi "
        f"with ESMTPS id {number:08x}; Thu, {day} Nov 2026 09:{number % 60:02d}:00 +0200",
        f"From: {encoded_word(name, charset)} <{addr}>",
        "To: Omaolo-koordinaattori <omaolo@pohde.fi>",
        f"Subject: {encoded_word(subject, charset)}",
        f"Date: Thu, {day} Nov 2026 {8 + number % 10:02d}:{number % 60:02d}:00 +0200",
        f"Message-ID: <m{number}@bench.example.fi>",
        "MIME-Version: 1.0",
    ]
    if parent:
        lines += [f"In-Reply-To: {parent}", f"References: {refs}".rstrip()]
    if rng.random() < 0.5:
        lines += ["X-MS-Has-Attach: ", "X-MS-TNEF-Correlator: ", "Thread-Index: AdlQ" + "x" * 20]
    return lines


def message(rng: random.Random, number: int, threads: list[tuple[str, str]]) -> bytes:
    parent, refs = None, ""
    subject = rng.choice(SUBJECTS)
    if threads and rng.random() < 0.35:
        parent, refs = rng.choice(threads)
        refs = f"{refs} {parent}".strip()
        subject = "Re: " + subject
    msg_id = f"<m{number}@bench.example.fi>"
    threads.append((msg_id, refs))
    if len(threads) > 500:
        threads.pop(0)
    body = "\n\n".join(paragraph(rng, rng.randint(20, 120)) for _ in range(rng.randint(1, 5)))
    body += "\n\nYstävällisin terveisin\nOmaolo-koordinaattori\n"
    kind = rng.random()
    crlf = "\r\n"
    if kind < 0.30:  # utf-8, 8bit
        head = headers(rng, number, subject, "utf-8", parent, refs)
        head += ["Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 8bit"]
        return (crlf.join(head) + crlf + crlf + body.replace("\n", crlf)).encode("utf-8")
    if kind < 0.45:  # iso-8859-1, quoted-printable
        head = headers(rng, number, subject, "iso-8859-1", parent, refs)
        head += [
            "Content-Type: text/plain; charset=iso-8859-1",
            "Content-Transfer-Encoding: quoted-printable",
        ]
        data = encodestring(body.replace("–", "-").encode("iso-8859-1", "replace")).replace(b"\n", b"\r\n")
        return (crlf.join(head) + crlf + crlf).encode() + data
    if kind < 0.55:  # windows-1252, 8bit
        head = headers(rng, number, subject, "windows-1252", parent, refs)
        head += ["Content-Type: text/plain; charset=windows-1252", "Content-Transfer-Encoding: 8bit"]
        return (crlf.join(head) + crlf + crlf).encode() + body.replace("\n", crlf).encode("cp1252", "replace")
    html = (
        "<html><head><style>p{margin:0}</style></head><body>"
        + "".join(f"<p>{part}</p>" for part in body.split("\n\n"))
        + "<table><tr><td><b>Omaolo</b></td><td>koordinaatio</td></tr></table></body></html>"
    )
    if kind < 0.80:  # Outlook: alternative, both quoted-printable
        head = headers(rng, number, subject, "utf-8", parent, refs)
        boundary = f"_000_{number:010d}_"
        head.append(f'Content-Type: multipart/alternative; boundary="{boundary}"')
        plain_part = encodestring(body.encode("utf-8")).decode("ascii")
        html_part = encodestring(html.encode("utf-8")).decode("ascii")
        text = (
            f'--{boundary}\nContent-Type: text/plain; charset="utf-8"\nContent-Transfer-Encoding: '
            f'quoted-printable\n\n{plain_part}\n--{boundary}\nContent-Type: text/html; charset="utf-8"\n'
            f"Content-Transfer-Encoding: quoted-printable\n\n{html_part}\n--{boundary}--\n"
        )
        return (crlf.join(head) + crlf + crlf + text.replace("\n", crlf)).encode("ascii")
    if kind < 0.95:  # HTML-only newsletter, base64
        head = headers(rng, number, subject, "utf-8", parent, refs)
        head += ["Content-Type: text/html; charset=utf-8", "Content-Transfer-Encoding: base64"]
        data = encodebytes((html * rng.randint(1, 4)).encode("utf-8")).replace(b"\n", b"\r\n")
        return (crlf.join(head) + crlf + crlf).encode() + data
    # text + an attachment of a few hundred KB (some above the 256 KiB whole-fetch limit)
    head = headers(rng, number, subject, "utf-8", parent, refs)
    boundary = f"----=_Part_{number}"
    head.append(f'Content-Type: multipart/mixed; boundary="{boundary}"')
    size = rng.randint(60, 400) * 1024
    payload = encodebytes(b"%PDF-1.4\n" + rng.randbytes(size)).decode("ascii")
    name = rng.choice(["raportti.pdf", "käyttäjälista.pdf", "pöytäkirja marraskuu.pdf"])
    text = (
        f"--{boundary}\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n{body}\n"
        f'--{boundary}\nContent-Type: application/pdf; name="{encoded_word(name)}"\n'
        f"Content-Disposition: attachment; filename*=utf-8''{name.replace(' ', '%20')}\n"
        f"Content-Transfer-Encoding: base64\n\n{payload}--{boundary}--\n"
    )
    return (crlf.join(head) + crlf + crlf + text.replace("\n", crlf)).encode("utf-8")


def seed(server: Dovecot, total: int, rng: random.Random) -> dict[str, int]:
    counts: dict[str, int] = {}
    threads: list[tuple[str, str]] = []
    number = 0
    for index, (folder, share) in enumerate(FOLDERS):
        count = total - sum(counts.values()) if index == len(FOLDERS) - 1 else int(total * share)
        start = number
        raws = (message(rng, start + i, threads) for i in range(count))
        seen = (rng.random() < 0.85 for _ in range(count))
        counts[folder] = seed_maildir(server, folder, raws, seen=seen)
        number += count
    return counts


# --- running the two syncs -------------------------------------------------------------------


class TreeMemory:
    """Peak memory of a process and its children (the parse workers), sampled from /proc.

    wait4's ru_maxrss is no use here: Linux carries the spawning process's high-water mark
    (this script's ~55 MB) over exec into the child's figure, and it gives one process's peak,
    not the tree's. So: every 50 ms the VmRSS of the process and its children, summed (the
    peak of that sum), and the process's own VmHWM (read until it exits).
    """

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak_tree_kb = 0
        self.hwm_kb = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._done.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._done.is_set():
            own = _status_kb(self.pid, ("VmRSS", "VmHWM"))
            if own:
                self.hwm_kb = max(self.hwm_kb, own.get("VmHWM", 0))
                total = own.get("VmRSS", 0)
                for child in _children(self.pid):
                    total += _status_kb(child, ("VmRSS",)).get("VmRSS", 0)
                self.peak_tree_kb = max(self.peak_tree_kb, total)
            self._done.wait(0.05)


def _status_kb(pid: int, keys: tuple[str, ...]) -> dict[str, int]:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return {}
    found = {}
    for line in text.splitlines():
        name, _, value = line.partition(":")
        if name in keys:
            found[name] = int(value.split()[0])
    return found


def _children(pid: int) -> list[int]:
    try:
        tasks = Path(f"/proc/{pid}/task").iterdir()
        return [int(c) for task in tasks for c in (task / "children").read_text().split()]
    except OSError:
        return []


def run_measured(command: list[str], env: dict[str, str]) -> tuple[float, float, str, float]:
    """(wall seconds, peak RSS MB of the process tree, stdout, peak RSS MB of the process alone)."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        pid = os.posix_spawn(
            command[0],
            command,
            env,
            file_actions=[
                (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
                (os.POSIX_SPAWN_DUP2, out.fileno(), 1),
                (os.POSIX_SPAWN_DUP2, err.fileno(), 2),
            ],
        )
        memory = TreeMemory(pid)
        _, status = os.waitpid(pid, 0)
        wall = time.perf_counter() - started
        memory.stop()
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"{command[0]} failed ({code}):\n{stderr.decode(errors='replace')[-3000:]}")
    return wall, memory.peak_tree_kb / 1024, stdout.decode("utf-8", "replace"), memory.hwm_kb / 1024


def ours_config(work: Path, server: Dovecot, store: Path) -> Path:
    account = server.account()
    config = work / "config.toml"
    config.write_text(
        f'[store]\nurl = "sqlite:///{store}"\n'
        f'[imap]\nhost = "{account.host}"\nport = {account.port}\nsecurity = "tls"\n'
        f'username = "{account.username}"\nca_file = "{account.ca_file}"\n',
        encoding="utf-8",
    )
    return config


def mbsync_config(work: Path, server: Dovecot, maildir: Path) -> Path:
    account = server.account()
    rc = work / "mbsyncrc"
    rc.write_text(
        f"""IMAPAccount bench
Host {account.host}
Port {account.port}
User {account.username}
Pass {account.password}
SSLType IMAPS
CertificateFile {account.ca_file}

IMAPStore bench-remote
Account bench

MaildirStore bench-local
Path {maildir}/
Inbox {maildir}/INBOX
SubFolders Verbatim

Channel bench
Far :bench-remote:
Near :bench-local:
Patterns *
Create Near
Sync Pull
Expunge None
SyncState *
""",
        encoding="utf-8",
    )
    rc.chmod(0o600)
    return rc


def fresh(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quiet-runs", type=int, default=5, help="no-change re-syncs per round and tool")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--keep", type=Path, help="work under this directory and leave it")
    args = parser.parse_args(argv)

    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-imap-"))
    work.mkdir(parents=True, exist_ok=True)
    work.chmod(0o755)
    tls = generate_tls_files(work / "tls")
    server = Dovecot(work / "dovecot", tls)
    figures: dict[str, object] = {}
    try:
        started = time.perf_counter()
        counts = seed(server, args.messages, random.Random(args.seed))
        seed_seconds = time.perf_counter() - started
        mail_bytes = sum(
            path.stat().st_size
            for path in (server.home_root).rglob("*")
            if path.is_file() and ",S=" in path.name
        )
        print(
            f"seeded {sum(counts.values())} messages ({mail_bytes / 1e6:.0f} MB) {counts} "
            f"in {seed_seconds:.1f} s"
        )
        server.start()
        env = {**os.environ, "COORDINATOR_TUI_IMAP_PASSWORD": server.account().password}
        store = work / "store.sqlite"
        maildir = work / "maildir"
        config = ours_config(work, server, store)
        rc = mbsync_config(work, server, maildir)
        ours = [str(COORDINATOR_TUI), "--config", str(config), "sync", "--json"]
        theirs = [MBSYNC, "-c", str(rc), "-q", "-a"]

        def ours_initial() -> dict[str, float]:
            fresh(store)
            wall, rss, out, own = run_measured(ours, env)
            report = json.loads(out)
            stored = sum(folder["messages"] for folder in report["folders"])
            if stored != args.messages:
                raise SystemExit(f"coordinator-tui stored {stored} of {args.messages} messages")
            return {"wall": wall, "rss": rss, "rss_main": own, "imap": report["seconds"]}

        def ours_quiet() -> dict[str, float]:
            wall, rss, out, own = run_measured(ours, env)
            report = json.loads(out)
            if any(folder["new"] or folder["changed"] or folder["removed"] for folder in report["folders"]):
                raise SystemExit(f"a no-change sync changed something: {report}")
            return {"wall": wall, "rss": rss, "rss_main": own, "imap": report["seconds"]}

        def mbsync_initial() -> dict[str, float]:
            fresh(maildir)
            maildir.mkdir()
            for state in work.glob(".mbsyncstate*"):
                state.unlink()
            wall, rss, _, own = run_measured(theirs, env)
            fetched = sum(
                1 for path in maildir.rglob("*") if path.is_file() and path.parent.name in ("cur", "new")
            )
            if fetched != args.messages:
                raise SystemExit(f"mbsync fetched {fetched} of {args.messages} messages")
            return {"wall": wall, "rss": rss, "rss_main": own}

        def mbsync_quiet() -> dict[str, float]:
            wall, rss, _, own = run_measured(theirs, env)
            return {"wall": wall, "rss": rss, "rss_main": own}

        print("warm-up (untimed): one initial sync of each, so Dovecot's indexes and caches exist")
        ours_initial()
        mbsync_initial()
        results: dict[str, list[dict[str, float]]] = {
            "ours_initial": [],
            "ours_quiet": [],
            "mbsync_initial": [],
            "mbsync_quiet": [],
        }

        def recent(key: str, field: str) -> float:
            return statistics.median(entry[field] for entry in results[key][-args.quiet_runs :])

        for number in range(args.rounds):
            order = [("ours", ours_initial, ours_quiet), ("mbsync", mbsync_initial, mbsync_quiet)]
            if number % 2:
                order.reverse()
            for name, initial, quiet in order:
                results[f"{name}_initial"].append(initial())
                for _ in range(args.quiet_runs):
                    results[f"{name}_quiet"].append(quiet())
            print(
                f"round {number + 1}: ours initial {results['ours_initial'][-1]['wall']:.2f} s, "
                f"mbsync initial {results['mbsync_initial'][-1]['wall']:.2f} s; "
                f"no-change: ours {recent('ours_quiet', 'wall'):.3f} s "
                f"(IMAP work {recent('ours_quiet', 'imap'):.3f} s), "
                f"mbsync {recent('mbsync_quiet', 'wall'):.3f} s"
            )

        def median(key: str, field: str) -> float:
            return round(statistics.median(entry[field] for entry in results[key]), 3)

        figures = {
            "ours_initial_s": median("ours_initial", "wall"),
            "ours_initial_imap_s": median("ours_initial", "imap"),
            "mbsync_initial_s": median("mbsync_initial", "wall"),
            "ours_quiet_s": median("ours_quiet", "wall"),
            "ours_quiet_imap_s": median("ours_quiet", "imap"),
            "mbsync_quiet_s": median("mbsync_quiet", "wall"),
            "ours_peak_rss_mb": round(max(entry["rss"] for entry in results["ours_initial"]), 1),
            "ours_peak_rss_main_mb": round(max(entry["rss_main"] for entry in results["ours_initial"]), 1),
            "ours_quiet_peak_rss_mb": round(max(entry["rss"] for entry in results["ours_quiet"]), 1),
            "mbsync_peak_rss_mb": round(max(entry["rss"] for entry in results["mbsync_initial"]), 1),
        }
        figures["initial_ratio"] = round(figures["ours_initial_s"] / figures["mbsync_initial_s"], 2)  # type: ignore[operator]
        targets = {
            "initial_ratio": TARGET_INITIAL_RATIO,
            "ours_quiet_imap_s": TARGET_QUIET_IMAP_S,
            "ours_quiet_s": TARGET_QUIET_PROCESS_S,
            "ours_peak_rss_mb": TARGET_PEAK_RSS_MB,
        }
        store_mb = store.stat().st_size / 1e6 if store.exists() else 0.0
        print(
            f"\nN = {args.messages}, {args.rounds} rounds, "
            f"{args.quiet_runs} no-change runs per round; medians"
        )
        for key, value in figures.items():
            target = targets.get(key)
            verdict = (
                "" if target is None else f"  target <= {target}: {'met' if value <= target else 'MISSED'}"
            )  # type: ignore[operator]
            print(f"  {key:24} {value}{verdict}")
        print(f"  store file {store_mb:.0f} MB; mail on the server {mail_bytes / 1e6:.0f} MB")
        data = {
            "benchmark": "imap_sync",
            "messages": args.messages,
            "folders": counts,
            "rounds": args.rounds,
            "quiet_runs": args.quiet_runs,
            "figures": figures,
            "targets": targets,
            "pass": all(figures[key] <= target for key, target in targets.items()),  # type: ignore[operator]
            "runs": results,
            "store_mb": round(store_mb, 1),
            "mail_mb": round(mail_bytes / 1e6, 1),
            "machine": {
                "platform": platform.platform(),
                "python": platform.python_version(),
                "cpus": os.cpu_count(),
                "load_average": os.getloadavg(),
                "dovecot": subprocess.run(
                    ["/usr/sbin/dovecot", "--version"], capture_output=True, text=True
                ).stdout.strip(),
                "mbsync": subprocess.run(
                    [MBSYNC, "--version"], capture_output=True, text=True
                ).stdout.strip(),
            },
            "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(data, indent=2), encoding="utf-8")
    finally:
        server.close()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
