"""Checking a unit (name, area, code, services with their deployment dates) and a list (name, rule or
static, languages) before they are written; the same words for the user as the people's checks."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from coordinator_tui.directory.validation import Problem, canonical_roles, fold, parse_active, parse_day
from coordinator_tui.hetu import contains_hetu
from coordinator_tui.i18n import _

NAME_LIMIT = 120
SERVICE_LIMIT = 60


@dataclass(frozen=True)
class UnitDraft:
    name: str
    area: str = ""
    code: str = ""
    services: str = ""  # "oirearviot 4.3.2024; työjonolähetys 1.3.2025" (the date may be left out)


@dataclass(frozen=True)
class UnitValues:
    name: str
    area: str
    code: str
    services: tuple[tuple[str, date | None], ...]


def services_text(services: Iterable[tuple[str, date | None]]) -> str:
    """The form's text for a unit's services, the way parse_services reads it back."""
    return "; ".join(
        f"{service} {day.day}.{day.month}.{day.year}" if day else service for service, day in services
    )


def parse_services(text: str) -> tuple[list[tuple[str, date | None]], list[str]]:
    """``"oirearviot 4.3.2024; työjonolähetys"`` → [(service, date)], and the parts that did not read."""
    services: list[tuple[str, date | None]] = []
    bad: list[str] = []
    for part in (piece.strip() for piece in text.replace("\n", ";").split(";")):
        if not part:
            continue
        words = part.split()
        deployed: date | None = None
        if len(words) > 1 and any(ch.isdigit() for ch in words[-1]):
            try:
                deployed = parse_day(words[-1])
            except ValueError:
                bad.append(part)
                continue
            words = words[:-1]
        service = " ".join(words)
        if not service or len(service) > SERVICE_LIMIT:
            bad.append(part)
            continue
        if all(existing != service for existing, _day in services):
            services.append((service, deployed))
    return services, bad


def check_unit(
    draft: UnitDraft, *, names: Mapping[str, int], unit_id: int | None = None
) -> tuple[UnitValues | None, list[Problem]]:
    """``names`` maps each folded unit name in the directory to its id (names are unique)."""
    problems: list[Problem] = []
    for field, label, value in (
        ("name", _("name"), draft.name),
        ("area", _("area"), draft.area),
        ("code", _("code"), draft.code),
        ("services", _("services"), draft.services),
    ):
        if contains_hetu(value):
            problems.append(
                Problem(
                    "hetu",
                    _("The {field} contains a Finnish personal identity code; remove it.").format(
                        field=label
                    ),
                    field,
                )
            )
    if problems:
        return None, problems
    name = " ".join(draft.name.split())
    if not name:
        problems.append(Problem("name_missing", _("The name is missing."), "name"))
    elif len(name) > NAME_LIMIT:
        problems.append(
            Problem(
                "too_long", _("The name is longer than {limit} characters.").format(limit=NAME_LIMIT), "name"
            )
        )
    elif names.get(fold(name), unit_id) != unit_id:
        problems.append(Problem("name_taken", _("There is a unit {name} already.").format(name=name), "name"))
    services, bad = parse_services(draft.services)
    if bad:
        problems.append(
            Problem(
                "service_invalid",
                _("Cannot read {parts}; write e.g. oirearviot 4.3.2024; työjonolähetys 1.3.2025.").format(
                    parts=", ".join(bad)
                ),
                "services",
            )
        )
    if problems:
        return None, problems
    return UnitValues(name, " ".join(draft.area.split()), draft.code.strip(), tuple(services)), []


@dataclass(frozen=True)
class ListDraft:
    name: str
    description: str = ""
    role: str = ""  # "" and no service = a static list
    service: str = ""
    bilingual: str = "ei"


@dataclass(frozen=True)
class ListValues:
    name: str
    description: str
    rule: str  # JSON, "" for a static list
    bilingual: bool


def check_list(
    draft: ListDraft,
    *,
    names: Mapping[str, int],
    roles: Iterable[str],
    services: Iterable[str],
    list_id: int | None = None,
) -> tuple[ListValues | None, list[Problem]]:
    problems: list[Problem] = []
    if any(contains_hetu(value) for value in (draft.name, draft.description, draft.role, draft.service)):
        return None, [Problem("hetu", _("A field contains a Finnish personal identity code; remove it."))]
    name = " ".join(draft.name.split())
    if not name:
        problems.append(Problem("name_missing", _("The name is missing."), "name"))
    elif names.get(fold(name), list_id) != list_id:
        problems.append(Problem("name_taken", _("There is a list {name} already.").format(name=name), "name"))
    role = ""
    if draft.role.strip():
        known = list(roles)
        canonical, unknown = canonical_roles([draft.role.strip()], known)
        if unknown or not canonical:
            problems.append(
                Problem(
                    "role_unknown",
                    _("Unknown role {role}; the roles are: {roles}.").format(
                        role=draft.role.strip(), roles=", ".join(known)
                    ),
                    "role",
                )
            )
        else:
            role = canonical[0]
    service = " ".join(draft.service.split())
    known_services = {fold(name): name for name in services}
    if service:
        if fold(service) not in known_services:
            problems.append(
                Problem(
                    "service_unknown",
                    _("No unit has the service {service}; the services are: {services}.").format(
                        service=service, services=", ".join(sorted(known_services.values()))
                    ),
                    "service",
                )
            )
        else:
            service = known_services[fold(service)]
    bilingual = parse_active(draft.bilingual or "ei")
    if bilingual is None:
        problems.append(Problem("bilingual_invalid", _("Swedish too: write kyllä or ei."), "bilingual"))
    if problems:
        return None, problems
    rule: dict[str, str] = {}
    if role:
        rule["role"] = role
    if service:
        rule["service"] = service
    return ListValues(
        name, draft.description.strip(), json.dumps(rule, ensure_ascii=False) if rule else "", bool(bilingual)
    ), []
