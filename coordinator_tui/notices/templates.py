"""Plain-text notice templates in Finnish and Swedish, with placeholders that are checked before use.

Where they live: ``<config dir>/notices/<name>.<fi|sv>.txt`` (e.g.
``~/.config/coordinator-tui/notices/hairio.fi.txt``); while that folder has no ``*.txt`` file the
bundled ones (``templates_default/``) are used, and :func:`write_defaults` copies them there. A file
is the body text only; the subject and the stage line are added by ``notices.compose``.

Which template a version uses: ``hairio`` (a disruption that is open), ``korjattu`` (resolved),
``huoltokatko`` (a maintenance that is scheduled or in progress), ``huolto-paattynyt`` (completed),
``peruttu`` (cancelled).

Placeholders: {services} {start} {expected_end} {end} {duration} {impact} {instructions} {contact}.
Every one but {expected_end} is required where a template uses it: an empty value is an error, as
is an unknown name; :class:`TemplateError` lists them all. A line whose only placeholder is an
empty {expected_end} is left out. {instructions} becomes bullet points, one per line written.
``{{`` and ``}}`` are literal braces.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from coordinator_tui.i18n import _
from coordinator_tui.notices import model

LANGUAGES = ("fi", "sv")
PLACEHOLDERS = (
    "services",
    "start",
    "expected_end",
    "end",
    "duration",
    "impact",
    "instructions",
    "contact",
)
OPTIONAL = ("expected_end",)
BULLET = "- "
DEFAULTS_PACKAGE = "coordinator_tui.notices"
DEFAULTS_FOLDER = "templates_default"
_FILE_NAME = re.compile(r"^(?P<name>[^./\\][^/\\]*)\.(?P<language>fi|sv)\.txt$")
_OPEN = re.compile(r"(?<!\{)\{(" + "|".join(PLACEHOLDERS) + r")\}(?!\})")
MAX_SIZE = 64 * 1024


class TemplateError(ValueError):
    """A template cannot be filled in; ``problems`` lists every reason, ``str()`` joins them."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(" ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class NoticeTemplate:
    name: str  # e.g. "hairio"
    language: str  # fi or sv
    text: str
    origin: str  # the file it came from, or "bundled"

    @property
    def key(self) -> str:
        return f"{self.name}.{self.language}"


def templates_dir() -> Path:
    from coordinator_tui.locations import config_dir

    return config_dir() / "notices"


def template_name(kind: str, stage: str) -> str:
    """The template a version of ``kind`` at ``stage`` starts from."""
    if stage == model.CANCELLED:
        return "peruttu"
    if model.is_maintenance(kind):
        return "huolto-paattynyt" if stage == "päättynyt" else "huoltokatko"
    return "korjattu" if stage == "korjattu" else "hairio"


def _parse_name(file_name: str) -> tuple[str, str] | None:
    found = _FILE_NAME.match(file_name)
    return (found["name"], found["language"]) if found else None


def bundled_templates() -> list[NoticeTemplate]:
    folder = resources.files(DEFAULTS_PACKAGE) / DEFAULTS_FOLDER
    found = []
    for entry in folder.iterdir():
        parsed = _parse_name(entry.name)
        if parsed is not None:
            found.append(NoticeTemplate(*parsed, entry.read_text(encoding="utf-8"), "bundled"))
    return sorted(found, key=lambda item: (item.name, item.language))


def load_templates(directory: Path | None = None) -> tuple[list[NoticeTemplate], list[str]]:
    """The templates of ``directory`` (default: the config dir's), else the bundled ones.

    A name missing from the folder falls back to the bundled template of that name, so a user who
    edits only ``hairio.fi.txt`` still has the others. Returns the templates and the problems with
    files that were skipped.
    """
    directory = templates_dir() if directory is None else directory
    problems: list[str] = []
    mine: dict[str, NoticeTemplate] = {}
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
                problems.append(_("{path} is larger than 64 KiB; skipped.").format(path=path))
                continue
            text = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError:
            problems.append(_("{path} is not UTF-8 text; skipped.").format(path=path))
            continue
        except OSError as error:
            problems.append(_("{path} cannot be read: {reason}").format(path=path, reason=error.strerror))
            continue
        template = NoticeTemplate(*parsed, text, str(path))
        mine[template.key] = template
    merged = {template.key: template for template in bundled_templates()}
    merged.update(mine)
    return sorted(merged.values(), key=lambda item: (item.name, item.language)), problems


