"""SIGKILL fault trials: a store migration, a directory CSV import confirm, an IMAP sync and a notice
batch send, >= 50 seeded kills each.

Each trial starts the step as `coordinator-tui` runs it (a subprocess: ``open_store`` upgrading a
revision-0001 store with thousands of rows; ``DirectoryService.apply_import`` of a 1,700-row file;
``coordinator-tui sync`` against a private Dovecot whose mailbox changes between trials;
``coordinator-tui outbox send-due`` sending a notice to 300 people in batches of 20 to aiosmtpd),
SIGKILLs it at a random moment, then checks SQLite's and FTS5's integrity, every backup left beside
the store, that the next run completes, and that the result is exactly what is expected: nothing
lost, nothing twice, the store equal to the IMAP server, no notice re-sent silently (an interrupted
batch "unknown", each recipient at most once at the SMTP server, every recipient accounted for).
The servers are started once per case and reused. The trial code is shared with
tests/integration/test_kill_trials.py (tests/support/killtrials.py), which runs a few of them in CI.

    .venv/bin/python bench/faults.py [--trials N] [--min-killed 50] [--seed 20261126]
        [--cases migration,csv_import,imap_sync,notice_send]
        [--json bench/results/faults.json]

Without --trials each case runs its own default (TRIALS: enough to kill >= 50 at its kill rate).
"""

from __future__ import annotations

import argparse
import json
import logging
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

# Trials per case: the migration is killed nearly every time, the import finishes first in about one
# trial in eight, an incremental sync about one in ten, the send is killed by its progress.
TRIALS = {"migration": 66, "csv_import": 68, "imap_sync": 60, "notice_send": 60}
TARGET_TOTAL_S = 480.0  # all four cases (issue 9: a full fault run stays a few minutes)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--trials", type=int, default=None, help="trials per case (some finish before the kill)"
    )
    parser.add_argument("--min-killed", type=int, default=50, help="trials per case that must be killed")
    parser.add_argument("--seed", type=int, default=20261126)
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "faults.json")
    options = parser.parse_args()
    # aiosmtpd logs each login's deprecation note, and a client killed mid-STARTTLS as an exception.
    logging.getLogger("mail.log").setLevel(logging.CRITICAL)

    results: dict[str, object] = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": f"{platform.node()} {platform.machine()} {os.cpu_count()} CPUs",
        "load_at_start": round(os.getloadavg()[0], 1),
        "seed": options.seed,
        "cases": {},
    }
    failed = 0
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="coordinator-faults-") as workdir:
        for case in options.cases.split(","):
            folder = Path(workdir) / case
            folder.mkdir()
            began = time.monotonic()
            trials = run_trials(case, options.trials or TRIALS.get(case, 70), options.seed, folder)
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
                f"{case:<12} trials {len(trials):>3}  killed {sum(t.killed for t in trials):>3}  "
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
                "load_at_end": round(os.getloadavg()[0], 1),
                "details": as_json(trials),
            }
    total = time.monotonic() - started
    results["seconds_total"] = round(total, 1)
    results["targets"] = {
        "failed": 0,
        "killed_per_case_min": options.min_killed,
        "seconds_total": TARGET_TOTAL_S,
    }
    every_case = set(options.cases.split(",")) >= set(CASES)  # the time target is for all four
    results["meets_targets"] = failed == 0 and (total <= TARGET_TOTAL_S or not every_case)
    results["load_at_end"] = round(os.getloadavg()[0], 1)
    results["pass"] = failed == 0
    print(
        f"total {total:.0f} s (target <= {TARGET_TOTAL_S:.0f} s for all four), load {os.getloadavg()[0]:.1f}"
    )
    options.json.parent.mkdir(parents=True, exist_ok=True)
    options.json.write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
    print(f"{'all trials passed' if failed == 0 else f'{failed} trials FAILED'}; written {options.json}")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
