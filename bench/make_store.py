"""Build a big demo store for the benchmarks and time it: opening (migrations), building, closing.

The time covers everything a user waits for: the schema, every row with its full-text index
entries, the commit, and the WAL checkpoint when the store is closed. Prints the figures and,
with --json, writes them with the machine they were measured on.

    .venv/bin/python bench/make_store.py --out PATH [--messages 100000] [--requests 20000]
        [--feed-items 10000] [--events-per-request 10] [--seed 2026] [--now 2026-11-26T07:30:00+00:00]
        [--force] [--json FILE]

The Requests benchmarks' store (50,000 requests, ~500,000 events) is
``--messages 20000 --requests 50000 --feed-items 500 --events-per-request 10`` (what
bench/requests_figures.py builds when its store is missing).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import sys
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from coordinator_tui.demo import DemoScale, build_demo_store
from store.engine import open_store, url_for_path

TARGET_SECONDS = 30.0  # for TARGET_SCALE on a 2-core machine
TARGET_SCALE = (100_000, 20_000, 10_000)  # messages, requests, feed items


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path, help="the store file to create")
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--feed-items", type=int, default=10_000)
    parser.add_argument(
        "--events-per-request", type=int, default=10, help="about this many history events per request"
    )
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--now", type=datetime.fromisoformat, help="the demo's 'now' (aware ISO time)")
    parser.add_argument("--force", action="store_true", help="replace an existing store file")
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    return parser.parse_args(argv)


def remove_store(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    out: Path = arguments.out.expanduser().resolve()
    if out.exists():
        if not arguments.force:
            print(f"{out} exists already; nothing was written. Use --force to replace it.", file=sys.stderr)
            return 2
        remove_store(out)
    now = arguments.now or datetime.now(UTC)
    if now.utcoffset() is None:
        print("--now needs a time zone, e.g. 2026-11-26T07:30:00+00:00", file=sys.stderr)
        return 2
    scale = dataclasses.replace(
        DemoScale.benchmark(
            messages=arguments.messages, requests=arguments.requests, feed_items=arguments.feed_items
        ),
        events_per_request=arguments.events_per_request,
    )

    started = time.perf_counter()
    cpu_started = time.process_time()
    store = open_store(url_for_path(out))
    opened = time.perf_counter()
    summary = build_demo_store(store, seed=arguments.seed, now=now, scale=scale)
    built = time.perf_counter()
    store.dispose()  # the last connection's close checkpoints the WAL into the file
    finished = time.perf_counter()
    cpu_seconds = time.process_time() - cpu_started

    seconds = finished - started
    size_mb = out.stat().st_size / 1e6
    print(
        f"Built {out} in {seconds:.1f} s: open {opened - started:.1f} s, build {built - opened:.1f} s, "
        f"close {finished - built:.1f} s ({cpu_seconds:.1f} s of CPU); {size_mb:.0f} MB."
    )
    print(summary.describe())
    asked = (arguments.messages, arguments.requests, arguments.feed_items)
    if all(size >= target for size, target in zip(asked, TARGET_SCALE, strict=True)):
        verdict = "within" if seconds <= TARGET_SECONDS else "OVER"
        print(
            f"Target: {TARGET_SECONDS:.0f} s for 100k messages, 20k requests, 10k feed items; {verdict} it."
        )
    if arguments.json:
        figures = {
            "benchmark": "make_store",
            "command": " ".join([Path(sys.executable).name, *sys.argv]),
            "seconds": round(seconds, 2),
            "open_seconds": round(opened - started, 2),
            "build_seconds": round(built - opened, 2),
            "close_seconds": round(finished - built, 2),
            "cpu_seconds": round(cpu_seconds, 2),
            "target_seconds": TARGET_SECONDS,
            "size_mb": round(size_mb, 1),
            "scale": asdict(scale),
            "seed": arguments.seed,
            "now": now.isoformat(),
            "counts": summary.counts,
            "machine": {
                "platform": platform.platform(),
                "python": platform.python_version(),
                "cpus": os.cpu_count(),
                "load_average": list(os.getloadavg()),
            },
            "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        arguments.json.parent.mkdir(parents=True, exist_ok=True)
        arguments.json.write_text(json.dumps(figures, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
