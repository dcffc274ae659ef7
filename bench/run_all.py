"""Run every benchmark of the project in one go; write bench/results.json and print a table.

    .venv/bin/python bench/run_all.py [--readme] [--only a,b] [--skip a,b]   (or: make bench)

Each benchmark is a script in bench/ that prints its figures and writes JSON under bench/results/;
this script runs them one after another (never two at once: the machine has 2 cores), reads the
figures named below, compares each with its target and, where the issue names a peer tool, puts the
peer's figure from the same run beside it (mbsync for the IMAP sync, newsboat for feeds).

``bench/results.json`` holds when and where it ran, how long every script took, and one row per
figure: benchmark, figure, value, unit, target, pass, peer, peer_value. ``--readme`` also writes the
table into bench/README.md between the ``run_all`` markers. Exit status 1 when a figure misses its
target or a script fails: a miss is a finding to fix.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results"
README = BENCH / "README.md"
BEGIN, END = "<!-- run_all:begin -->", "<!-- run_all:end -->"
BIG_STORE = RESULTS / "store-100k.sqlite"


@dataclass(frozen=True)
class Figure:
    key: str  # a key of the script's JSON; dots walk into nested objects ("cases.migration.failed")
    unit: str
    target: float | None  # the figure passes when it is <= target; None: reported beside its peer
    peer: str = ""  # the peer tool named by the issue
    peer_key: str = ""  # its figure in the same JSON


@dataclass(frozen=True)
class Benchmark:
    script: str
    args: list[str]
    figures: list[Figure]
    output: str = ""  # the JSON's file name under results/ (default: <script>.json)

    @property
    def name(self) -> str:
        return self.script.removesuffix(".py")

    @property
    def json_path(self) -> Path:
        return RESULTS / (self.output or f"{self.name}.json")


BENCHMARKS = [
    Benchmark(
        "make_store.py",
        ["--out", str(BIG_STORE), "--force"],
        [Figure("seconds", "s", 30.0)],
    ),
    Benchmark(
        "startup.py",
        ["--store", str(BIG_STORE)],
        [Figure("first_paint_median_s", "s", 0.6), Figure("peak_rss_median_mb", "MB", 150.0)],
    ),
    Benchmark(
        "imap_sync.py",
        ["--messages", "20000", "--rounds", "2", "--quiet-runs", "3"],
        [
            Figure("ours_initial_s", "s", None, "mbsync", "mbsync_initial_s"),
            Figure("initial_ratio", "× mbsync", 1.5),
            Figure("ours_quiet_imap_s", "s", 0.1),
            Figure("ours_quiet_s", "s", 0.6, "mbsync", "mbsync_quiet_s"),
            Figure("ours_peak_rss_mb", "MB", 200.0, "mbsync", "mbsync_peak_rss_mb"),
        ],
    ),
    Benchmark(
        "mail_bomb.py",
        ["--rounds", "2"],
        [Figure("worst_peak_rss_mb", "MB", 200.0), Figure("slowest_bomb_sync_s", "s", 30.0)],
    ),
    Benchmark(
        "mail_screen.py",
        ["--store", str(BIG_STORE), "--runs", "3"],
        [
            Figure("first_open_median_s", "s", 0.3),
            Figure("first_open_cold_median_s", "s", 0.3),
            Figure("reopen_median_s", "s", 0.3),
            Figure("key_median_ms", "ms", 50.0),
        ],
    ),
    Benchmark(
        "requests_figures.py",
        [],
        [Figure("figures_median_s", "s", 0.5), Figure("peak_rss_mb", "MB", 200.0)],
    ),
    Benchmark(
        "requests_screen.py",
        ["--runs", "3"],
        [
            Figure("first_open_median_s", "s", 0.3),
            Figure("first_open_cold_median_s", "s", 0.3),
            Figure("figures_open_median_s", "s", 0.5),
            Figure("filter_key_median_ms", "ms", 50.0),
            Figure("triage_key_median_ms", "ms", 50.0),
            Figure("peak_rss_mb", "MB", 200.0),
        ],
    ),
    Benchmark(
        "feeds_refresh.py",
        ["--rounds", "3"],
        [
            Figure("ours_cold_s", "s", 1.5, "newsboat", "newsboat_cold_s"),
            Figure("ours_all_304_s", "s", 0.3, "newsboat", "newsboat_all_304_s"),
        ],
    ),
    Benchmark(
        "feeds_screen.py",
        ["--store", str(BIG_STORE), "--runs", "3"],
        [
            Figure("first_open_median_s", "s", 0.3),
            Figure("first_open_cold_median_s", "s", 0.3),
            Figure("key_median_ms", "ms", 50.0),
        ],
    ),
    Benchmark("notice_send.py", [], [Figure("uncapped_total_s_median", "s", 2.0)]),
    Benchmark("notice_flow.py", ["--rounds", "3"], [Figure("keys", "keys", 12.0)]),
    Benchmark(
        "network_screen.py",
        ["--runs", "3"],
        [
            Figure("first_open_median_s", "s", 0.3),
            Figure("preview_5000_median_s", "s", 1.0),
            Figure("resolve_largest_median_ms", "ms", 50.0),
        ],
    ),
    Benchmark(
        "misbehaving_servers.py",
        ["--close-trials", "60"],
        [Figure("failed", "trials", 0.0), Figure("overrun_max_s", "s", 1.0)],
    ),
    Benchmark(
        "faults.py",
        [],  # each case's own trial count, enough for >= 50 kills
        [
            Figure(f"cases.{case}.{key}", unit, target)
            for case in ("migration", "csv_import", "imap_sync", "notice_send")
            for key, unit, target in (("failed", "trials", 0.0), ("short_of_kills", "trials", 0.0))
        ],
    ),
]


def figure(data: dict[str, Any], key: str) -> float | None:
    """The figure ``key`` of a script's JSON: top level, its "figures"/"medians", or a dotted path."""
    for place in (data, data.get("figures", {}), data.get("medians", {})):
        if isinstance(place, dict) and key in place and isinstance(place[key], int | float):
            return float(place[key])
    value: Any = data
    for part in key.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return float(value) if isinstance(value, int | float) else None


