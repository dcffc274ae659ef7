"""The directory, onboarding and meeting rules know no Textual (until import-linter's domain contract
names these packages, this test keeps them honest)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
MODULES = (
    "coordinator_tui.directory.validation",
    "coordinator_tui.directory.csvimport",
    "coordinator_tui.directory.csvexport",
    "coordinator_tui.directory.lists",
    "coordinator_tui.directory.service",
    "coordinator_tui.onboarding.templates",
    "coordinator_tui.onboarding.schedule",
    "coordinator_tui.onboarding.service",
    "coordinator_tui.meetings.schedule",
    "coordinator_tui.meetings.record",
    "store.directory",
    "store.onboarding",
    "store.meetings",
)


def test_domain_modules_import_no_textual() -> None:
    code = (
        "import importlib, json, sys\n"
        f"for name in {MODULES!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120, cwd=PROJECT
    )
    loaded = set(json.loads(result.stdout))
    assert set(MODULES) <= loaded
    assert not [
        name
        for name in loaded
        if name.split(".")[0] == "textual" or name.startswith("coordinator_tui.screens")
    ]
