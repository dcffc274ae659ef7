"""The TOML config: every bad input is refused with a problem that names the key; where the file is found."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from coordinator_tui import locations
from coordinator_tui.config import EXAMPLE_CONFIG, Config, ConfigError, load_config, parse_config

CONFIG_FILE = Path("/home/koordinaattori/.config/coordinator-tui/config.toml")


def problems_of(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, CONFIG_FILE)
    assert caught.value.path == CONFIG_FILE
    assert caught.value.problems, "a ConfigError must say what is wrong"
    return caught.value.problems


def assert_names_key(problems: list[str], key: str, *fragments: str) -> None:
    """Exactly one problem, about ``key`` (named exactly, not a pydantic branch like ``key.int``)."""
    assert len(problems) == 1, problems
    named, _, message = problems[0].partition(": ")
    assert named == key, problems
    for fragment in fragments:
        assert fragment in message, problems


# --- bad input names the key -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key", "fragments"),
    [
        pytest.param('[imap]\nport = "x"', "imap.port", ("integer",), id="port-not-a-number"),
        pytest.param("[imap]\nport = 0", "imap.port", ("greater than or equal to 1",), id="port-zero"),
        pytest.param("[smtp]\nport = 65536", "smtp.port", ("less than or equal to 65535",), id="port-high"),
        pytest.param("[imap]\nport = -993", "imap.port", ("greater than or equal to 1",), id="port-negative"),
        pytest.param("[imap]\nhost = 993", "imap.host", ("string",), id="host-not-a-string"),
        pytest.param('[imap]\nfolders = "INBOX"', "imap.folders", ("list",), id="folders-not-a-list"),
        pytest.param('imapp = { host = "x" }', "imapp", ("unknown key",), id="unknown-top-level"),
        pytest.param('[imap]\nhots = "imap.example.fi"', "imap.hots", ("unknown key",), id="unknown-in-imap"),
        pytest.param('[ui]\nlanguge = "fi"', "ui.languge", ("unknown key",), id="unknown-in-ui"),
        pytest.param('[ui]\nlanguage = "sv"', "ui.language", ("'fi'", "'en'"), id="language-sv"),
        pytest.param('[imap]\nsecurity = "ssl"', "imap.security", ("'tls'", "'starttls'"), id="security-ssl"),
        pytest.param('[smtp]\nsecurity = "TLS"', "smtp.security", ("'tls'",), id="security-case"),
        pytest.param('[store]\nurl = "store.sqlite"', "store.url", ("not a database URL",), id="store-url"),
        pytest.param('[smtp]\nfrom_address = "omaolo"', "smtp.from_address", ("e-mail",), id="from-address"),
        pytest.param('[ui.keymap]\n"app.quit" = 1', "ui.keymap.app.quit", ("string",), id="keymap-value"),
    ],
)
def test_bad_value_is_refused_and_names_the_key(text: str, key: str, fragments: tuple[str, ...]) -> None:
    assert_names_key(problems_of(text), key, *fragments)


def test_every_problem_is_reported_at_once() -> None:
    problems = problems_of('[imap]\nport = "x"\nsecurity = "ssl"\n[ui]\nlanguage = "sv"\ncolour = "red"')
    named = sorted(problem.split(": ", 1)[0] for problem in problems)
    assert named == ["imap.port", "imap.security", "ui.colour", "ui.language"]


@pytest.mark.parametrize("section", ["imap", "smtp"])
def test_plaintext_refused_for_a_remote_host(section: str) -> None:
    problems = problems_of(f'[{section}]\nhost = "mail.example.fi"\nsecurity = "none"')
    assert_names_key(problems, f"{section}.security", "unencrypted", "'mail.example.fi'")


def test_plaintext_refused_for_a_remote_ip_whatever_the_key_order() -> None:
    # TOML order must not matter: the host written after security is still checked.
    problems = problems_of('[imap]\nsecurity = "none"\nhost = "192.0.2.10"')
    assert_names_key(problems, "imap.security", "'192.0.2.10'")


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "127.0.0.53", "::1", "[::1]"])
@pytest.mark.parametrize("section", ["imap", "smtp"])
def test_plaintext_allowed_on_this_machine(section: str, host: str) -> None:
    config = parse_config(f'[{section}]\nhost = "{host}"\nsecurity = "none"', CONFIG_FILE)
    server = getattr(config, section)
    assert (server.host, server.security) == (host, "none")
    assert server.effective_port() == (143 if section == "imap" else 587)


def test_boolean_port_is_refused() -> None:
    assert_names_key(problems_of("[imap]\nport = true"), "imap.port")


def test_feed_url_must_be_http_and_is_named_by_its_table_number() -> None:
    # [[feeds]] tables are counted from 1, as a person counts them in the file.
    text = (
        '[[feeds]]\nname = "DigiFinland"\nurl = "https://www.digifinland.fi/feed/"\n'
        '[[feeds]]\nname = "Intra"\nurl = "ftp://intra.example.fi/feed.xml"\n'
    )
    assert_names_key(problems_of(text), "feeds[2].url", "'ftp://intra.example.fi/feed.xml'", "http(s)")


def test_feed_without_url_names_the_missing_key() -> None:
    assert_names_key(problems_of('[[feeds]]\nname = "DigiFinland"'), "feeds[1].url", "required")


def test_invalid_toml_is_a_config_error_naming_the_file() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config("[imap\nhost = 'x'", CONFIG_FILE)
    assert caught.value.problems[0].startswith("not valid TOML")
    assert "line 1" in caught.value.problems[0]
    assert str(CONFIG_FILE) in str(caught.value)
    assert str(CONFIG_FILE) in caught.value.message()


def test_message_lists_every_problem_for_the_user() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config('[imap]\nport = "x"\n[ui]\nlanguage = "sv"', CONFIG_FILE)
    message = caught.value.message()
    assert message.splitlines()[0] == f"The config file {CONFIG_FILE} cannot be used:"
    assert "  - imap.port: " in message
    assert "  - ui.language: " in message


# --- reading the file ------------------------------------------------------------------------


def test_non_utf8_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b'[ui]\ntheme = "h\xe4iri\xf6"\n')  # Latin-1, as an old editor might save it
    with pytest.raises(ConfigError) as caught:
        load_config(path, must_exist=False)
    assert caught.value.path == path
    assert caught.value.problems == ["is not UTF-8 text (byte 15)"]


def test_missing_file_named_by_the_user_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.toml"
    with pytest.raises(ConfigError) as caught:
        load_config(path, must_exist=True)
    assert caught.value.problems == ["the file does not exist"]
    assert str(path) in str(caught.value)


def test_missing_default_file_means_defaults(tmp_path: Path) -> None:
    assert load_config(tmp_path / "config.toml", must_exist=False) == Config()


def test_unreadable_path_is_a_config_error(tmp_path: Path) -> None:
    # A directory where the file should be: read_bytes fails with an OSError other than "not found".
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path, must_exist=False)
    assert caught.value.problems[0].startswith("cannot be read:")


def test_valid_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        '[imap]\nhost = "imap.hyvinvointialue.fi"\nusername = "omaolo@hyvinvointialue.fi"\n'
        '[ui]\nlanguage = "en"\n[ui.keymap]\n"app.screen.mail" = "f2"\n',
        encoding="utf-8",
    )
    config = load_config(path, must_exist=True)
    assert config.imap.host == "imap.hyvinvointialue.fi"
    assert config.imap.effective_port() == 993
    assert config.smtp.effective_port() == 465
    assert config.ui.language == "en"
    assert config.ui.keymap == {"app.screen.mail": "f2"}


# --- the example written by `init` -----------------------------------------------------------


def test_example_config_parses_to_the_defaults() -> None:
    assert parse_config(EXAMPLE_CONFIG, CONFIG_FILE) == Config()


def test_example_config_with_every_example_uncommented_is_valid() -> None:
    # The commented lines are what a user will uncomment and edit; they must parse as written.
    commented_setting = re.compile(r'^# (\[.*\]|"?[\w.]+"? = .*)$')
    lines = [
        commented_setting.sub(r"\1", line) if commented_setting.match(line) else line
        for line in EXAMPLE_CONFIG.splitlines()
    ]
    uncommented = "\n".join(lines)
    assert uncommented != EXAMPLE_CONFIG
    config = parse_config(uncommented, CONFIG_FILE)
    assert config.store.url == "sqlite:////home/me/coordinator/store.sqlite"
    assert (config.imap.host, config.imap.port) == ("imap.example.fi", 993)
    assert config.smtp.from_address == "omaolo@example.fi"
    assert [(feed.name, feed.url) for feed in config.feeds] == [
        ("DigiFinland", "https://www.digifinland.fi/feed/")
    ]
    assert config.ui.keymap == {"app.screen.mail": "f2"}


# --- where the config file is ----------------------------------------------------------------


@pytest.fixture
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "xdg-config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    monkeypatch.delenv(locations.CONFIG_ENV, raising=False)
    return home


def test_default_config_path_is_under_xdg_config_home(config_home: Path) -> None:
    assert locations.config_path(None) == (config_home / "coordinator-tui" / "config.toml", False)


def test_empty_env_var_falls_back_to_the_default(config_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COORDINATOR_TUI_CONFIG", "")
    assert locations.config_path(None) == (config_home / "coordinator-tui" / "config.toml", False)


def test_env_var_beats_the_default(
    config_home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("COORDINATOR_TUI_CONFIG", str(tmp_path / "from-env.toml"))
    assert locations.config_path(None) == (tmp_path / "from-env.toml", True)


def test_cli_value_beats_the_env_var(
    config_home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("COORDINATOR_TUI_CONFIG", str(tmp_path / "from-env.toml"))
    assert locations.config_path(str(tmp_path / "from-cli.toml")) == (tmp_path / "from-cli.toml", True)


def test_tilde_is_expanded(config_home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert locations.config_path("~/coordinator.toml") == (tmp_path / "coordinator.toml", True)
    monkeypatch.setenv("COORDINATOR_TUI_CONFIG", "~/env.toml")
    assert locations.config_path(None) == (tmp_path / "env.toml", True)


def test_named_missing_file_is_an_error_but_missing_default_is_not(
    config_home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path, must_exist = locations.config_path(str(tmp_path / "typo.toml"))
    with pytest.raises(ConfigError, match="the file does not exist"):
        load_config(path, must_exist=must_exist)
    monkeypatch.setenv("COORDINATOR_TUI_CONFIG", str(tmp_path / "typo.toml"))
    path, must_exist = locations.config_path(None)
    with pytest.raises(ConfigError, match="the file does not exist"):
        load_config(path, must_exist=must_exist)
    monkeypatch.delenv("COORDINATOR_TUI_CONFIG")
    path, must_exist = locations.config_path(None)
    assert not path.exists()
    assert load_config(path, must_exist=must_exist) == Config()
