"""The store knows SQL and nothing else: checked at run time in a clean interpreter and by import-linter."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import store

PROJECT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"

# Modules the store must never pull in, even indirectly: the UI, the app, and the network clients.
FORBIDDEN_AT_RUN_TIME = ("textual", "rich", "coordinator_tui", "imapclient", "feedparser", "httpx", "keyring")
# Stdlib network clients, by exact name: sqlalchemy itself loads socket, ssl and urllib.parse.
FORBIDDEN_STDLIB = ("smtplib", "urllib.request", "http.client", "imaplib")
NAMED_STORE_MODULES = ("store.engine", "store.migrate", "store.search", "store.models", "store.errors")


def store_modules() -> list[str]:
    """Every module of the store package, except Alembic's environment and revisions, which
    only make sense while Alembic runs them."""
    found = {
        f"store.{path.relative_to(Path(store.__file__).parent).with_suffix('').as_posix().replace('/', '.')}"
        for path in Path(store.__file__).parent.rglob("*.py")
        if path.name != "__init__.py"
    }
    return sorted(name for name in found if not name.startswith("store.migrations"))


def test_store_modules_are_found() -> None:
    assert set(NAMED_STORE_MODULES) <= set(store_modules())


def test_store_imports_no_ui_no_app_no_network_client() -> None:
    modules = store_modules()
    code = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120, cwd=PROJECT
    )
    loaded = set(json.loads(result.stdout))
    assert set(modules) <= loaded
    assert "sqlmodel" in loaded  # the imports really happened
    offending = sorted(
        name for name in loaded if name.split(".")[0] in FORBIDDEN_AT_RUN_TIME or name in FORBIDDEN_STDLIB
    )
    assert offending == []


def run_lint_imports(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", *args], capture_output=True, text=True, timeout=300, cwd=PROJECT
    )


def test_lint_imports_passes() -> None:
    result = run_lint_imports()
    assert result.returncode == 0, result.stdout + result.stderr


def store_contract_config(tmp_path: Path, *extra_forbidden: str) -> Path:
    """The project's own store contract, runnable today: external packages included, and
    dotted names of external packages (which import-linter refuses) left out."""
    settings = tomllib.loads((PROJECT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    roots = settings["root_packages"]
    (contract,) = (c for c in settings["contracts"] if c["source_modules"] == ["store"])
    forbidden = [
        name for name in contract["forbidden_modules"] if "." not in name or name.split(".")[0] in roots
    ]
    forbidden += extra_forbidden
    lines = [
        "[tool.importlinter]",
        f"root_packages = {json.dumps(roots)}",
        "include_external_packages = true",
        "",
        "[[tool.importlinter.contracts]]",
        f"name = {json.dumps(contract['name'])}",
        'type = "forbidden"',
        'source_modules = ["store"]',
        f"forbidden_modules = {json.dumps(forbidden)}",
        f"allow_indirect_imports = {str(contract.get('allow_indirect_imports', False)).lower()}",
    ]
    path = tmp_path / "importlinter.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_store_contract_is_kept(tmp_path: Path) -> None:
    result = run_lint_imports(str(store_contract_config(tmp_path)))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


def test_store_contract_check_catches_a_forbidden_import(tmp_path: Path) -> None:
    # The same check with a module the store does import directly must fail, or it checks nothing.
    result = run_lint_imports(str(store_contract_config(tmp_path, "sqlite3")))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "store.engine -> sqlite3" in result.stdout
