"""Soak: the app runs for a while headless against real test servers, and must stay well.

A private Dovecot (tests/support/dovecot.py) gets a new mail every second while the app syncs it
(IDLE on INBOX); a local HTTP server (tests/support/feedserver.py) serves feeds that gain an item
every minute, refreshed from the Feeds screen every minute; every few seconds a scripted triage
goes through the Mail screen (open, flag, toggle read, archive, undo) and the other screens.

Measured: errors the app reported (its last_error and error notifications), peak and end RSS
against the RSS after the first fifth of the run (5 minutes of a 30-minute run), and the event
loop's latency: how late a 100 ms timer fires (median and 99th percentile).
Targets (issue 9): no error; end RSS within 10 % of the RSS after five minutes; latency median
<= 20 ms. Not part of the CI suite (it runs for 30 minutes by default).

    .venv/bin/python bench/soak.py [--minutes 30] [--json bench/results/soak.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.dovecot import Dovecot, generate_tls_files  # noqa: E402
from tests.support.feedserver import FeedServer  # noqa: E402
from tests.support.messages import plain  # noqa: E402

TARGET_RSS_GROWTH = 0.10
TARGET_LATENCY_MS = 20.0
PROBE_EVERY = 0.1
FEEDS = 10
TRIAGE_EVERY = 4.0


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def rss_feed(name: str, items: int) -> bytes:
    now = datetime.now(UTC)
    entries = "".join(
        f"<item><title>{name}: uutinen {n}</title><link>https://example.fi/{name}/{n}</link>"
        f"<guid>{name}-{n}</guid><pubDate>{format_datetime(now)}</pubDate>"
        f"<description>Omaolon uudistus numero {n}: kevään julkaisu ja käyttöönotto.</description></item>"
        for n in range(items)
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{name}</title>'
        f"<link>https://example.fi/{name}</link><description>Syöte</description>{entries}</channel></rss>"
    ).encode()


class Mailer(threading.Thread):
    """Delivers a new message to INBOX every second until stopped."""

    def __init__(self, server: Dovecot, user: str) -> None:
        super().__init__(daemon=True)
        self.server, self.user = server, user
        self.sent = 0
        self.failures: list[str] = []
        self.stop_event = threading.Event()

    def run(self) -> None:
        while not self.stop_event.wait(1.0):
            number = self.sent + 1
            raw = plain(
                f"Palvelupyyntö {number}: työjono ei lähetä",
                "Hei, työjonolähetys ei toimi. Voisitteko katsoa?",
                f"<soak-{number}-{time.time_ns()}@kunta.example.fi>",
            )
            try:
                self.server.deliver("INBOX", raw, user=self.user)
                self.sent = number
            except Exception as error:  # the soak reports it; the server's trouble is a finding
                self.failures.append(f"{type(error).__name__}: {error}")


async def soak(minutes: float, work: Path) -> dict[str, Any]:
    from textual.widgets._toast import Toast

    from coordinator_tui.app import AppContext, CoordinatorApp
    from coordinator_tui.config import Config, FeedEntry, ImapSection
    from coordinator_tui.quickconfig import QuickSettings
    from store.engine import open_store, url_for_path

    tls = generate_tls_files(work / "tls")
    server = Dovecot(work / "dovecot", tls)
    server.start()
    account = server.add_user("soak", "soak-salasana-1")
    feeds = FeedServer()
    items = {f"syote{n}": 20 for n in range(FEEDS)}
    for name, count in items.items():
        feeds.add(f"/{name}.xml", body=rss_feed(name, count))
    os.environ["COORDINATOR_TUI_IMAP_PASSWORD"] = account.password
    config = Config(
        imap=ImapSection(
            host=account.host,
            port=account.port,
            security="tls",
            username=account.username,
            ca_file=str(account.ca_file),
        ),
        feeds=[FeedEntry(name=name, url=feeds.url(f"/{name}.xml")) for name in items],
    )
    store = open_store(url_for_path(work / "store.sqlite"))
    app = CoordinatorApp(
        AppContext(
            settings=QuickSettings.from_config(config),
            config_loader=lambda: config,
            store=store,
            store_label="soak.sqlite",
            demo=False,
        )
    )
    lateness: list[float] = []
    rss: list[tuple[float, float]] = []
    errors: list[str] = []
    mailer = Mailer(server, account.username)
    duration = minutes * 60
    baseline_at = duration / 6  # 5 minutes of 30
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            expected = [time.perf_counter() + PROBE_EVERY]

            def probe() -> None:
                now = time.perf_counter()
                lateness.append(max(0.0, now - expected[0]) * 1000)
                expected[0] = now + PROBE_EVERY

            app.set_interval(PROBE_EVERY, probe)
            mailer.start()
            started = time.perf_counter()
            next_triage = started + 10.0
            next_feeds = started + 30.0
            next_rss = started
            step = 0
            seen_error = ""
            while (elapsed := time.perf_counter() - started) < duration:
                now = time.perf_counter()
                if now >= next_rss:
                    rss.append((elapsed, rss_mb()))
                    next_rss = now + 10.0
                if app.last_error and app.last_error != seen_error:
                    seen_error = app.last_error
                    errors.append(f"{elapsed:.0f} s: {seen_error}")
                for toast in app.query(Toast):
                    text = str(getattr(toast, "_notification", None) and toast._notification.message)
                    severity = getattr(getattr(toast, "_notification", None), "severity", "")
                    if severity == "error" and text not in errors:
                        errors.append(text)
                if now >= next_feeds:
                    for name in items:  # every feed gains an item before the refresh
                        items[name] += 1
                        feeds.add(f"/{name}.xml", body=rss_feed(name, items[name]))
                    await pilot.press("5")
                    await pilot.pause(0.3)
                    await pilot.press("ctrl+r")
                    await pilot.pause(0.5)
                    await pilot.press("1")
                    next_feeds = now + 60.0
                elif now >= next_triage:
                    keys = [
                        ("2", "j", "enter"),
                        ("s",),
                        ("N",),
                        ("e",),
                        ("u",),
                        ("3", "j"),
                        ("4",),
                        ("1",),
                    ][step % 8]
                    for key in keys:
                        await pilot.press(key)
                        await pilot.pause(0.1)
                    step += 1
                    next_triage = now + TRIAGE_EVERY
                await pilot.pause(0.5)
            await pilot.pause(3.0)  # the last deliveries reach the store
            from store.mailview import folder_count, folders

            kept = [f for f in folders(store) if f.role in ("inbox", "archive")]
            in_store = sum(folder_count(store, f.id) for f in kept)
    finally:
        mailer.stop_event.set()
        mailer.join(timeout=5)
        feeds.close()
        server.close()
        store.dispose()
    base = [mb for at, mb in rss if at >= baseline_at]
    baseline = base[0] if base else rss[-1][1]
    end = rss[-1][1]
    growth = (end - baseline) / baseline if baseline else 0.0
    latency_median = statistics.median(lateness) if lateness else 0.0
    latency_p99 = sorted(lateness)[int(len(lateness) * 0.99) - 1] if lateness else 0.0
    figures = {
        "minutes": minutes,
        "mails_delivered": mailer.sent,
        "mails_in_store": in_store,
        "delivery_failures": len(mailer.failures),
        "triage_steps": step,
        "app_errors": len(errors),
        "rss_baseline_mb": round(baseline, 1),
        "rss_end_mb": round(end, 1),
        "rss_peak_mb": round(max(mb for _at, mb in rss), 1),
        "rss_growth_pct": round(growth * 100, 1),
        "loop_latency_median_ms": round(latency_median, 1),
        "loop_latency_p99_ms": round(latency_p99, 1),
    }
    return {"figures": figures, "errors": errors[:20], "delivery_failures": mailer.failures[:5], "rss": rss}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "soak.json")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="coordinator-tui-dovecot-soak-"))
    work.chmod(0o755)  # Dovecot's processes walk into it
    try:
        result = asyncio.run(soak(args.minutes, work))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    figures = result["figures"]
    passed = (
        figures["app_errors"] == 0
        and figures["delivery_failures"] == 0
        and figures["rss_growth_pct"] <= TARGET_RSS_GROWTH * 100
        and figures["loop_latency_median_ms"] <= TARGET_LATENCY_MS
    )
    report = {
        "benchmark": "soak",
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "load_average": list(os.getloadavg()),
        **result,
        "targets": {
            "app_errors": 0,
            "rss_growth_pct": TARGET_RSS_GROWTH * 100,
            "loop_latency_median_ms": TARGET_LATENCY_MS,
        },
        "pass": passed,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    for key, value in figures.items():
        print(f"{key:26} {value}")
    for error in result["errors"]:
        print(f"error: {error}")
    print(f"{'pass':26} {passed}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