def derived(data: dict[str, Any]) -> None:
    """Figures computed from others (faults: trials killed short of the required count)."""
    need = data.get("killed_per_case_min", 50)
    for case in (data.get("cases") or {}).values():
        if isinstance(case, dict) and "killed" in case:
            case.setdefault("short_of_kills", max(0, int(need) - int(case["killed"])))


def machine() -> dict[str, Any]:
    memory = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.0f} GiB"
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "memory": memory,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "load_average_at_start": [round(value, 2) for value in os.getloadavg()],
    }


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| benchmark | figure | value | target | pass | peer in the same run |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        value = "—" if row["value"] is None else f"{row['value']:g} {row['unit']}"
        target = "" if row["target"] is None else f"≤ {row['target']:g} {row['unit']}"
        verdict = "" if not target else ("yes" if row["pass"] else "**no**")
        peer = (
            f"{row['peer']} {row['peer_value']:g} {row['unit']}" if row.get("peer_value") is not None else ""
        )
        lines.append(f"| {row['benchmark']} | {row['figure']} | {value} | {target} | {verdict} | {peer} |")
    return "\n".join(lines)


def write_readme(summary: dict[str, Any]) -> None:
    text = README.read_text(encoding="utf-8")
    if BEGIN not in text or END not in text:
        raise SystemExit(f"{README} has no {BEGIN} … {END} markers")
    head, rest = text.split(BEGIN, 1)
    _old, tail = rest.split(END, 1)
    m = summary["machine"]
    block = (
        f"{BEGIN}\n"
        f"`.venv/bin/python bench/run_all.py --readme`, {summary['when']}, {summary['seconds'] / 60:.1f} min "
        f"in all; {m['cpus']} cores, {m['memory']}, Python {m['python']}, {m['platform']}; load average "
        f"at the start {m['load_average_at_start'][0]}.\n\n"
        f"{table(summary['figures'])}\n\n"
        f"Seconds per script: "
        + ", ".join(f"{name} {seconds:.0f}" for name, seconds in summary["script_seconds"].items())
        + f".\n{END}"
    )
    README.write_text(head + block + tail, encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", default="", help="comma-separated benchmark names to run")
    parser.add_argument("--skip", default="", help="comma-separated benchmark names to leave out")
    parser.add_argument("--readme", action="store_true", help="write the table into bench/README.md")
    args = parser.parse_args()
    only = {name for name in args.only.split(",") if name}
    skip = {name for name in args.skip.split(",") if name}
    chosen = [b for b in BENCHMARKS if (not only or b.name in only) and b.name not in skip]

    RESULTS.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    summary: dict[str, Any] = {
        "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "script_seconds": {},
        "failed_scripts": [],
        "figures": [],
    }
    for bench in chosen:
        print(f"\n=== {bench.script} {' '.join(bench.args)}", flush=True)
        began = time.monotonic()
        bench.json_path.unlink(missing_ok=True)  # figures come from this run or not at all
        done = subprocess.run(
            [sys.executable, str(BENCH / bench.script), *bench.args, "--json", str(bench.json_path)]
        )
        summary["script_seconds"][bench.name] = round(time.monotonic() - began, 1)
        data: dict[str, Any] = {}
        if bench.json_path.exists():
            data = json.loads(bench.json_path.read_text(encoding="utf-8"))
            derived(data)
        if done.returncode != 0 and not data:
            summary["failed_scripts"].append(bench.name)
        for wanted in bench.figures:
            value = figure(data, wanted.key)
            peer_value = figure(data, wanted.peer_key) if wanted.peer_key else None
            summary["figures"].append(
                {
                    "benchmark": bench.name,
                    "figure": wanted.key,
                    "value": value,
                    "unit": wanted.unit,
                    "target": wanted.target,
                    "pass": value is not None and (wanted.target is None or value <= wanted.target),
                    "peer": wanted.peer,
                    "peer_value": peer_value,
                }
            )
    summary["seconds"] = round(time.monotonic() - started, 1)
    (BENCH / "results.json").write_text(
        json.dumps(summary, indent=2, ensure_ascii=False) + "\n",
        encoding="utf-8",
    )
    print(f"\n{table(summary['figures'])}\n")
    print(f"{summary['seconds'] / 60:.1f} min; written to {BENCH / 'results.json'}")
    if summary["failed_scripts"]:
        print("scripts that failed without figures: " + ", ".join(summary["failed_scripts"]))
    if args.readme:
        write_readme(summary)
        print(f"table written into {README}")
    return 0 if all(row["pass"] for row in summary["figures"]) and not summary["failed_scripts"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
