"""Start-up: from process start to the first painted frame of the Today screen, on a big store.

Runs `coordinator-tui` in a real pseudo-terminal (120x40) with COORDINATOR_TUI_STARTUP_PROBE set;
the app writes the wall-clock times of its stages and exits after the Today counts are painted.
Peak RSS comes from the kernel (wait4's ru_maxrss). Prints medians and writes JSON.

    .venv/bin/python bench/startup.py [--runs 9] [--store PATH] [--json bench/results/startup.json]
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import platform
import pty
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_STORE = ROOT / "bench" / "results" / "startup-store.sqlite"
TARGET_FIRST_PAINT_S = 0.6
TARGET_PEAK_RSS_MB = 150


def ensure_store(path: Path, messages: int, requests: int, feed_items: int) -> None:
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "make_store.py"),
            "--out",
            str(path),
            "--messages",
            str(messages),
            "--requests",
            str(requests),
            "--feed-items",
            str(feed_items),
        ],
        check=True,
    )


def _drain(fd: int) -> None:
    # The app blocks if nobody reads its terminal; read and discard until it closes.
    while True:
        try:
            if not os.read(fd, 65536):
                return
        except OSError:
            return


def one_run(command: list[str], env: dict[str, str], probe: Path) -> dict[str, float]:
    probe.unlink(missing_ok=True)
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    started = time.time()
    process = subprocess.Popen(
        command, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True
    )
    os.close(slave)
    reader = threading.Thread(target=_drain, args=(master,), daemon=True)
    reader.start()
    try:
        _pid, status, usage = os.wait4(process.pid, 0)
    finally:
        process.returncode = 0
        os.close(master)
    if os.waitstatus_to_exitcode(status) != 0 or not probe.exists():
        raise RuntimeError(f"the app did not finish its start-up probe (status {status})")
    marks = json.loads(probe.read_text())
    return {
        "first_paint_s": marks["first_paint"] - started,
        "counts_painted_s": marks["counts_painted"] - started,
        "imports_s": marks["imports_done"] - started,
        "peak_rss_mb": usage.ru_maxrss / 1024,
    }


def baseline(command: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--store", type=Path, default=DEFAULT_STORE)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--feed-items", type=int, default=10_000)
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "startup.json")
    args = parser.parse_args()

    ensure_store(args.store, args.messages, args.requests, args.feed_items)
    workdir = Path(tempfile.mkdtemp(prefix="bench-startup-"))
    config = workdir / "config.toml"
    config.write_text(f'[store]\nurl = "sqlite:///{args.store}"\n', encoding="utf-8")
    probe = workdir / "probe.json"
    # A user's install has bytecode caches (pip compiles at install, Python writes them on the
    # first run); this machine sets PYTHONDONTWRITEBYTECODE, which would time the compiler instead.
    env = {
        **{key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"},
        "TERM": "xterm-256color",
        "COORDINATOR_TUI_CONFIG": str(config),
        "COORDINATOR_TUI_STARTUP_PROBE": str(probe),
        "COORDINATOR_TUI_LOG_DIR": str(workdir / "logs"),
        "XDG_DATA_HOME": str(workdir / "data"),
    }
    command = [str(Path(sys.executable).with_name("coordinator-tui"))]
    one_run(command, env, probe)  # warm the page cache and the bytecode cache; not counted
    results = [one_run(command, env, probe) for _ in range(args.runs)]

    def median(key: str) -> float:
        return statistics.median(result[key] for result in results)

    first_paint = median("first_paint_s")
    figures = {
        "first_paint_median_s": round(first_paint, 3),
        "first_paint_min_s": round(min(r["first_paint_s"] for r in results), 3),
        "first_paint_max_s": round(max(r["first_paint_s"] for r in results), 3),
        "counts_painted_median_s": round(median("counts_painted_s"), 3),
        "imports_median_s": round(median("imports_s"), 3),
        "import_share_of_first_paint": round(median("imports_s") / first_paint, 2),
        "peak_rss_median_mb": round(median("peak_rss_mb"), 1),
        "python_bare_start_s": round(baseline([sys.executable, "-c", "pass"], 5), 3),
        "python_import_textual_app_s": round(baseline([sys.executable, "-c", "import textual.app"], 5), 3),
    }
    report = {
        "benchmark": "startup",
        "store": {
            "messages": args.messages,
            "requests": args.requests,
            "feed_items": args.feed_items,
            "path": str(args.store),
        },
        "runs": args.runs,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "figures": figures,
        "targets": {"first_paint_median_s": TARGET_FIRST_PAINT_S, "peak_rss_median_mb": TARGET_PEAK_RSS_MB},
        "pass": first_paint <= TARGET_FIRST_PAINT_S and median("peak_rss_mb") <= TARGET_PEAK_RSS_MB,
        "samples": results,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2), encoding="utf-8")
    for key, value in figures.items():
        print(f"{key:32} {value}")
    print(
        f"{'pass':32} {report['pass']}  (targets: first paint <= {TARGET_FIRST_PAINT_S} s, "
        f"peak RSS <= {TARGET_PEAK_RSS_MB} MB)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
