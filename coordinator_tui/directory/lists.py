"""A list's members resolved from a directory already in memory, as the Network screen shows them live.

The rules are the notices' own (coordinator_tui/notices/recipients.py, which reads the directory
from the store for each notice): active people only; a rule list takes every active person with its
role, in a unit where its service is deployed; a static list takes its active members; each address
once (case-insensitive), in the order of the people's ids; an address that cannot be sent to is
flagged with the name and left out. tests/unit/test_directory_lists.py holds both to the same answer.
Reading the store once and resolving in memory keeps a list of 5,000 people under a few milliseconds.
"""

from __future__ import annotations

import json

from coordinator_tui.notices.recipients import Resolution, valid_address
from store.directory import Directory, ListRow


def rule_of(info: ListRow) -> dict[str, object] | None:
    if not info.rule.strip():
        return None
    try:
        rule = json.loads(info.rule)
    except ValueError:
        return None
    return rule if isinstance(rule, dict) else None


def resolve_in(directory: Directory, list_id: int) -> Resolution:
    result = Resolution()
    info = next((item for item in directory.lists if item.id == list_id), None)
    if info is None:
        result.unknown_lists.append(str(list_id))
        return result
    result.lists.append(info.name)
    if info.bilingual:
        result.bilingual_lists.append(info.name)
    services = {unit.id: {service.service for service in unit.services} for unit in directory.units}
    members = set(info.member_ids)
    rule = rule_of(info)
    role = rule.get("role") if rule else None
    service = rule.get("service") if rule else None
    seen: set[str] = set()
    for person in sorted(directory.people, key=lambda person: person.id):
        if not person.active:
            continue
        chosen = person.id in members
        if not chosen and rule is not None:
            chosen = not (role and role not in person.roles) and not (
                service and (person.unit_id is None or service not in services.get(person.unit_id, set()))
            )
        if not chosen:
            continue
        address = person.email.strip()
        if not valid_address(address):
            result.invalid.append((person.name, person.email))
            continue
        key = address.casefold()
        if key in seen:
            continue
        seen.add(key)
        result.addresses.append(address)
        if person.language == "sv":
            result.swedish_readers += 1
    return result
