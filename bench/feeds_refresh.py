"""Feed refresh: 50 feeds × 50 items from a local HTTP server, ours against newsboat, in the same run.

A loopback server in this process (tests/support/feedserver.py) serves N RSS 2.0 feeds of M items each
(Finnish text, HTML content, an ETag per feed). For several rounds, alternating who goes first:

- ours: ``refresh_all`` in this process into a fresh store (cold, starting its parser processes),
  then again with every feed answering 304 (all-304); cold again with the parser processes already
  running and warm (the app's periodic refresh); also ``coordinator-tui feeds refresh --json`` as a
  whole process, cold and all-304. The CPU seconds of each cold refresh (this process and its
  parser processes) are reported too: on a machine shared with other work they show what a
  refresh costs when its wall time cannot;
- newsboat (Debian package) with a urls file and a private config and cache: ``newsboat -x reload``
  cold (fresh cache), then again (its conditional GET gives 304 too). ``reload-threads`` is set to
  our worker count so both fetch concurrently.

Reports medians; prints them and writes JSON.

    .venv/bin/python bench/feeds_refresh.py [--feeds 50] [--items 50] [--rounds 5]
        [--json bench/results/feeds_refresh.json]
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

# The app's modules are imported inside the functions: the parser processes are spawned, and a
# spawned process imports this script again, which must stay as light as the real entry point.
WORKERS = 8  # coordinator_tui.feeds.refresh.DEFAULT_WORKERS, checked in main()

COORDINATOR_TUI = ROOT / ".venv" / "bin" / "coordinator-tui"
NEWSBOAT = shutil.which("newsboat") or "/usr/bin/newsboat"
TARGET_COLD_S = 1.5
TARGET_ALL_304_S = 0.3


def feed_xml(n: int, items: int) -> bytes:
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>'
        f"<title>Hyvinvointialueen uutiset {n}</title><link>https://hva{n}.example/</link>"
        "<description>Ajankohtaista Omaolosta ja Kanta-palveluista</description>"
    ]
    for i in range(items):
        day = 1 + i % 28
        parts.append(
            f"<item><title>Tiedote {n}-{i}: Omaolon oirearvio päivittyy (työjonolähetys)</title>"
            f'<link>/uutiset/{n}/{i}</link><guid isPermaLink="false">hva-{n}-{i}</guid>'
            f"<pubDate>Thu, {day:02d} Oct 2026 09:{i % 60:02d}:00 +0300</pubDate>"
            "<description>Lyhyt kuvaus: palvelussa on muutoksia, jotka koskevat vastuukäyttäjiä."
            "</description>"
            "<content:encoded><![CDATA[<p>Hyvä vastuukäyttäjä,</p><p>Omaolon <b>oirearvioiden</b> "
            "työjonolähetys muuttuu. Päivystysapu 116117 palvelee normaalisti. Lue "
            f'<a href="/ohjeet/{i}">ohje</a> ja <a href="https://digifinland.example/x">tiedote</a>.</p>'
            "<ul><li>Ensimmäinen muutos</li><li>Toinen muutos</li><li>Kolmas muutos</li></ul>"
            "<p>Ystävällisin terveisin,<br/>DigiFinland</p>]]></content:encoded></item>"
        )
    parts.append("</channel></rss>")
    return "".join(parts).encode()


def ours_in_process(urls: list[str], work: Path, *, fresh_parsers: bool) -> tuple[float, float, int]:
    """Cold into a fresh store, then all-304. ``fresh_parsers``: the parser processes are started
    within the cold refresh (as in a CLI run); else they are left from the last round (as in the app,
    which keeps them between its periodic refreshes)."""
    from coordinator_tui.feeds.refresh import PARSERS, RetryBook, refresh_all
    from store.engine import open_store
    from store.feeds import sync_config_feeds

    if fresh_parsers:
        PARSERS.shutdown()
    else:  # running and warm, as in the app after its first refresh: every process started
        from coordinator_tui.feeds.parse import parse_elsewhere
        from coordinator_tui.i18n import current_language

        pool = PARSERS.get()
        if pool is not None:
            body = feed_xml(0, 1)
            warming = [
                pool.submit(parse_elsewhere, body, "http://127.0.0.1/warm", {}, current_language())
                for _ in range(os.cpu_count() or 1)
            ]
            for future in warming:
                future.result()
    store_path = work / f"store-{time.monotonic_ns()}.sqlite"
    store = open_store(f"sqlite:///{store_path}")
    sync_config_feeds(store, [(f"Syöte {i}", url) for i, url in enumerate(urls)])
    cpu_before = cpu_seconds(PARSERS)
    started = time.perf_counter()
    cold = refresh_all(store, retry_book=RetryBook())
    cold_s = time.perf_counter() - started
    LAST_COLD_CPU[0] = cpu_seconds(PARSERS) - cpu_before
    started = time.perf_counter()
    warm = refresh_all(store, retry_book=RetryBook())
    warm_s = time.perf_counter() - started
    assert cold.ok and warm.ok, [o.error for o in cold.feeds + warm.feeds if o.error]
    assert all(o.status == "not_modified" for o in warm.feeds)
    store.dispose()
    return cold_s, warm_s, cold.new_items


LAST_COLD_CPU = [0.0]


def cpu_seconds(parsers: object) -> float:
    """CPU seconds (user + system) of this process and its live parser processes, from /proc: the
    work a refresh costs whatever else the machine is doing (wall time on a busy machine is not)."""
    usage = os.times()
    total = usage.user + usage.system
    pool = getattr(parsers, "_pool", None)
    ticks = os.sysconf("SC_CLK_TCK")
    for pid in list(getattr(pool, "_processes", {}) or {}):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return total


def ours_process(urls: list[str], work: Path) -> tuple[float, float]:
    directory = Path(tempfile.mkdtemp(dir=work))
    config = directory / "config.toml"
    text = f'[store]\nurl = "sqlite:///{directory / "store.sqlite"}"\n'
    for i, url in enumerate(urls):
        text += f'[[feeds]]\nname = "Syöte {i}"\nurl = "{url}"\n'
    config.write_text(text, encoding="utf-8")
    env = {**os.environ, "XDG_STATE_HOME": str(directory / "state"), "XDG_CONFIG_HOME": str(directory)}
    times = []
    for _ in range(2):
        started = time.perf_counter()
        result = subprocess.run(
            [str(COORDINATOR_TUI), "--config", str(config), "feeds", "refresh", "--json"],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        times.append(time.perf_counter() - started)
        assert result.returncode == 0, result.stderr[-2000:]
    return times[0], times[1]


def newsboat(urls: list[str], work: Path) -> tuple[float, float, int]:
    directory = Path(tempfile.mkdtemp(dir=work))
    (directory / "urls").write_text("\n".join(urls) + "\n", encoding="utf-8")
    (directory / "config").write_text(f"reload-threads {WORKERS}\n", encoding="utf-8")
    env = {
        **os.environ,
        "HOME": str(directory),
        "XDG_CONFIG_HOME": str(directory),
        "XDG_DATA_HOME": str(directory),
    }
    command = [
        NEWSBOAT,
        "-u",
        str(directory / "urls"),
        "-C",
        str(directory / "config"),
        "-c",
        str(directory / "cache.db"),
        "-x",
        "reload",
    ]
    times = []
    for _ in range(2):
        started = time.perf_counter()
        result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        times.append(time.perf_counter() - started)
        assert result.returncode == 0, result.stderr[-2000:]
    import sqlite3

    with sqlite3.connect(directory / "cache.db") as connection:
        items = connection.execute("SELECT count(*) FROM rss_item").fetchone()[0]
    return times[0], times[1], items


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--feeds", type=int, default=50)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "feeds_refresh.json")
    args = parser.parse_args()

    from coordinator_tui.feeds.refresh import DEFAULT_WORKERS
    from tests.support.feedserver import FeedServer

    assert DEFAULT_WORKERS == WORKERS
    server = FeedServer()
    urls = [
        server.add(f"/feed/{n}.xml", body=feed_xml(n, args.items), etag=f'"feed-{n}-v1"')
        for n in range(args.feeds)
    ]
    figures: dict[str, list[float]] = {
        "ours_cold_s": [],
        "ours_cold_cpu_s": [],
        "ours_all_304_s": [],
        "ours_cold_parsers_running_s": [],
        "ours_cold_parsers_running_cpu_s": [],
        "ours_process_cold_s": [],
        "ours_process_all_304_s": [],
        "newsboat_cold_s": [],
        "newsboat_all_304_s": [],
    }
    counts = {}
    with tempfile.TemporaryDirectory(prefix="feeds-bench-") as temporary:
        work = Path(temporary)
        for round_number in range(args.rounds):
            runners = ["ours", "newsboat"] if round_number % 2 == 0 else ["newsboat", "ours"]
            for runner in runners:
                if runner == "ours":
                    cold, warm, new = ours_in_process(urls, work, fresh_parsers=True)
                    figures["ours_cold_s"].append(cold)
                    figures["ours_cold_cpu_s"].append(LAST_COLD_CPU[0])
                    figures["ours_all_304_s"].append(warm)
                    cold, _warm, _new = ours_in_process(urls, work, fresh_parsers=False)
                    figures["ours_cold_parsers_running_s"].append(cold)
                    figures["ours_cold_parsers_running_cpu_s"].append(LAST_COLD_CPU[0])
                    counts["ours_items"] = new
                    cold, warm = ours_process(urls, work)
                    figures["ours_process_cold_s"].append(cold)
                    figures["ours_process_all_304_s"].append(warm)
                else:
                    cold, warm, items = newsboat(urls, work)
                    figures["newsboat_cold_s"].append(cold)
                    figures["newsboat_all_304_s"].append(warm)
                    counts["newsboat_items"] = items
    server.close()
    medians = {name: round(statistics.median(values), 3) for name, values in figures.items()}
    result = {
        "benchmark": "feeds_refresh",
        "feeds": args.feeds,
        "items_per_feed": args.items,
        "rounds": args.rounds,
        "workers": WORKERS,
        "medians": medians,
        "runs": {name: [round(v, 3) for v in values] for name, values in figures.items()},
        "items_stored": counts,
        "targets": {"ours_cold_s": TARGET_COLD_S, "ours_all_304_s": TARGET_ALL_304_S},
        "meets_targets": medians["ours_cold_s"] <= TARGET_COLD_S
        and medians["ours_all_304_s"] <= TARGET_ALL_304_S,
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "load_average": list(os.getloadavg()),
        },
        "newsboat": subprocess.run(
            [NEWSBOAT, "--version"], capture_output=True, text=True
        ).stdout.splitlines()[0],
    }
    print(f"{args.feeds} feeds × {args.items} items, {args.rounds} rounds, medians:")
    for name, value in medians.items():
        print(f"  {name:<26} {value:7.3f} s")
    print(f"  items stored: {counts}")
    print(
        f"  targets (cold <= {TARGET_COLD_S} s, all-304 <= {TARGET_ALL_304_S} s) "
        f"met: {result['meets_targets']}"
    )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"written to {args.json}")


if __name__ == "__main__":
    main()
