"""Canned replies (vakiovastaukset): Finnish and Swedish text templates with a few placeholders.

Where they live: ``<config dir>/canned/<name>.<fi|sv>.txt`` (the config dir is
``coordinator_tui.locations.config_dir()``, e.g. ``~/.config/coordinator-tui/canned/``). Each file
is the plain UTF-8 text of the reply body, nothing else: no subject line (a reply keeps the
subject of the message it answers). The file name gives the name shown in the picker (``-`` and
``_`` read as spaces) and the language. ``coordinator-tui init`` writes the bundled examples there;
while the folder has no ``*.txt`` file, the bundled ones are used.

Placeholders, in braces: {name} (the recipient's name), {reference} (a request reference such as
OMA-2026-0042 found in the subject), {subject} (the original subject). ``{{`` and ``}}`` are
literal braces. An unknown placeholder is an error shown in the editor; a known one with no value
stays in the text and sending is refused until it is filled in by hand.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from coordinator_tui.i18n import _

LANGUAGES = ("fi", "sv")
PLACEHOLDERS = ("name", "reference", "subject")
DEFAULTS_PACKAGE = "coordinator_tui.mail"
DEFAULTS_FOLDER = "canned_defaults"
_FILE_NAME = re.compile(r"^(?P<name>[^./\\][^/\\]*)\.(?P<language>fi|sv)\.txt$")
_UNFILLED = re.compile(r"(?<!\{)\{(" + "|".join(PLACEHOLDERS) + r")\}(?!\})")
# Something in braces that looks like a placeholder (a template pasted by hand, a typo of one).
_PLACEHOLDER_LIKE = re.compile(r"(?<!\{)\{([A-Za-zÅÄÖåäö_][\wÅÄÖåäö]{0,40})\}(?!\})")
MAX_SIZE = 64 * 1024


class CannedError(ValueError):
    """A template cannot be used; ``str()`` says which and why."""


@dataclass(frozen=True)
class CannedReply:
    name: str  # the file's stem without the language, e.g. "kuittaus"
    language: str  # fi or sv
    text: str
    origin: str  # the file it came from, or "bundled"

    @property
    def title(self) -> str:
        return self.name.replace("-", " ").replace("_", " ")

    @property
    def key(self) -> str:
        return f"{self.name}.{self.language}"


def canned_dir() -> Path:
    from coordinator_tui.locations import config_dir

    return config_dir() / "canned"


def _parse_name(file_name: str) -> tuple[str, str] | None:
    found = _FILE_NAME.match(file_name)
    return (found["name"], found["language"]) if found else None


def bundled_replies() -> list[CannedReply]:
    """The examples shipped with the app."""
    folder = resources.files(DEFAULTS_PACKAGE) / DEFAULTS_FOLDER
    replies = []
    for entry in folder.iterdir():
        parsed = _parse_name(entry.name)
        if parsed is not None:
            replies.append(CannedReply(*parsed, entry.read_text(encoding="utf-8"), "bundled"))
    return sorted(replies, key=lambda reply: (reply.name, reply.language))


def load_replies(directory: Path | None = None) -> tuple[list[CannedReply], list[str]]:
    """The canned replies of ``directory`` (default: the config dir's), else the bundled ones.

    Returns the replies and problems with files that were skipped (unreadable, not UTF-8, too big).
    """
    directory = canned_dir() if directory is None else directory
    problems: list[str] = []
    replies: list[CannedReply] = []
    try:
        paths = sorted(path for path in directory.iterdir() if path.suffix == ".txt")
    except (FileNotFoundError, NotADirectoryError):
        paths = []
    except OSError as error:
        problems.append(_("{path} cannot be read: {reason}").format(path=directory, reason=error.strerror))
        paths = []
    for path in paths:
        parsed = _parse_name(path.name)
        if parsed is None:
            problems.append(
                _("{path}: the name should be NAME.fi.txt or NAME.sv.txt; skipped.").format(path=path)
            )
            continue
        try:
            if path.stat().st_size > MAX_SIZE:
                raise CannedError(_("larger than 64 KiB"))
            text = path.read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError, CannedError) as error:
            reason = error.strerror if isinstance(error, OSError) else str(error)
            if isinstance(error, UnicodeDecodeError):
                reason = _("not UTF-8 text")
            problems.append(_("{path} cannot be read ({reason}); skipped.").format(path=path, reason=reason))
            continue
        replies.append(CannedReply(*parsed, text, str(path)))
    if not paths:
        replies = bundled_replies()
    return sorted(replies, key=lambda reply: (reply.name, reply.language)), problems


def write_defaults(directory: Path | None = None, *, force: bool = False) -> list[Path]:
    """Write the bundled replies into ``directory`` (default: the config dir's); returns what was written.

    An existing file is kept unless ``force``: the user's edits are never overwritten silently.
    """
    directory = canned_dir() if directory is None else directory
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    written = []
    for reply in bundled_replies():
        path = directory / f"{reply.key}.txt"
        if path.exists() and not force:
            continue
        path.write_text(reply.text, encoding="utf-8")
        written.append(path)
    return written


def placeholders_in(template: str) -> list[str]:
    """The placeholder names used in ``template``; raises :class:`CannedError` on a malformed one."""
    names = []
    try:
        for _literal, field_name, format_spec, conversion in string.Formatter().parse(template):
            if field_name is None:
                continue
            if not field_name or format_spec or conversion or not field_name.isidentifier():
                shown = "{" + field_name + ("!" + conversion if conversion else "")
                shown += (":" + format_spec if format_spec else "") + "}"
                raise CannedError(
                    _("The placeholder {placeholder} is not one of {known}.").format(
                        placeholder=shown, known=_known()
                    )
                )
            names.append(field_name)
    except ValueError as error:
        if isinstance(error, CannedError):
            raise
        raise CannedError(
            _(
                "The template has a brace that opens or closes nothing ({error}); write {{{{ or }}}} for a "
                "literal brace."
            ).format(error=error)
        ) from error
    return names


def _known() -> str:
    return ", ".join("{" + name + "}" for name in PLACEHOLDERS)


@dataclass(frozen=True)
class Rendered:
    text: str
    unfilled: tuple[str, ...]  # known placeholders with no value, left in the text as {name}


def render(reply: CannedReply, values: dict[str, str]) -> Rendered:
    """The template with its placeholders filled from ``values``.

    Raises :class:`CannedError` for an unknown placeholder: such a template is never inserted.
    """
    names = placeholders_in(reply.text)
    unknown = [name for name in dict.fromkeys(names) if name not in PLACEHOLDERS]
    if unknown:
        raise CannedError(
            _(
                "The canned reply {reply} has an unknown placeholder {placeholder}; known: {known}. "
                "Fix the file {origin}."
            ).format(reply=reply.key, placeholder="{" + unknown[0] + "}", known=_known(), origin=reply.origin)
        )
    filled = {name: values[name] if values.get(name) else "{" + name + "}" for name in PLACEHOLDERS}
    unfilled = tuple(name for name in dict.fromkeys(names) if not values.get(name))
    return Rendered(reply.text.format(**filled), unfilled)


def unfilled_placeholders(text: str) -> list[str]:
    """Placeholders such as {reference} still in a text about to be sent (each once)."""
    return list(dict.fromkeys("{" + found + "}" for found in _UNFILLED.findall(text)))


def unknown_placeholders(text: str) -> list[str]:
    """Placeholder-like ``{word}`` in a text about to be sent that the app does not know (each once):
    a template pasted by hand or a misspelt placeholder, which would go out as it stands."""
    return list(
        dict.fromkeys(
            "{" + found + "}" for found in _PLACEHOLDER_LIKE.findall(text) if found not in PLACEHOLDERS
        )
    )


def filter_replies(replies: list[CannedReply], query: str) -> list[CannedReply]:
    """The replies whose name, language or text contain every word of ``query`` (case-insensitive)."""
    words = query.casefold().split()
    if not words:
        return list(replies)
    return [
        reply
        for reply in replies
        if all(word in f"{reply.title} {reply.language} {reply.text}".casefold() for word in words)
    ]
