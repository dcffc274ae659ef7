"""The fixed words of the domain that queries depend on (statuses as stored, in Finnish)."""

from __future__ import annotations

REQUEST_STATUSES = (
    "uusi",
    "käsittelyssä",
    "odottaa pyytäjää",
    "odottaa DigiFinlandia",
    "ratkaistu",
    "suljettu",
)
OPEN_STATUSES = REQUEST_STATUSES[:4]
# The due-time clock pauses while the request waits on its requester.
CLOCK_RUNNING_STATUSES = ("uusi", "käsittelyssä", "odottaa DigiFinlandia")

REQUEST_CATEGORIES = (
    "käyttöoikeus",
    "taustamääritys",
    "vika tai häiriö",
    "käyttöönoton tuki",
    "asiakaspalaute",
    "muu",
)

NOTICE_KINDS = ("häiriö", "katko", "hidastelu", "huoltokatko", "tiedote")
NOTICE_STATUSES = (
    "tutkitaan",
    "syy tunnistettu",
    "seurataan",
    "korjattu",
    "aikataulutettu",
    "käynnissä",
    "päättynyt",
    "peruttu",
)
