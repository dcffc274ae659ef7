"""Time the request queue's store reads at scale: the Figures view, the saved-view counts and windows.

Builds (or reuses) a store with 50,000 requests and about 500,000 request events, then times,
each as the median of several runs on a warm cache:
- the Figures view's computation for a year (months, categories, units, medians, overdue share;
  target <= 0.5 s), also for one unit;
- the saved views' counts (the side list);
- a saved-view window: the first 100 rows, and 100 rows deep in the list by keyset;
- a filter-as-you-type window over the requests' full-text index, for one word and for every
  prefix the screen benchmark types.
Prints the figures and, with --json, writes them with the machine they were measured on.

    .venv/bin/python bench/requests_figures.py [--store PATH] [--requests 50000] [--force]
        [--runs 7] [--json bench/results/requests_figures.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from coordinator_tui.demo import DemoScale, build_demo_store
from coordinator_tui.requests.service import RequestService
from store.engine import Store, open_store, url_for_path

BENCH = Path(__file__).resolve().parent
NOW = datetime(2026, 11, 26, 7, 30, tzinfo=UTC)
FIGURES_TARGET_S = 0.5
ME = "Sanna Kivelä"
FILTER_WORDS = ("oulu", "työjono", "käyttöoikeus")  # as bench/requests_screen.py types them


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, default=BENCH / "results" / "store-requests-50k.sqlite")
    parser.add_argument("--requests", type=int, default=50_000)
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--events-per-request", type=int, default=10)
    parser.add_argument("--force", action="store_true", help="rebuild the store even if it exists")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    return parser.parse_args(argv)


def build(path: Path, arguments: argparse.Namespace) -> float:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    store = open_store(url_for_path(path))
    base = DemoScale.benchmark(messages=arguments.messages, requests=arguments.requests, feed_items=500)
    scale = DemoScale(
        units=base.units,
        people=base.people,
        messages=base.messages,
        requests=base.requests,
        feed_items=base.feed_items,
        events_per_request=arguments.events_per_request,
        history_days=base.history_days,
    )
    build_demo_store(store, seed=2026, now=NOW, scale=scale)
    store.dispose()
    return time.perf_counter() - started


CPU_TIMES: dict[str, float] = {}


def timed(function: Callable[[], Any], runs: int, name: str = "") -> tuple[float, Any]:
    """The median wall time of ``runs`` calls after one warm-up call, and the last result.

    The median CPU time goes to ``CPU_TIMES[name]``: on a shared machine the wall time also
    counts the waits for a core, the CPU time only this process's work.
    """
    result = function()
    times, cpu = [], []
    for _ in range(runs):
        started, cpu_started = time.perf_counter(), time.process_time()
        result = function()
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
    if name:
        CPU_TIMES[name] = statistics.median(cpu)
    return statistics.median(times), result


def counts_of(store: Store) -> dict[str, int]:
    import sqlite3

    assert store.path is not None
    connection = sqlite3.connect(store.path)
    try:
        return {
            table: connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("service_request", "request_event", "request_mail", "mail_message")
        }
    finally:
        connection.close()


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    path: Path = arguments.store.expanduser().resolve()
    build_seconds = None
    if arguments.force or not path.exists():
        build_seconds = build(path, arguments)
        print(f"Built {path} in {build_seconds:.1f} s.")
    store = open_store(url_for_path(path))
    rows = counts_of(store)
    print(
        f"Store: {rows['service_request']:,} requests, {rows['request_event']:,} events, "
        f"{rows['mail_message']:,} messages.".replace(",", " ")
    )
    service = RequestService(store, actor=ME, clock=lambda: NOW)
    year = (date(2025, 12, 1), date(2026, 11, 30))
    runs = arguments.runs

    figures_s, figures = timed(lambda: service.figures(*year), runs, "figures")
    unit_id = store_unit(store)
    unit_figures_s, _ = timed(lambda: service.figures(*year, unit_id=unit_id), runs)
    counts_s, counts = timed(service.counts, runs)
    first_s, first = timed(lambda: service.window("open", sort="due", limit=100), runs)
    # 100 rows from deep in the list of every request: keyset from the cursor of row 20,000.
    cursor = deep_cursor(store)
    deep_s, deep = timed(lambda: service.window("all", sort="updated", after=cursor, limit=100), runs)
    filter_s, filtered = timed(lambda: service.window("open", match="työjo", limit=100), runs)
    # Every prefix typed in the Requests screen benchmark, one key at a time (its own index, 0007).
    typed = [word[:n] for word in FILTER_WORDS for n in range(1, len(word) + 1)]
    per_key = [timed(lambda text=text: service.window("open", match=text, limit=100), 3)[0] for text in typed]
    per_key_median = statistics.median(per_key)
    per_key_max = max(per_key)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    verdict = "within" if figures_s <= FIGURES_TARGET_S else "OVER"
    share = figures.overdue_share
    print(
        f"Figures for a year ({figures.total:,} requests): {figures_s * 1000:.0f} ms median".replace(",", " ")
    )
    print(
        f"  target {FIGURES_TARGET_S * 1000:.0f} ms: {verdict} it; "
        f"CPU {CPU_TIMES['figures'] * 1000:.0f} ms median"
    )
    print(f"  median first response {figures.median_first_response}, resolution {figures.median_resolution}")
    print(f"  overdue share {share:.1%}" if share is not None else "  overdue share -")
    print(f"Figures for one unit: {unit_figures_s * 1000:.0f} ms median")
    print(f"Saved-view counts: {counts_s * 1000:.1f} ms median {counts}")
    print(f"Window, first 100 open by due: {first_s * 1000:.1f} ms median ({len(first.rows)} rows)")
    print(f"Window, 100 rows by keyset from row 20 000 of all: {deep_s * 1000:.1f} ms ({len(deep.rows)})")
    print(
        f"Window, filter 'työjo' over the search index: {filter_s * 1000:.1f} ms ({len(filtered.rows)} rows)"
    )
    print(
        f"Window, filter typed letter by letter ({len(typed)} prefixes of {', '.join(FILTER_WORDS)}): "
        f"{per_key_median * 1000:.1f} ms median, {per_key_max * 1000:.1f} ms max"
    )
    print(f"Peak RSS {peak_mb:.0f} MB")
    store.dispose()

    if arguments.json:
        data = {
            "benchmark": "requests_figures",
            "command": " ".join([Path(sys.executable).name, *sys.argv]),
            "rows": rows,
            "build_seconds": round(build_seconds, 1) if build_seconds is not None else None,
            "figures": {
                "figures_median_s": round(figures_s, 4),
                "figures_target_s": FIGURES_TARGET_S,
                "figures_cpu_median_s": round(CPU_TIMES["figures"], 4),
                "figures_one_unit_median_s": round(unit_figures_s, 4),
                "view_counts_median_s": round(counts_s, 4),
                "window_first_100_median_s": round(first_s, 4),
                "window_keyset_deep_median_s": round(deep_s, 4),
                "window_filter_median_s": round(filter_s, 4),
                "window_filter_per_key_median_s": round(per_key_median, 4),
                "window_filter_per_key_max_s": round(per_key_max, 4),
                "peak_rss_mb": round(peak_mb, 1),
            },
            "runs": runs,
            "machine": {
                "platform": platform.platform(),
                "python": platform.python_version(),
                "cpus": os.cpu_count(),
                "load_average": list(os.getloadavg()),
            },
            "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        arguments.json.parent.mkdir(parents=True, exist_ok=True)
        arguments.json.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


def deep_cursor(store: Store) -> tuple[Any, ...]:
    """The keyset cursor of row 20,000 of every request by last update (found once, untimed)."""
    import sqlite3

    assert store.path is not None
    connection = sqlite3.connect(store.path)
    try:
        row = connection.execute(
            "SELECT updated_at, id FROM service_request ORDER BY updated_at DESC, id DESC "
            "LIMIT 1 OFFSET 20000"
        ).fetchone()
    finally:
        connection.close()
    return tuple(row)


def store_unit(store: Store) -> int:
    import sqlite3

    assert store.path is not None
    connection = sqlite3.connect(store.path)
    try:
        return int(
            connection.execute(
                "SELECT unit_id FROM service_request GROUP BY unit_id ORDER BY count(*) DESC LIMIT 1"
            ).fetchone()[0]
        )
    finally:
        connection.close()


if __name__ == "__main__":
    sys.exit(main())