def find_template(templates: list[NoticeTemplate], kind: str, stage: str, language: str) -> NoticeTemplate:
    name = template_name(kind, stage)
    for template in templates:
        if template.name == name and template.language == language:
            return template
    raise TemplateError(
        [_("There is no notice template {name}.{language}.txt.").format(name=name, language=language)]
    )


def write_defaults(directory: Path | None = None, *, force: bool = False) -> list[Path]:
    """Copy the bundled templates into ``directory``; an existing file is kept unless ``force``."""
    directory = templates_dir() if directory is None else directory
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    written = []
    for template in bundled_templates():
        path = directory / f"{template.key}.txt"
        if path.exists() and not force:
            continue
        path.write_text(template.text, encoding="utf-8")
        written.append(path)
    return written


def _known() -> str:
    return ", ".join("{" + name + "}" for name in PLACEHOLDERS)


def placeholders_in(text: str) -> tuple[list[str], list[str]]:
    """(the placeholder names used in ``text``, problems with malformed or unknown ones)."""
    names: list[str] = []
    problems: list[str] = []
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as error:
        return names, [
            _(
                "The template has a brace that opens or closes nothing ({error}); write {{{{ or }}}} for "
                "a literal brace."
            ).format(error=error)
        ]
    for _literal, field_name, format_spec, conversion in parsed:
        if field_name is None:
            continue
        if not field_name or format_spec or conversion or field_name not in PLACEHOLDERS:
            shown = "{" + field_name + ("!" + conversion if conversion else "")
            shown += (":" + format_spec if format_spec else "") + "}"
            problems.append(
                _("Unknown placeholder {placeholder}; known: {known}.").format(
                    placeholder=shown, known=_known()
                )
            )
            continue
        names.append(field_name)
    return list(dict.fromkeys(names)), list(dict.fromkeys(problems))


def check_template(text: str) -> list[str]:
    """Problems that make ``text`` unusable as a template (unknown or malformed placeholders)."""
    return placeholders_in(text)[1]


def bullets(text: str) -> str:
    """One bullet point per non-empty line; a line already starting with - • or * keeps its text."""
    lines = []
    for line in text.replace("\r\n", "\n").split("\n"):
        item = line.strip().lstrip("-•*").strip()
        if item:
            lines.append(BULLET + item)
    return "\n".join(lines)


def render(template: str, values: dict[str, str]) -> str:
    """``template`` filled from ``values``; raises :class:`TemplateError` listing every problem.

    ``values["instructions"]`` should already be bulleted (:func:`bullets`).
    """
    names, problems = placeholders_in(template)
    empty = [name for name in names if name not in OPTIONAL and not values.get(name, "").strip()]
    if empty:
        problems.append(
            _("Fill in: {placeholders}.").format(placeholders=", ".join("{" + name + "}" for name in empty))
        )
    if problems:
        raise TemplateError(problems)
    kept = []
    for line in template.split("\n"):
        used, _line_problems = placeholders_in(line)
        if used and all(name in OPTIONAL and not values.get(name, "").strip() for name in used):
            continue  # e.g. "Arvioitu korjausaika: {expected_end}" with no expected end yet
        kept.append(line)
    filled = {name: values.get(name, "").strip() for name in PLACEHOLDERS}
    return "\n".join(kept).format(**filled)


def open_placeholders(text: str) -> list[str]:
    """Placeholders such as {impact} still in a text about to be sent (each once)."""
    return list(dict.fromkeys("{" + found + "}" for found in _OPEN.findall(text)))
