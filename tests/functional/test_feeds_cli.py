"""`coordinator-tui feeds ...` headless: the --json report, exit codes, OPML import and export."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from coordinator_tui.feeds.opml import parse_opml
from tests.support.feedserver import FeedServer, running_feed_server

FIXTURES = Path(__file__).parents[1] / "fixtures" / "feeds"


@pytest.fixture
def server() -> Iterator[FeedServer]:
    yield from running_feed_server()


def feeds_cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "coordinator_tui", "--config", str(config), "feeds", *args],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        stdin=subprocess.DEVNULL,
        timeout=120,
    )


def write_config(tmp_path: Path, feeds: list[tuple[str, str]]) -> Path:
    config = tmp_path / "config.toml"
    text = f'[store]\nurl = "sqlite:///{tmp_path / "store.sqlite"}"\n'
    for name, url in feeds:
        text += f'\n[[feeds]]\nname = "{name}"\nurl = "{url}"\n'
    config.write_text(text, encoding="utf-8")
    return config


def test_refresh_json_reports_every_feed_and_exits_0_when_all_refreshed(
    tmp_path: Path, server: FeedServer
) -> None:
    config = write_config(
        tmp_path,
        [
            ("DigiFinland", server.add("/rss2", body=(FIXTURES / "rss2.xml").read_bytes(), etag='"a"')),
            ("THL", server.add("/atom", body=(FIXTURES / "atom.xml").read_bytes())),
        ],
    )
    first = feeds_cli(config, "refresh", "--json")
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert report["ok"] is True and report["new_items"] == 5
    assert [(f["name"], f["status"], f["new_items"], f["error"]) for f in report["feeds"]] == [
        ("DigiFinland", "ok", 3, ""),
        ("THL", "ok", 2, ""),
    ]
    again = json.loads(feeds_cli(config, "refresh", "--json").stdout)
    assert [(f["status"], f["new_items"]) for f in again["feeds"]] == [("not_modified", 0), ("ok", 0)]


def test_refresh_exits_1_when_some_feeds_fail_and_still_stores_the_others(
    tmp_path: Path, server: FeedServer
) -> None:
    config = write_config(
        tmp_path,
        [
            ("Hyvä", server.add("/ok", body=(FIXTURES / "rss1.xml").read_bytes())),
            ("Rikki", server.add("/500", status=500, body=b"")),
        ],
    )
    result = feeds_cli(config, "refresh", "--json")
    assert result.returncode == 1, result.stderr
    feeds = {f["name"]: f for f in json.loads(result.stdout)["feeds"]}
    assert feeds["Hyvä"]["status"] == "ok" and feeds["Hyvä"]["new_items"] == 2
    assert feeds["Rikki"]["status"] == "error" and "500" in feeds["Rikki"]["error"]
    assert feeds["Rikki"]["kind"] == "http" and feeds["Rikki"]["http_status"] == 500
    plain = feeds_cli(config, "refresh")
    assert plain.returncode == 1 and "Rikki" in plain.stdout and "500" in plain.stdout


def test_a_config_error_exits_2(tmp_path: Path) -> None:
    config = write_config(tmp_path, [("Tiedosto", "file:///etc/passwd")])
    result = feeds_cli(config, "refresh")
    assert result.returncode == 2
    assert "feeds[1].url" in result.stderr
    assert feeds_cli(config, "nonsense").returncode == 2


def test_opml_import_then_export_round_trip(tmp_path: Path) -> None:
    config = write_config(tmp_path, [("Oma", "https://oma.example/feed")])
    imported = feeds_cli(config, "import-opml", str(FIXTURES / "feeds.opml"))
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.startswith("Imported 3 new feeds")
    again = feeds_cli(config, "import-opml", str(FIXTURES / "feeds.opml"))
    assert again.returncode == 0 and again.stdout.startswith("Imported 0 new feeds")
    out = tmp_path / "out.opml"
    exported = feeds_cli(config, "export-opml", "--out", str(out))
    assert exported.returncode == 0, exported.stderr
    assert sorted((f.name, f.url) for f in parse_opml(out.read_bytes())) == [
        ("DigiFinland", "https://www.digifinland.example/feed/"),
        ("Kanta", "https://kanta.example/rss"),
        ("Oma", "https://oma.example/feed"),
        ("THL tiedotteet", "https://thl.example/fi/feed.atom"),
    ]
    to_stdout = feeds_cli(config, "export-opml")
    assert to_stdout.returncode == 0 and "<opml" in to_stdout.stdout
    missing = feeds_cli(config, "import-opml", str(tmp_path / "no-such.opml"))
    assert missing.returncode == 2 and "no-such.opml" in missing.stderr
    (tmp_path / "bad.opml").write_text("<html/>", encoding="utf-8")
    assert feeds_cli(config, "import-opml", str(tmp_path / "bad.opml")).returncode == 2
