"""Who a notice goes to: lists, units or everyone, resolved from the directory into addresses.

A static list gives its active members; a rule list (``{"role": ..., "service": ...}``) gives every
active person with that role, in a unit where that service is deployed. Units give their active
people; "all" gives every active person. Each address once (case-insensitive); an address that
cannot be sent to is flagged with the person's name and left out.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from store import notices as notice_store

if TYPE_CHECKING:
    from store.engine import Store

_ADDR_SPEC = re.compile(
    r"^[^\s@<>,;:\"()\[\]]+@[^\s@<>,;:\"()\[\].][^\s@<>,;:\"()\[\]]*\.[^\s@<>,;:\"()\[\]]+$"
)


@dataclass(frozen=True)
class Choice:
    """What the coordinator picked: list names or ids, unit ids, or everyone."""

    lists: Sequence[int | str] = ()
    units: Sequence[int] = ()
    everyone: bool = False


@dataclass
class Resolution:
    addresses: list[str] = field(default_factory=list)  # each once, in directory order
    invalid: list[tuple[str, str]] = field(default_factory=list)  # (name, address) left out
    lists: list[str] = field(default_factory=list)  # the chosen lists' names
    bilingual_lists: list[str] = field(default_factory=list)  # chosen lists that expect Swedish
    unknown_lists: list[str] = field(default_factory=list)  # names or ids not in the directory
    swedish_readers: int = 0  # recipients whose notice language is Swedish

    @property
    def count(self) -> int:
        return len(self.addresses)


def valid_address(address: str) -> bool:
    return bool(_ADDR_SPEC.match(address.strip()))


def _matches_rule(person: notice_store.DirectoryPerson, rule: dict[str, object]) -> bool:
    role, service = rule.get("role"), rule.get("service")
    if role and role not in person.roles:
        return False
    return not (service and service not in person.unit_services)


def resolve(store: Store, choice: Choice) -> Resolution:
    people = notice_store.active_people(store)
    lists = notice_store.mailing_lists(store)
    result = Resolution()
    chosen: set[int] = set()
    if choice.everyone:
        chosen.update(person.id for person in people)
    wanted_units = set(choice.units)
    chosen.update(person.id for person in people if person.unit_id in wanted_units)
    by_id = {info.id: info for info in lists}
    by_name = {info.name.casefold(): info for info in lists}
    for wanted in choice.lists:
        info = by_id.get(wanted) if isinstance(wanted, int) else by_name.get(str(wanted).casefold())
        if info is None:
            result.unknown_lists.append(str(wanted))
            continue
        result.lists.append(info.name)
        if info.bilingual:
            result.bilingual_lists.append(info.name)
        if info.rule.strip():
            try:
                rule = json.loads(info.rule)
            except ValueError:
                rule = None
            if isinstance(rule, dict):
                chosen.update(person.id for person in people if _matches_rule(person, rule))
        chosen.update(info.member_ids)
    seen: set[str] = set()
    for person in people:
        if person.id not in chosen:
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
