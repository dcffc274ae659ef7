"""Notice sending: one version to 500 recipients through a local SMTP server (aiosmtpd, STARTTLS + AUTH).

For several rounds, into a fresh store each time: ``notices.send.queue`` (resolve the list, build,
commit notice + version + outbox) and ``send_version`` (one connection, chunks of 100), timed from
the queue call to the server having every recipient. Once more against a server that caps
recipients at 50 per message. Reports medians; prints them and writes JSON.

    .venv/bin/python bench/notice_send.py [--recipients 500] [--rounds 5]
        [--json bench/results/notice_send.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from coordinator_tui.config import SmtpSection  # noqa: E402
from coordinator_tui.notices import recipients, send  # noqa: E402
from coordinator_tui.notices.compose import NoticeDraft  # noqa: E402
from store.engine import open_store, url_for_path  # noqa: E402
from store.models import ListMember, MailingList, Person  # noqa: E402
from tests.support.dovecot import generate_tls_files  # noqa: E402
from tests.support.smtp import SMTP_PASSWORD, SMTP_USER, SmtpServer  # noqa: E402

TARGET_S = 2.0
FROM = "omaolo@pohde.example.fi"


def one_round(directory: Path, server: SmtpServer, count: int, cap: int | None) -> dict[str, float]:
    store = open_store(url_for_path(directory / "store.sqlite"))
    try:
        with store.session() as session:
            listing = MailingList(name="Kaikki")
            session.add(listing)
            session.flush()
            for number in range(count):
                person = Person(name=f"Vastuukäyttäjä {number}", email=f"v{number:04d}@verkosto.example.fi")
                session.add(person)
                session.flush()
                session.add(ListMember(list_id=listing.id, person_id=person.id))
        draft = NoticeDraft(
            services=["työjonolähetys"],
            start_at=datetime.now(UTC),
            impact="Oirearviot eivät siirry työjonoihin.",
            instructions="Ohjatkaa asiakkaat Päivystysapuun 116117.",
            contact=FROM,
            text_sv="Störning i arbetskön.",
        )
        section = SmtpSection(
            host=server.host,
            port=server.port,
            security="starttls",
            username=SMTP_USER,
            from_address=FROM,
            ca_file=str(server.ca_file),
        )
        server.clear()
        server.max_recipients = cap
        started = time.perf_counter()
        queued, _built = send.queue(
            store, None, draft, recipients.Choice(lists=["Kaikki"]), from_address=FROM
        )
        queued_at = time.perf_counter()
        result = send.send_version(store, queued.version_id, section, SMTP_PASSWORD)
        sent_at = time.perf_counter()
        got = sum(len(message.rcpt_tos) for message in server.messages)
        if result.state != "sent" or got != count:
            raise SystemExit(f"not every recipient got it: {result.state} {got}/{count} {result.error}")
        return {
            "queue_s": queued_at - started,
            "send_s": sent_at - queued_at,
            "total_s": sent_at - started,
            "messages": result.messages,
        }
    finally:
        store.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--recipients", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "notice_send.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        base = Path(scratch)
        tls = generate_tls_files(base / "tls")
        rounds: dict[str, list[dict[str, float]]] = {"uncapped": [], "capped_50": []}
        with SmtpServer(tls) as server:
            for number in range(args.rounds):
                for name, cap in (("uncapped", None), ("capped_50", 50)):
                    folder = base / f"{name}-{number}"
                    folder.mkdir()
                    rounds[name].append(one_round(folder, server, args.recipients, cap))
    result: dict[str, object] = {
        "recipients": args.recipients,
        "rounds": args.rounds,
        "machine": f"{platform.machine()} {platform.system()}, Python {platform.python_version()}",
        "target_total_s": TARGET_S,
    }
    for name, figures in rounds.items():
        for key in ("queue_s", "send_s", "total_s"):
            result[f"{name}_{key}_median"] = round(statistics.median(f[key] for f in figures), 3)
        result[f"{name}_messages"] = figures[0]["messages"]
    for key, value in result.items():
        print(f"{key:32} {value}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"written to {args.json}")


if __name__ == "__main__":
    main()
