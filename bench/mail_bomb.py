"""Mail bombs: how long `coordinator-tui sync` takes on each, and its peak memory.

A private Dovecot (tests/support/dovecot.py) gets one user per bomb (tests/support/bombs.py: a 50 MB
message, 10,000 attachments, 1,000 nested multiparts fetched whole and read by BODYSTRUCTURE, a
1 MB header) and one user with all of them; each INBOX holds the bomb between six everyday
messages, written straight into the Maildir. Per round and bomb, `coordinator-tui sync --json` runs
as a process of its own (the config names the user; the password in COORDINATOR_TUI_IMAP_PASSWORD)
into a fresh store, then once more (a no-change sync). Reported, as medians over the rounds: the
wall time of the sync process, the IMAP work as the sync reports it (`seconds`), the peak RSS of the
sync process (its VmHWM, read from /proc as it exits: ru_maxrss would carry over this script's own
high-water mark, which holds the bombs) and the no-change sync's wall time.

    .venv/bin/python bench/mail_bomb.py [--rounds 3] [--json bench/results/mail_bomb.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.bombs import BOMBS, normal_message, run_sync, write_config  # noqa: E402
from tests.support.dovecot import Dovecot, generate_tls_files, seed_maildir  # noqa: E402

TARGET_PEAK_RSS_MB = 200.0  # the sync's memory bound (issue 3)
TARGET_SYNC_S = 30.0  # per bomb
NORMAL_AROUND = 3  # everyday messages before and after each bomb


def seed(server: Dovecot) -> dict[str, tuple[str, int]]:
    """Case name → (user, messages in its INBOX)."""
    cases: dict[str, tuple[str, int]] = {}
    for bomb in [*BOMBS, None]:
        name = bomb.name if bomb is not None else "all"
        user = f"bomb-{name.replace('_', '-')}"
        server.add_user(user, f"salasana-{name}")

        def messages(bomb=bomb):  # type: ignore[no-untyped-def]
            number = 0
            for number in range(NORMAL_AROUND):
                yield normal_message(number)
            for item in [bomb] if bomb is not None else BOMBS:
                yield item.build()
                for _extra in range(NORMAL_AROUND):
                    number += 1
                    yield normal_message(number)

        cases[name] = (user, seed_maildir(server, "INBOX", messages(), user=user))
    return cases


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="bench-bomb-"))
    work.chmod(0o755)
    server = Dovecot(work / "dovecot", generate_tls_files(work / "tls"))
    runs: dict[str, list[dict[str, float]]] = {}
    try:
        server.start()
        started = time.perf_counter()
        cases = seed(server)
        mail_mb = sum(p.stat().st_size for p in server.home_root.rglob("*") if ",S=" in p.name) / 1e6
        print(f"seeded {len(cases)} mailboxes ({mail_mb:.0f} MB) in {time.perf_counter() - started:.1f} s")
        for number in range(args.rounds):
            for name, (user, count) in cases.items():
                account = server.account(user)
                store = work / f"store-{name}.sqlite"
                for path in (store, Path(f"{store}-wal"), Path(f"{store}-shm")):
                    path.unlink(missing_ok=True)
                config = write_config(work / f"config-{name}.toml", store, account)
                begun = time.perf_counter()
                first = run_sync(config, account.password)
                wall = time.perf_counter() - begun
                if first.code != 0 or not first.report.get("ok"):
                    raise SystemExit(
                        f"{name}: the sync failed ({first.code}): {first.report}\n{first.stderr}"
                    )
                stored = sum(folder["messages"] for folder in first.report["folders"])
                if stored != count:
                    raise SystemExit(f"{name}: {stored} of {count} messages stored")
                begun = time.perf_counter()
                quiet = run_sync(config, account.password)
                quiet_wall = time.perf_counter() - begun
                changed = [
                    f for f in quiet.report.get("folders", []) if f["new"] or f["changed"] or f["removed"]
                ]
                if quiet.code != 0 or changed:
                    raise SystemExit(f"{name}: the no-change sync changed something: {quiet.report}")
                runs.setdefault(name, []).append(
                    {
                        "sync_s": round(wall, 3),
                        "imap_s": float(first.report["seconds"]),
                        "peak_rss_mb": round(first.peak_rss_mb, 1),
                        "quiet_s": round(quiet_wall, 3),
                        "quiet_peak_rss_mb": round(quiet.peak_rss_mb, 1),
                    }
                )
                print(
                    f"round {number + 1} {name:13} sync {wall:6.2f} s "
                    f"(IMAP {first.report['seconds']:.2f} s), "
                    f"peak RSS {first.peak_rss_mb:5.1f} MB; no-change {quiet_wall:.2f} s"
                )
    finally:
        server.close()
        shutil.rmtree(work, ignore_errors=True)

    medians = {
        name: {key: round(statistics.median(run[key] for run in entries), 3) for key in entries[0]}
        for name, entries in runs.items()
    }
    worst_rss = max(figures["peak_rss_mb"] for figures in medians.values())
    worst_sync = max(figures["sync_s"] for name, figures in medians.items() if name != "all")
    targets = {"peak_rss_mb": TARGET_PEAK_RSS_MB, "sync_s_per_bomb": TARGET_SYNC_S}
    meets = worst_rss <= TARGET_PEAK_RSS_MB and worst_sync <= TARGET_SYNC_S
    print(f"\nmedians of {args.rounds} rounds (sync and no-change: wall time of the process)")
    print(f"  {'bomb':13} {'sync s':>8} {'IMAP s':>8} {'peak MB':>8} {'no-change s':>12}")
    for name, figures in medians.items():
        print(
            f"  {name:13} {figures['sync_s']:8.2f} {figures['imap_s']:8.2f} "
            f"{figures['peak_rss_mb']:8.1f} {figures['quiet_s']:12.2f}"
        )
    print(
        f"  worst peak RSS {worst_rss:.1f} MB (target <= {TARGET_PEAK_RSS_MB:.0f}); "
        f"slowest bomb {worst_sync:.2f} s (target <= {TARGET_SYNC_S:.0f}): "
        f"{'met' if meets else 'MISSED'}"
    )
    data = {
        "benchmark": "mail_bomb",
        "rounds": args.rounds,
        "medians": medians,
        "runs": runs,
        "figures": {"worst_peak_rss_mb": worst_rss, "slowest_bomb_sync_s": worst_sync},
        "targets": targets,
        "meets_targets": meets,
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average": list(os.getloadavg()),
            "dovecot": subprocess.run(
                ["/usr/sbin/dovecot", "--version"], capture_output=True, text=True, check=False
            ).stdout.strip(),
        },
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return 0 if meets else 1


if __name__ == "__main__":
    raise SystemExit(main())
