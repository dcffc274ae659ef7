"""The default checklists, in Finnish: a new responsible user's onboarding and its reverse.

From the seeds and common practice: the manager names the new responsible user; access is applied
for in the county's identity management; the Omaolo course on the county's learning platform comes
before the professional rights (seeds/002); the person joins the network's lists, disruption notices
included; the regional instructions are handed over; and a month later the coordinator follows up.
Offsets are working days from the start date; a negative offset is due before the start.
"""

from __future__ import annotations

from store.onboarding import ItemSpec

ONBOARDING_FAMILY = "vastuukäyttäjä-perehdytys"
ONBOARDING_NAME = "Vastuukäyttäjän perehdytys"
OFFBOARDING_FAMILY = "vastuukäyttäjä-poistuminen"
OFFBOARDING_NAME = "Vastuukäyttäjän poistuminen"

# Who does an item: the values the template item's ``who`` column holds.
WHO = ("koordinaattori", "uusi käyttäjä", "esihenkilö", "ICT")

ONBOARDING_ITEMS: tuple[ItemSpec, ...] = (
    ItemSpec("Esihenkilön nimeämisilmoitus vastaanotettu", "koordinaattori", -5),
    ItemSpec("Käyttöoikeushakemus tehty hyvinvointialueen käyttövaltuushallintaan", "esihenkilö", -4),
    ItemSpec(
        "Omaolo-verkkokurssi suoritettu alueen oppimisympäristössä (edellytys käyttöoikeuksille)",
        "uusi käyttäjä",
        -2,
    ),
    ItemSpec("Omaolon ammattilaisoikeudet ja kirjautumistapa asetettu", "ICT", -1),
    ItemSpec("Lisätty verkoston jakelulistoille, myös häiriötiedotteiden listalle", "koordinaattori", 0),
    ItemSpec("Alueelliset ohjeet ja dokumentit luovutettu", "koordinaattori", 1),
    ItemSpec("Testiympäristön tunnukset toimitettu (jos testiympäristö on käytössä)", "ICT", 2),
    ItemSpec("Tutustumispalaveri koordinaattorin kanssa pidetty", "koordinaattori", 3),
    ItemSpec("Potilasturvallisuus ja HaiPro-ilmoituskäytäntö käyty läpi", "esihenkilö", 5),
    ItemSpec("Tietosuojakoulutus suoritettu", "uusi käyttäjä", 10),
    ItemSpec("Seurantakeskustelu kuukauden kuluttua", "koordinaattori", 21),
)

OFFBOARDING_ITEMS: tuple[ItemSpec, ...] = (
    ItemSpec("Seuraaja nimetty ja perehdytys aloitettu", "esihenkilö", -5),
    ItemSpec("Avoimet palvelupyynnöt siirretty seuraajalle", "koordinaattori", -2),
    ItemSpec("Poistettu verkoston jakelulistoilta", "koordinaattori", 0),
    ItemSpec("Omaolon ammattilaisoikeudet poistettu", "ICT", 0),
    ItemSpec("Käyttöoikeudet poistettu käyttövaltuushallinnasta", "esihenkilö", 0),
    ItemSpec("Testiympäristön tunnukset poistettu", "ICT", 2),
)

DEFAULTS = (
    (ONBOARDING_FAMILY, ONBOARDING_NAME, "onboarding", ONBOARDING_ITEMS),
    (OFFBOARDING_FAMILY, OFFBOARDING_NAME, "offboarding", OFFBOARDING_ITEMS),
)


def template_text(items: tuple[ItemSpec, ...] | list[ItemSpec]) -> str:
    """A template's items as the editor shows them: one per line, ``offset | who | text | link``."""
    return "\n".join(
        " | ".join(
            part
            for part in (f"{item.offset:+d}" if item.offset else "0", item.who, item.text, item.link)
            if part
        )
        for item in items
    )


def parse_template_text(text: str) -> tuple[list[ItemSpec], list[str]]:
    """The editor's lines back into items, and what is wrong with the lines that do not read
    (translated, with the line number). The offset is working days from the start, negative before it."""
    from coordinator_tui.hetu import contains_hetu
    from coordinator_tui.i18n import _

    items: list[ItemSpec] = []
    problems: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = [part.strip() for part in line.split("|")]
        if len(parts) < 3 or len(parts) > 4:
            problems.append(
                _("Line {line}: write offset | who | text | link (the link may be left out).").format(
                    line=number
                )
            )
            continue
        offset_text, who, item_text = parts[:3]
        link = parts[3] if len(parts) == 4 else ""
        try:
            offset = int(offset_text.replace("−", "-"))
        except ValueError:
            problems.append(
                _("Line {line}: {value} is not a number of working days (e.g. -3, 0, 5).").format(
                    line=number, value=offset_text
                )
            )
            continue
        if who not in WHO:
            problems.append(_("Line {line}: who is one of {who}.").format(line=number, who=", ".join(WHO)))
            continue
        if not item_text:
            problems.append(_("Line {line}: the item has no text.").format(line=number))
            continue
        if link and not link.startswith(("https://", "http://")):
            problems.append(_("Line {line}: a link starts with https://.").format(line=number))
            continue
        if contains_hetu(item_text) or contains_hetu(link):
            problems.append(
                _("Line {line}: contains a Finnish personal identity code; remove it.").format(line=number)
            )
            continue
        items.append(ItemSpec(item_text, who, offset, link))
    if not items and not problems:
        problems.append(_("A checklist needs at least one item."))
    return items, problems


# Words of an access-rights item (käyttöoikeus, ammattilaisoikeudet, tunnukset): a run started from a
# request links these items to it, so the request that asked for the rights is one step away.
ACCESS_WORDS = ("käyttöoikeu", "oikeudet", "oikeuksi", "tunnukset", "access", "rights")


def is_access_item(text: str) -> bool:
    folded = text.casefold()
    return any(word in folded for word in ACCESS_WORDS)
