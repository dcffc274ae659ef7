"""Checking a person's fields before anything is written: the same rules for the form and the import.

E-mail addresses go through email-validator (syntax and the domain's form, never DNS: the app works
offline), in its normalised form; duplicates are found case-insensitively. The directory keeps
minimal personal data by design, so a Finnish personal identity code in any field refuses the row.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from coordinator_tui.hetu import contains_hetu
from coordinator_tui.i18n import N_, _
from coordinator_tui.textclean import clean_line

# The roles of the network (seeds/000); other roles already in the directory are accepted too.
ROLES = (
    "vastuukäyttäjä",
    "tuotevastaava",
    "Omaolovastaava",
    "pääkäyttäjä",
    "ICT-asiantuntija",
    "esihenkilö",
)
RESPONSIBLE_USER = "vastuukäyttäjä"
LANGUAGES = ("fi", "sv")
NAME_LIMIT = 120
EMAIL_LIMIT = 254
PHONE_LIMIT = 40
ROLE_LIMIT = 60
_PHONE = re.compile(r"^\+?[0-9 ()\-]{3,}$")
_ROLE_SPLIT = re.compile(r"[,|;/]")

# Why a row or a form is refused: a code (kept by tests and the preview) and the words for the user.
NAME_MISSING = "name_missing"
EMAIL_MISSING = "email_missing"
EMAIL_INVALID = "email_invalid"
EMAIL_TAKEN = "email_taken"  # another person in the directory has it
EMAIL_AMBIGUOUS = "email_ambiguous"  # several people in the directory have it: which one is meant?
EMAIL_REPEATED = "email_repeated"  # an earlier row of the same file has it
UNIT_UNKNOWN = "unit_unknown"
ROLE_UNKNOWN = "role_unknown"
LANGUAGE_INVALID = "language_invalid"
ACTIVE_INVALID = "active_invalid"
DATE_INVALID = "date_invalid"
PHONE_INVALID = "phone_invalid"
TOO_LONG = "too_long"
HETU = "hetu"
FIELD_COUNT = "field_count"


@dataclass(frozen=True)
class Problem:
    code: str
    text: str  # translated, for the user
    field: str = ""  # the form field it is about ("" for the whole row)


# The accented letters of the names in a Finnish directory, folded by one C-level translate; other
# letters go through Unicode decomposition (rare, so the cost stays off the common path).
_FOLD_TABLE = str.maketrans(
    "äöåáàâãéèêëíìîïóòôõúùûüýÿçñšžæø–—",
    "aoaaaaaeeeeiiiioooouuuuyycnszao--",
)
_COMBINING = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")


@lru_cache(maxsize=8192)
def fold(text: str) -> str:
    """Case- and accent-insensitive form for matching names typed without Ä and Ö."""
    if text.isascii():  # addresses, phone numbers: nothing to translate
        return text.lower().strip()
    folded = text.casefold().translate(_FOLD_TABLE)
    if not folded.isascii():
        folded = _COMBINING.sub("", unicodedata.normalize("NFKD", folded))
    return folded.strip()


_SIX_DIGITS = re.compile(r"\d{6}")


def may_hold_hetu(text: str) -> bool:
    """A cheap first look: an identity code starts with six digits (the full check is contains_hetu)."""
    return _SIX_DIGITS.search(text) is not None


def email_key(address: str) -> str:
    return address.strip().casefold()


def check_email(address: str) -> tuple[str | None, Problem | None]:
    """(the normalised address, None) or (None, the problem)."""
    address = address.strip()
    if not address:
        return None, Problem(EMAIL_MISSING, _("The e-mail address is missing."), "email")
    if len(address) > EMAIL_LIMIT:
        return None, too_long("email", _("e-mail address"), EMAIL_LIMIT)
    plain = _PLAIN_ADDRESS.match(address)
    if plain is not None and len(plain.group(1)) <= 64:
        # A plain ASCII dot-atom: only the domain needs the validator, once per domain (a county's
        # directory has a handful), which keeps a 5,000-row import well under a second.
        local, domain = plain.group(1), plain.group(2)
        normalized_domain, error = _check_domain(domain)
        if normalized_domain is not None:
            return f"{local}@{normalized_domain}", None
    else:
        error = _validator_error(address)
        if error is None:
            return _normalized(address), None
    assert error is not None
    return None, Problem(
        EMAIL_INVALID,
        _("{address} is not a valid e-mail address: {why}").format(
            address=address, why=_email_reason(address, error)
        ),
        "email",
    )


# A local part of letters, digits and ._%+- without a dot at either end or two in a row, which
# email-validator accepts as it is; anything else goes through the validator whole.
_PLAIN_ADDRESS = re.compile(r"^([A-Za-z0-9_%+\-]+(?:\.[A-Za-z0-9_%+\-]+)*)@([A-Za-z0-9.\-]+)$")


@lru_cache(maxsize=1024)
def _check_domain(domain: str) -> tuple[str | None, str | None]:
    """(the normalised domain, None) or (None, the validator's reason), by validating ``x@domain``."""
    from email_validator import EmailNotValidError, validate_email

    try:
        result = validate_email(f"x@{domain}", check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as error:
        return None, str(error)
    return result.domain, None


def _validator_error(address: str) -> str | None:
    from email_validator import EmailNotValidError, validate_email

    try:
        validate_email(address, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as error:
        return str(error)
    return None


def _normalized(address: str) -> str:
    from email_validator import validate_email

    return validate_email(address, check_deliverability=False, allow_smtputf8=False).normalized


def _email_reason(address: str, said: str) -> str:
    """email-validator's reason, in the UI's language (its own words are English)."""
    if "@" not in address:
        return _("it has no @ sign")
    lowered = said.lower()
    if "after the @-sign" in lowered or "domain" in lowered or "period" in lowered:
        return _("the part after @ is not a domain name")
    if "before the @-sign" in lowered or "internationalized" in lowered or "smtputf8" in lowered:
        return _("the part before @ has characters that are not allowed")
    return _("its form is wrong")


def too_long(field: str, label: str, limit: int) -> Problem:
    return Problem(
        TOO_LONG, _("The {field} is longer than {limit} characters.").format(field=label, limit=limit), field
    )


def hetu_problem(label: str, field: str = "") -> Problem:
    return Problem(
        HETU,
        _(
            "The {field} contains a Finnish personal identity code; the directory never keeps one. "
            "Remove it and try again."
        ).format(field=label),
        field,
    )


def split_roles(text: str) -> list[str]:
    return [part.strip() for part in _ROLE_SPLIT.split(text) if part.strip()]


def role_index(known: Iterable[str]) -> dict[str, str]:
    """Folded role name → the role as the directory spells it (built once per import)."""
    return {fold(role): role for role in known}


def canonical_roles(
    wanted: Iterable[str], known: Iterable[str] | Mapping[str, str]
) -> tuple[tuple[str, ...], list[str]]:
    """The roles spelt as the directory spells them, and those it does not know.

    ``vastuukayttaja`` and ``VASTUUKÄYTTÄJÄ`` are ``vastuukäyttäjä``: a role list rule matches the
    exact name, so a typo would silently keep a person off the lists.
    """
    by_fold = known if isinstance(known, Mapping) else role_index(known)
    roles: list[str] = []
    unknown: list[str] = []
    for role in wanted:
        name = by_fold.get(fold(role))
        if name is None:
            unknown.append(role)
        elif name not in roles:
            roles.append(name)
    return tuple(roles), unknown


def known_roles(directory_roles: Iterable[str]) -> list[str]:
    seen = list(ROLES)
    for role in directory_roles:
        if role and role not in seen:
            seen.append(role)
    return seen


_YES = {"", "1", "kyllä", "kylla", "k", "yes", "y", "true", "x", "aktiivinen", "active", "voimassa"}
_NO = {"0", "ei", "e", "no", "n", "false", "lähtenyt", "lahtenyt", "left", "poistunut", "inactive"}


def parse_active(text: str) -> bool | None:
    """``kyllä``/``ei`` and the like; None when the text means neither."""
    value = text.strip().casefold()
    if value in _YES:
        return True
    if value in _NO:
        return False
    return None


def parse_day(text: str) -> date | None:
    """``2026-01-31`` or ``31.1.2026``; raises ValueError. Empty → None."""
    text = text.strip()
    if not text:
        return None
    if re.fullmatch(r"\d{1,2}\.\d{1,2}\.\d{4}", text):
        day, month, year = (int(part) for part in text.split("."))
        return date(year, month, day)
    return date.fromisoformat(text)


@dataclass(frozen=True)
class Draft:
    """A person's fields as typed in the form (or read from a CSV row), before checking."""

    name: str
    email: str
    phone: str = ""
    unit: str = ""  # the unit's name, "" = none
    roles: str = ""  # comma-separated
    language: str = "fi"


@dataclass(frozen=True)
class Checked:
    """A draft that passed: the values to write (the unit resolved to its id)."""

    name: str
    email: str
    phone: str
    unit_id: int | None
    roles: tuple[str, ...]
    language: str


def check_draft(
    draft: Draft,
    *,
    units: Mapping[str, int],
    roles: Iterable[str],
    emails: Mapping[str, list[int]],
    person_id: int | None = None,
    labels: Mapping[int, str] | None = None,
    roles_by_fold: Mapping[str, str] | None = None,
    hetu_checked: bool = False,
) -> tuple[Checked | None, list[Problem]]:
    """Check a form's (or a row's) fields against the directory.

    ``units`` maps a folded unit name to its id; ``emails`` maps an address key to the ids of the
    people who have it; ``person_id`` is the person being edited (their own address is no duplicate).
    """
    problems: list[Problem] = []
    if not hetu_checked:
        fields = (
            ("name", N_("name"), draft.name),
            ("email", N_("e-mail address"), draft.email),
            ("phone", N_("phone"), draft.phone),
            ("unit", N_("unit"), draft.unit),
            ("roles", N_("roles"), draft.roles),
            ("language", N_("language"), draft.language),
        )
        for field, label, value in fields:
            if may_hold_hetu(value) and contains_hetu(value):
                problems.append(hetu_problem(_(label), field))
        if problems:
            return None, problems  # nothing else is said about a row carrying an identity code
    # Stored as shown: escapes, control and bidi characters (a CSV from anywhere) are dropped here.
    name = " ".join(clean_line(draft.name, 10 * NAME_LIMIT).split())
    if not name:
        problems.append(Problem(NAME_MISSING, _("The name is missing."), "name"))
    elif len(name) > NAME_LIMIT:
        problems.append(too_long("name", _("name"), NAME_LIMIT))
    email, problem = check_email(draft.email)
    if problem is not None:
        problems.append(problem)
    elif email is not None:
        others = [pid for pid in emails.get(email_key(email), []) if pid != person_id]
        if others:
            who = (labels or {}).get(others[0], "")
            problems.append(
                Problem(
                    EMAIL_TAKEN,
                    _("{address} belongs to {name} in the directory already.").format(
                        address=email, name=who or _("another person")
                    ),
                    "email",
                )
            )
    phone = " ".join(clean_line(draft.phone, 10 * PHONE_LIMIT).split())
    if len(phone) > PHONE_LIMIT:
        problems.append(too_long("phone", _("phone"), PHONE_LIMIT))
    elif phone and not _PHONE.match(phone):
        problems.append(
            Problem(
                PHONE_INVALID,
                _("{phone} is not a phone number; use digits, spaces and a leading +.").format(phone=phone),
                "phone",
            )
        )
    unit_id: int | None = None
    unit_name = " ".join(draft.unit.split())
    if unit_name:
        unit_id = units.get(fold(unit_name))
        if unit_id is None:
            problems.append(
                Problem(
                    UNIT_UNKNOWN,
                    _("There is no unit {unit}; add it on the Network screen or fix the name.").format(
                        unit=unit_name
                    ),
                    "unit",
                )
            )
    wanted = split_roles(draft.roles)
    canonical, unknown = canonical_roles(wanted, roles_by_fold if roles_by_fold is not None else roles)
    if any(len(role) > ROLE_LIMIT for role in wanted):
        problems.append(too_long("roles", _("role"), ROLE_LIMIT))
    elif unknown:
        problems.append(
            Problem(
                ROLE_UNKNOWN,
                _("Unknown role {role}; the roles are: {roles}.").format(
                    role=", ".join(unknown), roles=", ".join(roles)
                ),
                "roles",
            )
        )
    language = draft.language.strip().casefold() or "fi"
    if language not in LANGUAGES:
        problems.append(
            Problem(
                LANGUAGE_INVALID,
                _("The language must be fi or sv, not {value}.").format(value=draft.language.strip()),
                "language",
            )
        )
    if problems or email is None:
        return None, problems
    return Checked(name, email, phone, unit_id, canonical, language), []
