"""After a full run with known passwords, no secret is in the config, the store or a log."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import keyring
import pytest
from keyring.backends import fail

from coordinator_tui import secrets
from coordinator_tui.screens.password import PasswordScreen
from tests.screen import screen_text
from tests.support.terminal import answer_password_prompt

ROOT = Path(__file__).resolve().parents[2]
IMAP_SECRET = "imap-S3cret-ÄÖ-7f1c"
SMTP_SECRET = "smtp-S3cret-åå-91aa"
TYPED_SECRET = "typed-S3cret-42xz"


@pytest.fixture
def no_keyring():  # type: ignore[no-untyped-def]
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    secrets.forget_memory()
    yield
    keyring.set_keyring(previous)
    secrets.forget_memory()


async def test_the_app_asks_once_and_keeps_the_answer_in_memory(demo_store, make_app, no_keyring) -> None:
    app = make_app(demo_store, demo=False)
    results = []
    async with app.run_test(size=(120, 40)) as pilot:
        worker = app.run_worker(
            lambda: results.append(app.password_from_worker("imap", "koordinaattori")), thread=True
        )
        for _ in range(100):
            await pilot.pause(0.02)
            if isinstance(app.screen, PasswordScreen) and "muistissa" in screen_text(app):
                break
        assert isinstance(app.screen, PasswordScreen)
        assert "muistissa vain tämän ajon ajan" in screen_text(app)  # no keyring: the one-line notice
        assert TYPED_SECRET not in screen_text(app)
        await pilot.press(*TYPED_SECRET)
        assert TYPED_SECRET not in screen_text(app)  # a password field shows no letters
        await pilot.press("enter")
        await worker.wait()
        second = await app.run_worker(
            lambda: app.password_from_worker("imap", "koordinaattori"), thread=True
        ).wait()
    assert results[0] is not None and results[0].value == TYPED_SECRET and results[0].source == "prompt"
    assert second is not None and second.source == "memory"  # not asked again this run


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "coordinator_tui", *args],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )


def login_through_a_terminal(config: Path, password: str, env: dict[str, str]) -> str:
    """`coordinator-tui login imap` in a pseudo-terminal, typing the password at its prompt."""
    return answer_password_prompt(
        [sys.executable, "-m", "coordinator_tui", "--config", str(config), "login", "imap"], password, env
    )


def test_no_secret_in_config_store_or_logs_after_a_full_run(tmp_path: Path, private_dirs: Path) -> None:
    store = tmp_path / "store.sqlite"
    config = tmp_path / "config.toml"
    config.write_text(
        f'[store]\nurl = "sqlite:///{store}"\n'
        '[imap]\nhost = "127.0.0.1"\nsecurity = "none"\nusername = "koordinaattori"\n'
        '[smtp]\nhost = "127.0.0.1"\nsecurity = "none"\nusername = "koordinaattori"\n',
        encoding="utf-8",
    )
    env = {
        **os.environ,
        "COORDINATOR_TUI_SMTP_PASSWORD": SMTP_SECRET,
        "PYTHON_KEYRING_BACKEND": "tests.support.memory_keyring.MemoryKeyring",
        "PYTHONPATH": str(ROOT),
    }
    said = login_through_a_terminal(config, IMAP_SECRET, env)
    assert "Stored the IMAP password" in said and IMAP_SECRET not in said
    # doctor logs in with the SMTP password from the environment; no server listens here, so it
    # says so (exit 1). (The IMAP password went to the login process's in-memory keyring.)
    doctor = run_cli("--config", str(config), "doctor", env=env)
    assert doctor.returncode == 1 and "Traceback" not in doctor.stderr
    assert any(line.startswith("FAIL") and "smtp" in line for line in doctor.stdout.splitlines())
    built = run_cli("--config", str(config), "demo", "--build-only", "--store", str(store), env=env)
    assert built.returncode == 0, built.stderr

    logs = list(Path(env["COORDINATOR_TUI_LOG_DIR"]).glob("*.log*"))
    assert logs and all(path.stat().st_size > 0 for path in logs), "the run wrote no log to check"
    files = [config, store, *store.parent.glob("store.sqlite-*"), *logs]
    for path in files:
        data = path.read_bytes()
        for secret in (IMAP_SECRET, SMTP_SECRET):
            assert secret.encode() not in data, f"{secret} found in {path}"
        assert (path.stat().st_mode & 0o077) == 0 or path == config, f"{path} is readable by others"
