"""SIGKILL fault trials: a store migration and a directory CSV import confirm, >= 50 seeded kills each.

Each trial copies a prepared store, starts the step as `coordinator-tui` runs it (a subprocess:
``open_store`` upgrading a revision-0001 store with thousands of rows; ``DirectoryService.apply_import``
of a 3,200-row file), SIGKILLs it at a random moment, then checks SQLite's and FTS5's integrity, every
backup left beside the store, that the next run completes, and that the rows are exactly those expected
(nothing lost, nothing twice). The trial code is shared with tests/integration/test_kill_trials.py
(tests/support/killtrials.py), which runs a few of them in CI.

    .venv/bin/python bench/faults.py [--trials 70] [--min-killed 50] [--seed 20261126]
        [--cases migration,csv_import]
        [--json bench/results/faults.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.killtrials import CASES, as_json, run_trials  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--trials", type=int, default=70, help="trials per case (some finish before the kill)"
    )
    parser.add_argument("--min-killed", type=int, default=50, help="trials per case that must be killed")
    parser.add_argument("--seed", type=int, default=20261126)
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "faults.json")
    options = parser.parse_args()

    results: dict[str, object] = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": f"{platform.node()} {platform.machine()} {os.cpu_count()} CPUs",
        "load_at_start": round(os.getloadavg()[0], 1),
        "seed": options.seed,
        "cases": {},
    }
    failed = 0
    with tempfile.TemporaryDirectory(prefix="coordinator-faults-") as workdir:
        for case in options.cases.split(","):
            folder = Path(workdir) / case
            folder.mkdir()
            began = time.monotonic()
            trials = run_trials(case, options.trials, options.seed, folder)
            seconds = time.monotonic() - began
            states = Counter(trial.state_after_kill for trial in trials)
            phases = Counter(trial.phase for trial in trials)
            bad = [trial for trial in trials if not trial.ok]
            failed += len(bad)
            killed = sum(trial.killed for trial in trials)
            if killed < options.min_killed:
                failed += 1
                print(f"  too few kills: {killed} < {options.min_killed}; run more --trials")
            print(
                f"{case:<11} trials {len(trials):>3}  killed {sum(t.killed for t in trials):>3}  "
                f"failed {len(bad):>2}  after the kill: {dict(states)}  phases: {dict(phases)}  "
                f"({seconds:.0f} s)"
            )
            for trial in bad:
                print(f"  FAILED #{trial.number} {trial.phase} +{trial.delay}s: {'; '.join(trial.problems)}")
            results["cases"][case] = {  # type: ignore[index]
                "trials": len(trials),
                "killed": killed,
                "failed": len(bad),
                "states_after_kill": dict(states),
                "seconds": round(seconds, 1),
                "details": as_json(trials),
            }
    results["pass"] = failed == 0
    options.json.parent.mkdir(parents=True, exist_ok=True)
    options.json.write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
    print(f"{'all trials passed' if failed == 0 else f'{failed} trials FAILED'}; written {options.json}")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
