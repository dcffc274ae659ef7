"""Run every benchmark of the project in one go; write bench/results.json and print a table.

    .venv/bin/python bench/run_all.py            (or: make bench)

Each benchmark is a script in bench/ that prints its figures and writes JSON under bench/results/.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results"

# (script, its JSON, [(figure key, unit, target, lower is better)])
BENCHMARKS = [
    (
        "make_store.py",
        "make_store.json",
        ["--out", str(RESULTS / "store-100k.sqlite"), "--force"],
        [("seconds", "s", 30.0)],
    ),
    (
        "startup.py",
        "startup.json",
        ["--store", str(RESULTS / "store-100k.sqlite")],
        [("first_paint_median_s", "s", 0.6), ("peak_rss_median_mb", "MB", 150.0)],
    ),
    (
        "imap_sync.py",
        "imap_sync.json",
        ["--messages", "20000", "--rounds", "3"],
        [
            ("initial_ratio", "x mbsync", 1.5),
            ("ours_quiet_imap_s", "s", 0.1),
            ("ours_quiet_s", "s", 0.6),
            ("ours_peak_rss_mb", "MB", 200.0),
        ],
    ),
    (
        "mail_screen.py",
        "mail_screen.json",
        ["--store", str(RESULTS / "store-100k.sqlite"), "--runs", "3"],
        [
            ("first_open_median_s", "s", 0.3),
            ("first_open_cold_median_s", "s", 0.3),
            ("reopen_median_s", "s", 0.3),
            ("key_median_ms", "ms", 50.0),
        ],
    ),
    (
        "requests_figures.py",
        "requests_figures.json",
        [],
        [("figures_median_s", "s", 0.5), ("peak_rss_mb", "MB", 200.0)],
    ),
    (
        "requests_screen.py",
        "requests_screen.json",
        ["--runs", "3"],
        [
            ("first_open_median_s", "s", 0.3),
            ("first_open_cold_median_s", "s", 0.3),
            ("figures_open_median_s", "s", 0.5),
            ("filter_key_median_ms", "ms", 50.0),
            ("triage_key_median_ms", "ms", 50.0),
            ("peak_rss_mb", "MB", 200.0),
        ],
    ),
    (
        "feeds_refresh.py",
        "feeds_refresh.json",
        ["--rounds", "5"],
        [("ours_cold_s", "s", 1.5), ("ours_all_304_s", "s", 0.3)],
    ),
    ("notice_send.py", "notice_send.json", [], [("uncapped_total_s_median", "s", 2.0)]),
    ("notice_flow.py", "notice_flow.json", ["--rounds", "3"], [("keys", "keys", 12.0)]),
    (
        "feeds_screen.py",
        "feeds_screen.json",
        ["--runs", "3"],
        [
            ("first_open_median_s", "s", 0.3),
            ("first_open_cold_median_s", "s", 0.3),
            ("key_median_ms", "ms", 50.0),
        ],
    ),
    (
        "network_screen.py",
        "network_screen.json",
        ["--runs", "3"],
        [
            ("first_open_median_s", "s", 0.3),
            ("preview_5000_median_s", "s", 1.0),
            ("resolve_largest_median_ms", "ms", 50.0),
        ],
    ),
]


def figure(data: dict, key: str) -> float | None:  # type: ignore[type-arg]
    for place in (data, data.get("figures", {}), data.get("medians", {})):
        if key in place:
            return float(place[key])
    return None


def main() -> int:
    RESULTS.mkdir(parents=True, exist_ok=True)
    rows = []
    for script, output, args, figures in BENCHMARKS:
        json_path = RESULTS / output
        subprocess.run([sys.executable, str(BENCH / script), *args, "--json", str(json_path)], check=True)
        data = json.loads(json_path.read_text(encoding="utf-8"))
        for key, unit, target in figures:
            value = figure(data, key)
            rows.append(
                {
                    "benchmark": script.removesuffix(".py"),
                    "figure": key,
                    "value": value,
                    "unit": unit,
                    "target": target,
                    "pass": value is not None and value <= target,
                }
            )
    (BENCH / "results.json").write_text(json.dumps(rows, indent=2), encoding="utf-8")
    print(f"\n{'benchmark':12} {'figure':28} {'value':>10} {'target':>10}  pass")
    for row in rows:
        print(
            f"{row['benchmark']:12} {row['figure']:28} {row['value']:>10} "
            f"{'<= ' + str(row['target']) + ' ' + row['unit']:>12}  {row['pass']}"
        )
    return 0 if all(row["pass"] for row in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
