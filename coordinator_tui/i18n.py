"""The UI's language: gettext catalogs with English message ids, Finnish by default.

Strings that are defined at import time (binding descriptions, class attributes) are marked with
``N_`` and translated when they are shown, so the language can be chosen after import.
"""

from __future__ import annotations

import gettext
from pathlib import Path
from typing import Literal

from store import errors as store_errors

Language = Literal["fi", "en"]
DOMAIN = "coordinator_tui"
LOCALE_DIR = Path(__file__).parent / "locale"

_translation: gettext.NullTranslations = gettext.NullTranslations()
_language: Language = "en"


def set_language(language: Language) -> None:
    """Switch every later ``_()`` call to ``language`` (English is the message ids themselves)."""
    global _translation, _language
    if language == "en":
        _translation = gettext.NullTranslations()
    else:
        _translation = gettext.translation(DOMAIN, LOCALE_DIR, languages=[language])
    _language = language


def current_language() -> Language:
    return _language


def _(message: str) -> str:
    """Translate ``message`` into the current language."""
    return _translation.gettext(message) if message else message


def ngettext(singular: str, plural: str, count: int) -> str:
    return _translation.ngettext(singular, plural, count)


def count_text(singular: str, plural: str, count: int) -> str:
    """``ngettext`` with ``{n}`` filled in: ``count_text("{n} new item", "{n} new items", 3)``."""
    return _translation.ngettext(singular, plural, count).format(n=count)


def N_(message: str) -> str:
    """Mark ``message`` for translation without translating it now (it is translated when shown)."""
    return message


# The store knows no UI: its words for a full disk, a locked store, ... are read through our catalog.
store_errors.set_translator(_)
set_language("fi")
