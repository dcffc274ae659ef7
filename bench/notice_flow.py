"""Notice flow: the keys from ``n`` on the Notices screen to the sent confirmation, through Pilot.

The app runs headless (Textual's Pilot) on a fresh store with a 500-person list, against a local
SMTP server (aiosmtpd, STARTTLS + AUTH). The flow is the shortest a coordinator types for a new
disruption: ``n``; a service; the notice list (ctrl+g); impact and instructions; ctrl+o; y. Keys
are counted as pressed (a typed character is counted apart, as "characters"); the screens it
passes through are counted too. Also timed: from ``n`` to every recipient accepted (most of it is
Pilot typing the text, a key at a time), and from ``y`` in the confirmation to the table's last row.

    .venv/bin/python bench/notice_flow.py [--rounds 3] [--recipients 500]
        [--json bench/results/notice_flow.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from coordinator_tui import i18n  # noqa: E402
from coordinator_tui.app import AppContext, CoordinatorApp  # noqa: E402
from coordinator_tui.config import Config, SmtpSection  # noqa: E402
from coordinator_tui.quickconfig import QuickSettings  # noqa: E402
from store.engine import open_store, url_for_path  # noqa: E402
from store.models import ListMember, MailingList, Person  # noqa: E402
from tests.support.dovecot import generate_tls_files  # noqa: E402
from tests.support.smtp import SMTP_PASSWORD, SMTP_USER, SmtpServer  # noqa: E402

FROM = "omaolo@pohde.example.fi"
TARGET_KEYS = 12  # "a handful of keys" beyond the text itself
IMPACT = "Oirearviot eivät siirry työjonoihin."
INSTRUCTIONS = "Ohjatkaa asiakkaat Päivystysapuun 116117."


class Counter:
    def __init__(self, pilot: Any) -> None:
        self.pilot = pilot
        self.keys: list[str] = []
        self.characters = 0

    async def press(self, *keys: str) -> None:
        self.keys.extend(keys)
        await self.pilot.press(*keys)

    async def type(self, text: str) -> None:
        self.characters += len(text)
        await self.pilot.press(*("space" if char == " " else char for char in text))


async def until(pilot: Any, condition: Callable[[], bool], timeout: float = 30.0) -> None:
    for _ in range(int(timeout / 0.02)):
        if condition():
            return
        await pilot.pause(0.02)
    raise SystemExit(f"timed out on {type(pilot.app.screen).__name__}")


async def one_round(directory: Path, server: SmtpServer, count: int) -> dict[str, Any]:
    from coordinator_tui.screens.noticecompose import NoticeComposeScreen, RecipientPicker
    from coordinator_tui.screens.notices import NoticesScreen
    from coordinator_tui.screens.noticesend import ConfirmSend, SendProgressScreen

    store = open_store(url_for_path(directory / "store.sqlite"))
    with store.session() as session:
        listing = MailingList(name="Häiriötiedotteet")
        session.add(listing)
        session.flush()
        for number in range(count):
            person = Person(name=f"Vastuukäyttäjä {number}", email=f"v{number:04d}@verkosto.example.fi")
            session.add(person)
            session.flush()
            session.add(ListMember(list_id=listing.id, person_id=person.id))
    config = Config(
        smtp=SmtpSection(
            host=server.host,
            port=server.port,
            security="starttls",
            username=SMTP_USER,
            from_address=FROM,
            from_name="Omaolo-koordinaattori",
            ca_file=str(server.ca_file),
        )
    )
    i18n.set_language("fi")
    app = CoordinatorApp(
        AppContext(
            settings=QuickSettings.from_config(config),
            config_loader=lambda: config,
            store=store,
            store_label="bench",
            clock=lambda: datetime.now(UTC),
        )
    )
    server.clear()
    screens: list[str] = []
    try:
        async with app.run_test(size=(140, 50)) as pilot:
            await pilot.press("4")
            await until(
                pilot, lambda: isinstance(app.screen, NoticesScreen) and app.screen.loaded_at is not None
            )
            keys = Counter(pilot)
            started = time.perf_counter()
            await keys.press("n")
            await until(
                pilot,
                lambda: isinstance(app.screen, NoticeComposeScreen) and app.screen.loaded_at is not None,
            )
            screens.append(type(app.screen).__name__)
            compose = app.screen
            await keys.press("down", "down", "space")  # työjonolähetys
            await keys.press("ctrl+g")
            await until(pilot, lambda: isinstance(app.screen, RecipientPicker))
            screens.append(type(app.screen).__name__)
            await keys.press("down", "space", "enter")  # the notice list
            await until(pilot, lambda: compose.resolution is not None and compose.resolution.count == count)
            await keys.press("tab")
            await keys.type(IMPACT)
            await keys.press("tab")
            await keys.type(INSTRUCTIONS)
            await pilot.pause(0.4)  # the preview is rebuilt 0.2 s after the last key
            if compose.problems:
                raise SystemExit(f"cannot send: {compose.problems}")
            await keys.press("ctrl+o")
            await until(pilot, lambda: isinstance(app.screen, ConfirmSend))
            screens.append(type(app.screen).__name__)
            confirmed = time.perf_counter()
            await keys.press("y")
            await until(pilot, lambda: isinstance(app.screen, SendProgressScreen) and app.screen.finished, 60)
            sending = time.perf_counter() - confirmed
            screens.append(type(app.screen).__name__)
            elapsed = time.perf_counter() - started
            outcome = app.screen.outcome
    finally:
        store.dispose()
    got = sum(len(message.rcpt_tos) for message in server.messages)
    if outcome != "sent" or got != count:
        raise SystemExit(f"not every recipient got it: {outcome} {got}/{count}")
    return {
        "keys": len(keys.keys),
        "key_list": keys.keys,
        "characters": keys.characters,
        "screens": screens,
        "seconds": elapsed,
        "send_seconds": sending,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--recipients", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "notice_flow.json")
    args = parser.parse_args()
    rounds = []
    with tempfile.TemporaryDirectory() as scratch:
        base = Path(scratch)
        for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
            os.environ[name] = str(base / name.lower())
        os.environ["COORDINATOR_TUI_LOG_DIR"] = str(base / "logs")
        os.environ["COORDINATOR_TUI_SMTP_PASSWORD"] = SMTP_PASSWORD
        tls = generate_tls_files(base / "tls")
        with SmtpServer(tls) as server:
            for number in range(args.rounds):
                folder = base / f"round-{number}"
                folder.mkdir()
                rounds.append(asyncio.run(one_round(folder, server, args.recipients)))
    first = rounds[0]
    result: dict[str, object] = {
        "recipients": args.recipients,
        "rounds": args.rounds,
        "machine": f"{platform.machine()} {platform.system()}, Python {platform.python_version()}",
        "keys": first["keys"],
        "keys_pressed": " ".join(first["key_list"]),
        "characters_typed": first["characters"],
        "screens_after_n": " → ".join(first["screens"]),
        "target_keys": TARGET_KEYS,
        "seconds_n_to_sent_median": round(statistics.median(r["seconds"] for r in rounds), 2),
        "seconds_y_to_sent_median": round(statistics.median(r["send_seconds"] for r in rounds), 2),
    }
    for key, value in result.items():
        print(f"{key:28} {value}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"written to {args.json}")


if __name__ == "__main__":
    main()
