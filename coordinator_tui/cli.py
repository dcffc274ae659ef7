"""The command line: run the app, demo, init, login, doctor, sync, feeds, export.

Imports are made inside the commands: `coordinator-tui --version` and `doctor` should not pay
for Textual, and the app should not pay for Alembic.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import sys
import time
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Literal, cast

from coordinator_tui import APP_NAME, __version__

if TYPE_CHECKING:
    from collections.abc import Callable

    from coordinator_tui.config import Config, ImapSection, ServerSection
    from coordinator_tui.oauth2 import TokenSource
    from coordinator_tui.quickconfig import QuickSettings
    from store.engine import Store
    from store.errors import StoreError

log = logging.getLogger("coordinator_tui.cli")
EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=APP_NAME,
        description="The Omaolo coordinator's terminal app: mail, requests, notices, feeds, onboarding.",
    )
    parser.add_argument("--version", action="version", version=f"{APP_NAME} {__version__}")
    parser.add_argument("--config", metavar="PATH", help="config file (default: the user config dir)")
    parser.add_argument("--lang", choices=["fi", "en"], help="language of the user interface")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = commands.add_parser("demo", help="run the app on bundled demo data (no network, no accounts)")
    demo.add_argument("--store", metavar="PATH", help="keep the demo store in this file")
    demo.add_argument("--build-only", action="store_true", help="build the demo store and exit")
    demo.add_argument("--seed", type=int, default=2026, help=argparse.SUPPRESS)

    init = commands.add_parser("init", help="write a commented example config")
    init.add_argument("--force", action="store_true", help="overwrite an existing config file")

    login = commands.add_parser("login", help="store a password in the system keyring")
    login.add_argument("service", choices=["imap", "smtp"])

    commands.add_parser("doctor", help="check the config, keyring and store; exit 1 on a failure")

    sync = commands.add_parser("sync", help="sync the shared mailbox once, headless (for cron)")
    sync.add_argument("--json", action="store_true", help="print the result per folder as JSON")

    feeds = commands.add_parser("feeds", help="newsletter feeds: refresh headless, OPML import and export")
    feed_commands = feeds.add_subparsers(dest="feeds_command", metavar="ACTION", required=True)
    refresh = feed_commands.add_parser(
        "refresh", help="fetch every feed once; exit 0 all refreshed, 1 some failed, 2 config error"
    )
    refresh.add_argument("--json", action="store_true", help="print the result per feed as JSON")
    import_opml = feed_commands.add_parser("import-opml", help="follow the feeds listed in an OPML file")
    import_opml.add_argument("file", metavar="FILE", help="an OPML file (e.g. exported from another reader)")
    export_opml = feed_commands.add_parser("export-opml", help="write the followed feeds as OPML")
    export_opml.add_argument("--out", metavar="PATH", help="write to this file (default: standard output)")

    outbox = commands.add_parser("outbox", help="the outbox: send what is due (for cron)")
    outbox_commands = outbox.add_subparsers(dest="outbox_command", metavar="ACTION", required=True)
    send_due = outbox_commands.add_parser(
        "send-due", help="send the notice versions whose time has come; exit 1 if any did not go"
    )
    send_due.add_argument("--json", action="store_true", help="print the result per version as JSON")

    export = commands.add_parser("export", help="export data for the cooperation meetings (CSV or JSON)")
    what = export.add_subparsers(dest="what", metavar="WHAT", required=True)
    requests = what.add_parser(
        "requests",
        help="one row or object per service request; CSV opens in Excel set to Finnish",
    )
    requests.add_argument("--format", choices=["csv", "json"], default="csv", help="csv (default) or json")
    requests.add_argument("--unit", metavar="NAME", help="only this unit's requests (its name or number)")
    requests.add_argument(
        "--since",
        metavar="DATE",
        help="only requests created on or after DATE (2026-01-31 or 31.1.2026)",
    )
    requests.add_argument("--out", metavar="PATH", help="write to this file (default: standard output)")
    people = what.add_parser("people", help="every person of the directory as CSV, for the yearly review")
    people.add_argument(
        "--output", "--out", metavar="PATH", help="write to this file (default: standard output)"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    os.umask(0o077)  # every file this app writes (store, logs, exports) is the user's alone
    # We use no pydantic plugins; looking for them reads every installed package's metadata.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    args = build_parser().parse_args(argv)
    from coordinator_tui.i18n import set_language
    from coordinator_tui.locations import config_path
    from coordinator_tui.logs import setup_logging
    from coordinator_tui.quickconfig import (
        QuickSettings,
        quick_settings,
        quick_sync_settings,
        remember_valid,
    )

    path, named = config_path(args.config)
    if args.command is None and (quick := quick_settings(path)) is not None:
        # The same file was validated before: start without waiting for pydantic.
        set_language(args.lang or quick.language)  # type: ignore[arg-type]
        setup_logging()
        log.info("%s %s starting the app (config validated before: %s)", APP_NAME, __version__, path)
        return run_app(quick, partial(_load_config_or_raise, path, named))
    if args.command == "sync" and (headless := quick_sync_settings(path)) is not None:
        # Likewise for cron's sync every few minutes: pydantic was a third of a no-change sync.
        quick, imap = headless
        set_language(args.lang or quick.language)  # type: ignore[arg-type]
        setup_logging()
        log.info("%s %s: sync (config validated before: %s)", APP_NAME, __version__, path)
        return sync_once(args, cast("ImapSection", imap), quick.store_url, path)

    from coordinator_tui.config import ConfigError, load_config_and_bytes

    try:
        # `init` writes the config, so a named file that does not exist yet is what it expects.
        config, data = load_config_and_bytes(path, must_exist=named and args.command != "init")
    except ConfigError as error:
        print(error.message(), file=sys.stderr)
        return EXIT_USAGE
    remember_valid(data, config)
    set_language(args.lang or config.ui.language)
    setup_logging()
    log.info("%s %s: %s (config %s)", APP_NAME, __version__, args.command or "app", path)
    if args.command is None:
        return run_app(QuickSettings.from_config(config), lambda: config)
    handlers = {
        "demo": run_demo,
        "init": run_init,
        "login": run_login,
        "doctor": run_doctor,
        "sync": run_sync,
        "export": run_export,
        "feeds": run_feeds,
        "outbox": run_outbox,
    }
    return handlers[args.command](args, config, path)


def _load_config_or_raise(path: Path, named: bool) -> Config:
    from coordinator_tui.config import load_config

    return load_config(path, must_exist=named)


def store_url(configured: str) -> str:
    from coordinator_tui.locations import default_store_path
    from store.engine import url_for_path

    return configured or url_for_path(default_store_path())


def store_label(store: Store | None, url: str) -> str:
    if store is not None and store.path is not None:
        return str(store.path)
    return url.split("@")[-1]  # never show a password that a URL may carry


def open_or_error(url: str) -> tuple[Store | None, StoreError | None]:
    from store.engine import open_store
    from store.errors import StoreError

    try:
        return open_store(url), None
    except StoreError as error:
        return None, error


def print_store_error(error: StoreError) -> None:
    print(f"{error.what}\n{error.todo}".strip(), file=sys.stderr)


def run_app(settings: QuickSettings, config_loader: Callable[[], Config]) -> int:
    # Importing Textual and building the first screen makes objects that all live on, yet the
    # collector walked them ~100 times before the first frame (30-40 ms of it; first paint 0.591 →
    # 0.567 s, medians of 20 paired runs). The app turns it back on once that frame is painted
    # (CoordinatorApp.on_mount); the finally covers an app that never paints.
    gc.disable()
    try:
        return _run_app(settings, config_loader)
    finally:
        gc.enable()


def _run_app(settings: QuickSettings, config_loader: Callable[[], Config]) -> int:
    url = store_url(settings.store_url)
    store, error = open_or_error(url)
    from coordinator_tui.app import AppContext, CoordinatorApp

    context = AppContext(
        settings=settings,
        store=store,
        store_label=store_label(store, url),
        store_error=error,
        imports_done_at=time.time(),
        config_loader=config_loader,
    )
    result = CoordinatorApp(context).run()
    if error is not None:
        return EXIT_FAILURE
    return result or EXIT_OK


def run_demo(args: argparse.Namespace, config: Config, path: Path) -> int:
    import shutil
    import tempfile

    from coordinator_tui.config import ImapSection, SmtpSection
    from coordinator_tui.demo import build_demo_store
    from store.engine import open_store, url_for_path
    from store.errors import StoreError

    if args.store:
        store_path = Path(args.store).expanduser().resolve()
    else:
        store_path = Path(tempfile.mkdtemp(prefix="coordinator-tui-demo-")) / "demo.sqlite"
    is_new = not store_path.exists() or store_path.stat().st_size == 0
    try:
        store = open_store(url_for_path(store_path))
        if is_new:
            started = time.perf_counter()
            summary = build_demo_store(store, seed=args.seed)
            if args.build_only:
                print(f"Demo store built in {time.perf_counter() - started:.1f} s: {store_path}")
                print(summary.describe())
    except StoreError as error:
        print_store_error(error)
        return EXIT_FAILURE
    if args.build_only:
        if not is_new:
            print(f"Demo store already exists, left as it was: {store_path}")
        return EXIT_OK
    # The demo never touches the user's store or servers: only the look and language carry over.
    demo_config = config.model_copy(
        update={
            "store": config.store.model_copy(update={"url": ""}),
            "imap": ImapSection(),
            "smtp": SmtpSection(),
        }
    )
    from coordinator_tui.app import AppContext, CoordinatorApp
    from coordinator_tui.quickconfig import QuickSettings

    context = AppContext(
        settings=QuickSettings.from_config(demo_config),
        store=store,
        store_label=str(store_path),
        demo=True,
        config_loader=lambda: demo_config,
    )
    try:
        return CoordinatorApp(context).run() or EXIT_OK
    finally:
        if not args.store:  # a throw-away demo leaves nothing behind
            store.dispose()
            shutil.rmtree(store_path.parent, ignore_errors=True)


def run_init(args: argparse.Namespace, _config: Config, path: Path) -> int:
    from coordinator_tui.config import EXAMPLE_CONFIG

    if path.exists() and not args.force:
        print(f"{path} exists already; nothing was written. Use --force to overwrite it.", file=sys.stderr)
        return EXIT_FAILURE
    from coordinator_tui.mail.canned import canned_dir, write_defaults

    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        path.write_text(EXAMPLE_CONFIG, encoding="utf-8")
    except OSError as error:
        print(f"Cannot write {path}: {error.strerror}.", file=sys.stderr)
        return EXIT_FAILURE
    print(f"Wrote an example config to {path}. Edit [imap] and [smtp], then run `{APP_NAME} doctor`.")
    try:
        written = write_defaults()  # never overwrites a reply the user has edited
    except OSError as error:
        print(f"Cannot write the canned replies to {canned_dir()}: {error.strerror}.", file=sys.stderr)
        return EXIT_FAILURE
    if written:
        count = len(written)
        print(f"Wrote {count} canned replies (Finnish and Swedish) to {canned_dir()}: edit them freely.")
    return EXIT_OK


def run_login(args: argparse.Namespace, config: Config, path: Path) -> int:
    import getpass

    from coordinator_tui.secrets import store_password

    section = config.imap if args.service == "imap" else config.smtp
    if not section.username:
        print(
            f"Set [{args.service}] username in {path} first; the password is stored for that user.",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if section.auth == "oauth2":
        return run_oauth2_login(args.service, section)
    if not sys.stdin.isatty():
        print("login needs a terminal to ask for the password.", file=sys.stderr)
        return EXIT_USAGE
    password = getpass.getpass(f"{args.service.upper()} password for {section.username}: ")
    if not password:
        print("No password given; nothing was stored.", file=sys.stderr)
        return EXIT_FAILURE
    try:
        store_password(args.service, section.username, password)
    except RuntimeError as error:
        print(str(error), file=sys.stderr)
        return EXIT_FAILURE
    log.info("stored the %s password for %s in the keyring", args.service, section.username)
    print(f"Stored the {args.service.upper()} password for {section.username} in the system keyring.")
    return EXIT_OK


def _no_credential(kind: Literal["imap", "smtp"], section: ServerSection) -> str:
    if section.auth == "oauth2":
        return (
            f"Not signed in to {kind.upper()} as {section.username}: run `coordinator-tui login {kind}` "
            "(a code to enter in a browser on any device)."
        )
    return (
        f"No {kind.upper()} password: set COORDINATOR_TUI_{kind.upper()}_PASSWORD, or run "
        f"`coordinator-tui login {kind}` to keep it in the keyring."
    )


def run_oauth2_login(kind: Literal["imap", "smtp"], section: ServerSection) -> int:
    """The device sign-in: the URL and code on the terminal, the user signs in on any device, the
    refresh token goes to the keyring; then a login to the server proves it works."""
    from coordinator_tui.oauth2 import (
        IdentityUnavailable,
        OAuth2Settings,
        OAuth2TokenSource,
        SignInRequired,
        finish_device_sign_in,
        start_device_sign_in,
    )
    from coordinator_tui.secrets import keyring_available

    available, why = keyring_available()
    if not available:
        print(
            f"No keyring ({why}): a sign-in could not be kept for later runs. Install and unlock a "
            "keyring (e.g. gnome-keyring, or keyrings.alt for a headless machine), then try again.",
            file=sys.stderr,
        )
        return EXIT_FAILURE
    settings = OAuth2Settings.from_section(kind, section)
    try:
        device = start_device_sign_in(settings)
        print(f"To sign in to {kind.upper()} as {settings.account}, open {device.verification_uri}")
        print(f"on any device and enter the code:  {device.user_code}")
        print("Waiting for the sign-in (ctrl+c to stop) …", flush=True)
        access = finish_device_sign_in(settings, device)
    except (SignInRequired, IdentityUnavailable) as error:
        print(f"{error.what}\n{error.todo}".strip(), file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        print("Stopped; nothing was stored.", file=sys.stderr)
        return EXIT_FAILURE
    log.info("signed in to %s by device code; refresh token kept in the %s", kind, access.where)
    until = access.expires_at.astimezone().strftime("%d.%m.%Y %H.%M")
    print(f"Signed in. The sign-in is kept in the system keyring; this access token is valid until {until}.")
    if not section.host:
        return EXIT_OK
    source = OAuth2TokenSource(settings, initial=access)
    from coordinator_tui.doctor import server_login_problem

    problem = server_login_problem(kind, section, source)
    if problem:
        print(f"But the {kind.upper()} server did not accept it: {problem}", file=sys.stderr)
        return EXIT_FAILURE
    print(f"The {kind.upper()} server {section.host} accepts it (as {source.user}).")
    return EXIT_OK


def run_doctor(args: argparse.Namespace, config: Config, path: Path) -> int:
    from coordinator_tui.doctor import print_report, run_checks

    checks = run_checks(config, path, store_url(config.store.url))
    print_report(checks)
    return EXIT_FAILURE if any(check.status == "fail" for check in checks) else EXIT_OK


def run_outbox(args: argparse.Namespace, config: Config, path: Path) -> int:
    """`outbox send-due`: the notice versions scheduled for now or earlier, sent once each."""
    import getpass
    import json

    from coordinator_tui.notices.send import send_due
    from coordinator_tui.outgoing import recover_interrupted
    from coordinator_tui.secrets import resolve_credential
    from store.engine import open_store
    from store.errors import StoreError

    smtp = config.smtp
    if not smtp.host or not smtp.username or not smtp.from_address:
        print(f"Set [smtp] host, username and from_address in {path} first.", file=sys.stderr)
        return EXIT_USAGE
    prompt = getpass.getpass if sys.stdin.isatty() else None
    secret = resolve_credential("smtp", smtp, prompt=prompt)
    if secret is None:
        print(_no_credential("smtp", smtp), file=sys.stderr)
        return EXIT_USAGE
    imap_password: str | TokenSource = ""
    if config.imap.host and config.imap.username:  # for the copy in Sent; sending works without it
        imap_secret = resolve_credential("imap", config.imap, prompt=None)
        imap_password = imap_secret.value if imap_secret is not None else ""
    notices = config.notices
    try:
        store = open_store(store_url(config.store.url))
        interrupted = recover_interrupted(store)  # a crash's "sending" rows: never sent again
        results = send_due(
            store,
            smtp,
            secret.value,
            imap=config.imap if imap_password else None,
            imap_password=imap_password,
            atom_path=Path(notices.atom_path).expanduser() if notices.atom_path else None,
            max_per_message=notices.max_recipients_per_message,
            backoff=notices.retry_backoff_seconds,
        )
    except StoreError as error:
        print(f"{error.what}\n{error.todo}".strip(), file=sys.stderr)
        return EXIT_FAILURE
    if interrupted:
        print(
            f"{interrupted} message(s) were being sent when a program stopped: see the outbox.",
            file=sys.stderr,
        )
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "version_id": result.version_id,
                        "message_id": result.message_id,
                        "state": result.state,
                        "accepted": len(result.accepted),
                        "refused": len(result.refused),
                        "deferred": len(result.deferred),
                        "unknown": len(result.unknown),
                        "waiting": len(result.waiting),
                        "error": result.error,
                    }
                    for result in results
                ],
                ensure_ascii=False,
            )
        )
    else:
        if not results:
            print("Nothing is due.")
        for result in results:
            print(
                f"version {result.version_id}: {result.state}, {len(result.accepted)} accepted, "
                f"{len(result.refused)} refused, {len(result.waiting) + len(result.deferred)} waiting"
                + (f" — {result.error}" if result.error else "")
            )
    return EXIT_OK if all(result.state == "sent" for result in results) else EXIT_FAILURE


def run_sync(args: argparse.Namespace, config: Config, path: Path) -> int:
    return sync_once(args, config.imap, config.store.url, path)


def sync_once(args: argparse.Namespace, section: ImapSection, store_setting: str, path: Path) -> int:
    """One full sync of the mailbox; a summary (or --json) on stdout; exit 1 on any failure.

    ``section`` may be the quick path's view of a validated [imap] section (see quickconfig).
    """
    import getpass
    import json

    from coordinator_tui.mail.imap import ImapError
    from coordinator_tui.mail.sync import sync_account
    from coordinator_tui.secrets import resolve_credential
    from store.engine import open_store
    from store.errors import StoreError

    if not section.host or not section.username:
        print(f"Set [imap] host and username in {path} first.", file=sys.stderr)
        return EXIT_USAGE
    prompt = getpass.getpass if sys.stdin.isatty() else None
    secret = resolve_credential("imap", section, prompt=prompt)
    if secret is None:
        print(_no_credential("imap", section), file=sys.stderr)
        return EXIT_USAGE
    try:
        store = open_store(store_url(store_setting))
        report = sync_account(store, section, secret.value)
    except (ImapError, StoreError) as error:
        print(f"{error.what}\n{error.todo}".strip(), file=sys.stderr)
        return EXIT_FAILURE
    log.info("sync: %d folders in %.1f s, ok=%s", len(report.folders), report.seconds, report.ok)
    if args.json:
        folders = [
            {
                "folder": folder.name,
                "role": folder.role,
                "messages": folder.in_store,
                "new": folder.new,
                "changed": folder.changed,
                "removed": folder.removed,
                "seconds": round(folder.seconds, 3),
                "error": folder.error,
            }
            for folder in report.folders
        ]
        print(json.dumps({"ok": report.ok, "seconds": round(report.seconds, 3), "folders": folders}))
    else:
        for folder in report.folders:
            state = f"error: {folder.error}" if folder.error else "ok"
            print(
                f"{folder.name:<20} {folder.in_store:>7} messages  +{folder.new} ~{folder.changed} "
                f"-{folder.removed}  {folder.seconds:.2f} s  {state}"
            )
    return EXIT_OK if report.ok else EXIT_FAILURE


def run_export(args: argparse.Namespace, config: Config, path: Path) -> int:
    """``export requests``: the whole file or nothing; exit 1 when blocked or the store fails."""
    if args.what == "people":
        from coordinator_tui.directory.csvexport import run_command

        return run_command(args.output, store_url(config.store.url))
    from datetime import datetime, time
    from zoneinfo import ZoneInfo

    from coordinator_tui.requests.export import ExportBlocked, export, parse_since
    from store.engine import open_store
    from store.errors import StoreError
    from store.requests import export_rows, unit_id_by_name

    since = None
    if args.since:
        try:
            day = parse_since(args.since)
        except ValueError as error:
            print(f"--since: {error}", file=sys.stderr)
            return EXIT_USAGE
        since = datetime.combine(day, time(0), tzinfo=ZoneInfo(config.requests.time_zone))
    out = Path(args.out).expanduser() if args.out and args.out != "-" else None
    if out is not None and not out.parent.is_dir():
        print(f"Cannot write {out}: the directory {out.parent} does not exist.", file=sys.stderr)
        return EXIT_USAGE
    try:
        store = open_store(store_url(config.store.url))
        unit_id = None
        if args.unit:
            unit_id = unit_id_by_name(store, args.unit)
            if unit_id is None:
                print(
                    f"There is no unit {args.unit!r} in the store; give its name as the Network screen "
                    "shows it, or its number.",
                    file=sys.stderr,
                )
                return EXIT_USAGE
        summary = export(export_rows(store, unit_id=unit_id, since=since), args.format, out)
    except ExportBlocked as error:
        print(str(error), file=sys.stderr)
        return EXIT_FAILURE
    except StoreError as error:
        print_store_error(error)
        return EXIT_FAILURE
    except OSError as error:
        print(f"Cannot write {out or 'the output'}: {error.strerror}.", file=sys.stderr)
        return EXIT_FAILURE
    log.info("exported %d requests as %s", summary.rows, args.format)
    if out is not None:
        print(f"Exported {summary.rows} requests to {out}.", file=sys.stderr)
    return EXIT_OK


def run_feeds(args: argparse.Namespace, config: Config, path: Path) -> int:
    """``feeds refresh|import-opml|export-opml``; the [[feeds]] of the config are followed first."""
    from store.engine import open_store
    from store.errors import StoreError
    from store.feeds import sync_config_feeds

    try:
        store = open_store(store_url(config.store.url))
        sync_config_feeds(store, [(entry.name, entry.url) for entry in config.feeds])
        if args.feeds_command == "refresh":
            return _feeds_refresh(store, as_json=args.json)
        if args.feeds_command == "import-opml":
            return _feeds_import(store, Path(args.file).expanduser())
        return _feeds_export(store, args.out)
    except StoreError as error:
        print_store_error(error)
        return EXIT_FAILURE


def _feeds_refresh(store: Store, *, as_json: bool) -> int:
    import json

    from coordinator_tui.feeds.refresh import refresh_all
    from coordinator_tui.textclean import clean_line

    report = refresh_all(store)
    if as_json:
        print(
            json.dumps(
                {
                    "ok": report.ok,
                    "seconds": round(report.seconds, 3),
                    "new_items": report.new_items,
                    "feeds": [outcome.as_json() for outcome in report.feeds],
                },
                ensure_ascii=False,
            )
        )
    else:
        if not report.feeds:
            print("No feeds: add [[feeds]] tables to the config or run `feeds import-opml FILE`.")
        for outcome in report.feeds:
            if outcome.status == "ok":
                state = f"+{outcome.new_items} new of {outcome.items}"
            elif outcome.status == "not_modified":
                state = "not modified"
            else:
                state = f"{outcome.status}: {outcome.error}"
            if outcome.warning:
                state += f" (warning: {outcome.warning})"
            print(f"{clean_line(outcome.name, 40):<40} {clean_line(state)}")
    return EXIT_OK if report.ok else EXIT_FAILURE


def _feeds_import(store: Store, file: Path) -> int:
    from coordinator_tui.feeds.opml import OpmlError, parse_opml
    from store.feeds import add_feed, list_feeds

    try:
        feeds = parse_opml(file.read_bytes())
    except OSError as error:
        print(f"Cannot read {file}: {error.strerror}.", file=sys.stderr)
        return EXIT_USAGE
    except OpmlError as error:
        print(f"{file}: {error}", file=sys.stderr)
        return EXIT_USAGE
    known = {feed.url for feed in list_feeds(store)}
    added = 0
    for feed in feeds:
        if feed.url not in known:
            add_feed(store, feed.name, feed.url)
            added += 1
    print(f"Imported {added} new feeds ({len(feeds) - added} were followed already) from {file}.")
    return EXIT_OK


def _feeds_export(store: Store, out: str | None) -> int:
    from coordinator_tui.feeds.opml import OpmlExportBlocked, OpmlFeed, build_opml
    from store.feeds import list_feeds

    try:
        data = build_opml([OpmlFeed(feed.name, feed.url) for feed in list_feeds(store)])
    except OpmlExportBlocked as error:
        print(str(error), file=sys.stderr)
        return EXIT_FAILURE
    if not out or out == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return EXIT_OK
    target = Path(out).expanduser()
    try:
        target.write_bytes(data)
    except OSError as error:
        print(f"Cannot write {target}: {error.strerror}.", file=sys.stderr)
        return EXIT_FAILURE
    print(f"Exported the feeds to {target}.", file=sys.stderr)
    return EXIT_OK
