"""The demo's words: units, names, and the Finnish phrases its mail, requests, feeds and notices are made of.

Every place, person and address here is invented; the mail domains are example domains.
"""

from __future__ import annotations

COUNTY_DOMAIN = "pohde.example.fi"
DIGIFINLAND_DOMAIN = "digifinland.example.fi"
SHARED_MAILBOX = f"omaolo@{COUNTY_DOMAIN}"
SHARED_MAILBOX_NAME = "Omaolo-koordinaattori"
# Who the coordinator's changes are recorded as; the second covers holidays.
COORDINATORS = ("Sanna Kivelä", "Jari Pesonen")
SYSTEM_ACTOR = "järjestelmä"

# (name, area, kind): kind picks the services a unit is likely to use.
UNITS = [
    ("Oulun terveysasemat – Tuira", "Oulu", "health"),
    ("Kuusamon terveyskeskus", "Kuusamo", "health"),
    ("Raahen sosiaalipalvelut", "Raahe", "social"),
    ("Oulun terveysasemat – Kaijonharju", "Oulu", "health"),
    ("Ylivieskan terveysasema", "Ylivieska", "health"),
    ("Kempeleen terveysasema", "Kempele", "health"),
    ("Oulun sosiaalipalvelut – aikuissosiaalityö", "Oulu", "social"),
    ("Raahen terveysasema", "Raahe", "health"),
    ("Oulun terveysasemat – Kaakkuri", "Oulu", "health"),
    ("Nivalan terveysasema", "Nivala", "health"),
    ("Pudasjärven sosiaali- ja terveysasema", "Pudasjärvi", "health"),
    ("Limingan terveysasema", "Liminka", "health"),
    ("Oulun terveysasemat – Haukipudas", "Oulu", "health"),
    ("Kuusamon sosiaalipalvelut", "Kuusamo", "social"),
    ("Oulaisten terveysasema", "Oulainen", "health"),
    ("Kalajoen terveysasema", "Kalajoki", "health"),
    ("Oulun terveysasemat – Oulunsalo", "Oulu", "health"),
    ("Haapajärven terveysasema", "Haapajärvi", "health"),
    ("Taivalkosken terveysasema", "Taivalkoski", "health"),
    ("Muhoksen terveysasema", "Muhos", "health"),
    ("Iin terveysasema", "Ii", "health"),
    ("Ylivieskan sosiaalipalvelut", "Ylivieska", "social"),
    ("Oulun terveysasemat – Kiiminki", "Oulu", "health"),
    ("Siikajoen terveysasema", "Siikajoki", "health"),
    ("Haapaveden terveysasema", "Haapavesi", "health"),
    ("Pyhäjärven terveysasema", "Pyhäjärvi", "health"),
    ("Oulun terveysasemat – Rajakylä", "Oulu", "health"),
    ("Sievin terveysasema", "Sievi", "health"),
    ("Utajärven terveysasema", "Utajärvi", "health"),
    ("Oulun sosiaalipalvelut – lapsiperheet", "Oulu", "social"),
]

SERVICES = ("oirearviot", "palveluarviot", "työjonolähetys", "ajanvaraus", "ammattilaisen käyttöliittymä")
# How likely a unit of each kind uses each service.
SERVICE_SHARE = {
    "health": {
        "oirearviot": 0.95,
        "palveluarviot": 0.6,
        "työjonolähetys": 0.75,
        "ajanvaraus": 0.45,
        "ammattilaisen käyttöliittymä": 1.0,
    },
    "social": {
        "oirearviot": 0.0,
        "palveluarviot": 1.0,
        "työjonolähetys": 0.6,
        "ajanvaraus": 0.2,
        "ammattilaisen käyttöliittymä": 1.0,
    },
}

FIRST_NAMES = [
    "Aino", "Anna", "Anne", "Anu", "Elina", "Eija", "Hanna", "Heidi", "Helena", "Jaana", "Johanna",
    "Katja", "Kaisa", "Kirsi", "Laura", "Leena", "Maarit", "Marja", "Mervi", "Minna", "Niina", "Outi",
    "Paula", "Pirjo", "Riikka", "Satu", "Sari", "Suvi", "Tiina", "Tuula", "Ulla", "Antti", "Ari", "Eero",
    "Harri", "Heikki", "Janne", "Jukka", "Juha", "Kari", "Markku", "Matti", "Mikko", "Pasi", "Pekka",
    "Petri", "Sami", "Timo", "Tuomas", "Ville",
]  # fmt: skip
LAST_NAMES = [
    "Heikkinen", "Hänninen", "Juntunen", "Kemppainen", "Kinnunen", "Koskela", "Karjalainen", "Laitinen",
    "Lehtonen", "Mäkelä", "Niskanen", "Oikarinen", "Pikkarainen", "Rahkonen", "Ranta", "Salmela",
    "Savolainen", "Tervo", "Tolonen", "Turunen", "Väisänen", "Ylitalo", "Hirvonen", "Kähkönen", "Määttä",
    "Jokela", "Nevala", "Paaso", "Kangas", "Leinonen", "Keränen", "Honkanen", "Seppänen", "Ahola",
    "Vähäkangas", "Pietilä", "Rautio", "Ojala",
]  # fmt: skip
# Names of the few people who get notices in Swedish.
SWEDISH_NAMES = ["Karin Lindqvist", "Johan Sjöberg", "Maria Nyström", "Anders Holmström"]

UNIT_ROLES = ("vastuukäyttäjä", "esihenkilö", "vastuukäyttäjä")
COUNTY_ROLES = (
    "tuotevastaava",
    "Omaolovastaava",
    "pääkäyttäjä",
    "ICT-asiantuntija",
    "tuotevastaava",
    "ICT-asiantuntija",
    "pääkäyttäjä",
    "Omaolovastaava",
    "ICT-asiantuntija",
)

# --- Requests from units: (category, subject, sentences of the first mail) ------------------------

REQUEST_TOPICS = [
    (
        "käyttöoikeus",
        "Käyttöoikeus Omaoloon uudelle sairaanhoitajalle",
        [
            "Yksikköömme {unit} aloittaa uusi sairaanhoitaja ensi maanantaina.",
            "Hän tarvitsee ammattilaisen käyttöliittymään oikeudet työjonon käsittelyyn.",
            "Käyttöoikeushakemus on tehty käyttövaltuushallintaan, mutta oikeuksia ei vielä näy.",
        ],
    ),
    (
        "käyttöoikeus",
        "Ammattilaisen käyttöliittymään ei pääse kirjautumaan",
        [
            "Kaksi hoitajaamme ei pääse kirjautumaan ammattilaisen käyttöliittymään.",
            "Kirjautuminen toimikortilla päättyy virheilmoitukseen puuttuvista oikeuksista.",
            "Muilla yksikön käyttäjillä kirjautuminen toimii normaalisti.",
        ],
    ),
    (
        "käyttöoikeus",
        "Käyttöoikeuksien poisto, työsuhde päättynyt",
        [
            "Yksiköstämme on lähtenyt kaksi työntekijää kuun lopussa.",
            "Pyydämme poistamaan heidän Omaolo-käyttöoikeutensa.",
            "Esihenkilö on hyväksynyt poiston käyttövaltuushallinnassa.",
        ],
    ),
    (
        "käyttöoikeus",
        "Lisäys työjonoon: {unit}",
        [
            "Voisitteko lisätä yksikön uudet hoitajat työjonon käsittelijöiksi?",
            "Heillä on jo ammattilaisen käyttöliittymän perusoikeudet.",
            "Työjono näkyy heille tyhjänä, vaikka arvioita on jonossa.",
        ],
    ),
    (
        "taustamääritys",
        "Taustamääritysten muutos: yhteystiedot",
        [
            "Yksikön {unit} puhelinnumero ja aukioloajat muuttuvat ensi kuun alusta.",
            "Tiedot pitäisi päivittää Omaolon taustamäärityksiin, jotta asiakkaat saavat oikeat ohjeet.",
            "Liitteenä uudet yhteystiedot.",
        ],
    ),
    (
        "taustamääritys",
        "Palveluarvio ohjautuu väärään työjonoon",
        [
            "Palveluarviot ohjautuvat meillä aikuissosiaalityön sijaan lapsiperheiden työjonoon.",
            "Ongelma alkoi viime viikon julkaisun jälkeen.",
            "Voisitteko tarkistaa ohjaussäännöt taustamäärityksistä?",
        ],
    ),
    (
        "taustamääritys",
        "Muutospyyntö: uusi työjono etävastaanotolle",
        [
            "Aloitamme etävastaanoton ensi kuussa ja tarvitsemme sille oman työjonon.",
            "Oirearvioiden pitäisi ohjautua sinne arkisin klo 8–16.",
            "Kerrotteko, mitä tietoja muutospyyntöön tarvitaan?",
        ],
    ),
    (
        "taustamääritys",
        "Yksikön nimi muuttuu vuodenvaihteessa",
        [
            "Yksikkömme nimi muuttuu vuodenvaihteessa osana palveluverkon uudistusta.",
            "Nimi näkyy asiakkaille Omaolon yhteydenottopyynnöissä.",
            "Pyydämme päivittämään nimen taustamäärityksiin 1.1. alkaen.",
        ],
    ),
    (
        "vika tai häiriö",
        "Työjonolähetys ei toimi",
        [
            "Asiakkaiden lähettämiä oirearvioita ei ole tullut työjonoon aamun jälkeen.",
            "Asiakkaat kertovat puhelimessa tehneensä arvion, mutta jono on tyhjä.",
            "Ohjaamme asiakkaita toistaiseksi soittamaan terveysasemalle.",
        ],
    ),
    (
        "vika tai häiriö",
        "Oirearvio jumittuu viimeiselle sivulle",
        [
            "Asiakas ilmoitti, että oirearvio jää jumiin yhteenvetosivulle.",
            "Sama toistui meillä testatessa puhelimella, tietokoneella arvio valmistui.",
            "Liitteenä kuvakaappaus virheestä.",
        ],
    ),
    (
        "vika tai häiriö",
        "Virheilmoitus ammattilaisen käyttöliittymässä",
        [
            "Ammattilaisen käyttöliittymä antaa satunnaisesti virheilmoituksen arviota avattaessa.",
            "Virhe häviää, kun sivun lataa uudelleen.",
            "Ongelmaa on esiintynyt usealla käyttäjällä tällä viikolla.",
        ],
    ),
    (
        "vika tai häiriö",
        "Ajanvaraus näyttää vanhoja aikoja",
        [
            "Omaolon ajanvaraus näyttää asiakkaille aikoja, jotka on jo poistettu kalenterista.",
            "Kaksi asiakasta on tullut varatulle ajalle, jota meillä ei ole.",
            "Voisitteko selvittää, päivittyykö kalenteri oikein?",
        ],
    ),
    (
        "käyttöönoton tuki",
        "Palveluarvioiden käyttöönotto",
        [
            "Suunnittelemme palveluarvioiden käyttöönottoa keväällä.",
            "Olisiko mahdollista sopia palaveri käyttöönoton vaiheista ja koulutuksesta?",
            "Mukana olisivat esihenkilö ja kaksi vastuukäyttäjää.",
        ],
    ),
    (
        "käyttöönoton tuki",
        "Koulutustoive: työjonon käsittely",
        [
            "Uudet työntekijät toivovat koulutusta työjonon käsittelyyn.",
            "Sopisiko lyhyt Teams-koulutus jollekin iltapäivälle?",
            "Osallistujia olisi noin kymmenen.",
        ],
    ),
    (
        "käyttöönoton tuki",
        "Testiympäristön tunnukset käyttöönottoa varten",
        [
            "Tarvitsemme testiympäristön tunnukset kolmelle henkilölle käyttöönoton valmisteluun.",
            "Haluaisimme testata työjonolähetyksen ennen tuotantoon siirtymistä.",
        ],
    ),
    (
        "asiakaspalaute",
        "VS: Asiakaspalaute Omaolon oirearviosta",
        [
            "Välitän asiakkaalta tulleen palautteen Omaolon oirearviosta.",
            "Asiakkaan mielestä kysymykset olivat osin vaikeasti ymmärrettäviä.",
            "Palautteessa ei ole asiakkaan yhteystietoja eikä henkilötietoja.",
        ],
    ),
    (
        "asiakaspalaute",
        "VS: Palaute: arvio ei ohjannut ottamaan yhteyttä",
        [
            "Asiakas antoi palautetta, että arvio ohjasi omahoitoon, vaikka oireet jatkuivat.",
            "Välitän palautteen tiedoksi ja mahdollista jatkokäsittelyä varten.",
        ],
    ),
    (
        "muu",
        "Tilastot Omaolon käytöstä",
        [
            "Saisimmeko yksikön Omaolo-käyttötilastot edelliseltä neljännekseltä?",
            "Tarvitsemme lukuja johtoryhmän kokoukseen.",
        ],
    ),
    (
        "muu",
        "Kysymys Omaolon ruotsinkielisestä versiosta",
        [
            "Onko Omaolon oirearvioista saatavilla ruotsinkielinen versio?",
            "Muutama asiakkaamme on kysynyt asiaa.",
        ],
    ),
]
CATEGORY_WEIGHTS = {
    "käyttöoikeus": 30,
    "taustamääritys": 20,
    "vika tai häiriö": 18,
    "käyttöönoton tuki": 12,
    "asiakaspalaute": 10,
    "muu": 10,
}
WORK_QUEUE_FAULT = "Työjonolähetys ei toimi"

GREETINGS = ["Hei,", "Hei!", "Moi,", "Hei Omaolo-koordinaattori,", "Hyvää huomenta,", "Hei kaikki,"]
CLOSINGS = [
    "Kiitos etukäteen!",
    "Kiitos avusta!",
    "Terveisin,",
    "Ystävällisin terveisin,",
    "Kiitos jo etukäteen, terveisin",
]

COORDINATOR_REPLIES = {
    "ack": [
        "Kiitos viestistä. Otimme pyynnön käsittelyyn ja palaamme asiaan mahdollisimman pian.",
        "Pyyntö on kirjattu tunnuksella {reference}. Selvitämme asiaa ja ilmoitamme tilanteesta.",
    ],
    "question": [
        "Tarvitsemme vielä lisätietoja: milloin asia alkoi ja koskeeko se kaikkia yksikön käyttäjiä?",
        "Voisitteko kertoa tarkemmin, mitä tapahtui ja milloin? Kuvakaappaus auttaa, kunhan siinä ei "
        "näy asiakkaan tietoja.",
        "Tarkentaisitteko vielä, keitä pyyntö koskee ja mistä alkaen muutos tarvitaan?",
    ],
    "escalated": [
        "Välitimme asian DigiFinlandin Omaolo-tukeen, tunnus {ticket}. Ilmoitamme, kun saamme vastauksen.",
        "Asia vaatii DigiFinlandin selvityksen. Tiketti {ticket} on avattu, ja seuraamme sitä.",
    ],
    "discussion": [
        "Kiitos, hyvä kysymys! Kokoan vastaukset ja jaan yhteenvedon verkostolle.",
        "Otetaan tämä aiheeksi seuraavaan verkostotapaamiseen.",
    ],
}
# The coordinator's closing reply, by the request's category.
SOLUTIONS = {
    "käyttöoikeus": [
        "Oikeudet on lisätty, ja ne ovat voimassa seuraavasta kirjautumisesta alkaen.",
        "Käyttöoikeudet on päivitetty käyttövaltuushallintaan. Pyydättehän käyttäjiä kirjautumaan uudelleen.",
    ],
    "taustamääritys": [
        "Taustamääritykset on päivitetty. Muutos näkyy asiakkaille huomisesta alkaen.",
        "Muutos on tehty taustamäärityksiin. Voisitteko tarkistaa, että kaikki näkyy oikein?",
    ],
    "vika tai häiriö": [
        "Vika on korjattu; arviot siirtyvät taas työjonoon normaalisti.",
        "DigiFinland on korjannut vian tuotantoon. Kertokaa, jos ongelma toistuu.",
    ],
    "käyttöönoton tuki": [
        "Sovitaan palaveri kalenterikutsulla. Lähetän materiaalin etukäteen.",
        "Testiympäristön tunnukset on toimitettu erikseen. Onnea käyttöönottoon!",
    ],
    "asiakaspalaute": [
        "Kiitos palautteesta. Välitimme sen DigiFinlandille oirearvion kehittämistä varten.",
    ],
    "muu": [
        "Lähetin pyytämänne tiedot erillisessä viestissä.",
        "Vastaus kysymykseenne löytyy Omaolon ammattilaisohjeista; linkki alla.",
    ],
}
REQUESTER_REPLIES = {
    "thanks": ["Kiitos, nyt toimii!", "Kiitos nopeasta avusta, asia on kunnossa.", "Kiitos, tarkistettu."],
    "info": [
        "Asia alkoi eilen aamupäivällä ja koskee kaikkia yksikön käyttäjiä.",
        "Liitteenä kuvakaappaus. Asiakkaan tietoja siinä ei näy.",
        "Pyyntö koskee kolmea hoitajaa, tiedot alla. Muutos tarvittaisiin ensi maanantaista.",
    ],
    "nudge": ["Onko tähän tullut jo ratkaisua?", "Kysyn vielä tilannetta, asia on meille kiireellinen."],
}
REQUEST_NOTES = [
    "Soitettu pyytäjälle, asia selvitetty puhelimessa.",
    "Tarkistettu taustamääritykset, ei poikkeamia.",
    "Odotetaan DigiFinlandin vastausta.",
    "Käyttöoikeus lisätty käyttövaltuushallinnassa; voimassa seuraavana päivänä.",
    "Sama ongelma kahdessa muussa yksikössä, seurataan.",
    "Sovittu Teams-palaveri ensi viikolle.",
    "Pyytäjä lomalla, jatketaan ensi viikolla.",
    "Ohje lähetetty sähköpostilla.",
]
REQUEST_TAGS = ["työjono", "kirjautuminen", "Suomi.fi", "ruotsinkielinen", "toistuva", "koulutus"]

# --- Other mail to the shared mailbox ----------------------------------------------------------

RELEASE_CHANGES = [
    "Hengitystieinfektion oirearvion kysymyksiä on selkeytetty.",
    "Ammattilaisen käyttöliittymän työjonoon on lisätty suodatus arvion kiireellisyyden mukaan.",
    "Palveluarvion yhteenvetoon on lisätty asiakkaan antamat lisätiedot.",
    "Ajanvarauksen vahvistusviestin sisältöä on muutettu.",
    "Ruotsinkielisiin käännöksiin on tehty korjauksia.",
    "Saavutettavuutta on parannettu ruudunlukijan käyttäjille.",
    "Kirjautumisen istunnon aikakatkaisu on pidennetty 30 minuuttiin.",
]
NEWSLETTER_TOPICS = [
    "Omaolon käyttö kasvoi syksyllä lähes kolmanneksella.",
    "Uusi oirearvio virtsatieinfektion arviointiin tulossa alkuvuodesta.",
    "Vastuukäyttäjien verkostotapaaminen pidetään etänä.",
    "Kokemuksia työjonolähetyksestä hyvinvointialueilta.",
    "Muistutus: huoltokatkot ilmoitetaan viikkoa etukäteen.",
    "Omaolon tietosuojaseloste on päivitetty.",
    "Koulutuskalenteri on julkaistu oppimisympäristössä.",
]
DISCUSSION_SUBJECTS = [
    "Miten ohjeistatte asiakkaita Omaolon käytössä?",
    "Vastuukäyttäjien verkostotapaaminen",
    "Kokemuksia palveluarvioiden käsittelyajoista?",
    "Työjonon käsittely viikonloppuisin",
    "Muistio: vastuukäyttäjien kokous",
    "Omaolo-esitteet asiakkaille",
]
DISCUSSION_LINES = [
    "Meillä työjono käsitellään kolme kertaa päivässä, ja se on toiminut hyvin.",
    "Olemme tulostaneet odotustiloihin esitteen, jossa on QR-koodi Omaoloon.",
    "Kiinnostaisi kuulla, miten muut ovat järjestäneet varahenkilöt lomien ajaksi.",
    "Liitteenä muistio edellisestä tapaamisesta.",
    "Sopii meille, osallistun.",
    "Meillä sama kokemus, palveluarviot viivästyvät maanantaisin.",
    "Hyvä idea, otetaan tämä myös meillä käyttöön.",
]
THANKS_FEEDBACK = [
    "Asiakas kiitti, että sai oirearvion tehtyä illalla ja yhteydenotto tuli seuraavana aamuna.",
    "Asiakas kertoi palveluarvion säästäneen yhden käynnin.",
    "Positiivista palautetta Omaolon helppokäyttöisyydestä.",
]
AUTO_REPLY_LINES = [
    "Olen lomalla {date} asti. Kiireellisissä asioissa ota yhteyttä yksikön esihenkilöön.",
    "Olen koulutuksessa enkä lue sähköpostia. Vastaan viesteihin palattuani.",
]

# Attachments: (file name pattern, content type, typical size in bytes)
_OFFICE = "application/vnd.openxmlformats-officedocument"
ATTACHMENT_KINDS = {
    "screenshot": ("kuvakaappaus.png", "image/png", 240_000),
    "form": ("käyttöoikeushakemus.pdf", "application/pdf", 90_000),
    "contacts": ("yhteystiedot.docx", f"{_OFFICE}.wordprocessingml.document", 28_000),
    "release": ("julkaisutiedote_{version}.pdf", "application/pdf", 310_000),
    "minutes": ("muistio.pdf", "application/pdf", 120_000),
    "statistics": ("omaolo_kayttotilastot.xlsx", f"{_OFFICE}.spreadsheetml.sheet", 45_000),
}

# --- Feeds ---------------------------------------------------------------------------------------

# (name, title, feed URL, site, share of the items)
FEEDS = [
    (
        "DigiFinland",
        "DigiFinland – ajankohtaista",
        "https://www.digifinland.example.fi/feed/",
        "https://www.digifinland.example.fi",
        0.35,
    ),
    (
        "Omaolo",
        "Omaolo – tiedotteet ammattilaisille",
        "https://www.omaolo.example.fi/ammattilaiset/rss.xml",
        "https://www.omaolo.example.fi",
        0.30,
    ),
    (
        "Kanta",
        "Kanta-palvelut – ammattilaisten uutiset",
        "https://www.kanta.example.fi/ammattilaiset/rss",
        "https://www.kanta.example.fi",
        0.20,
    ),
    (
        "THL",
        "THL – uutiset ja tiedotteet",
        "https://thl.example.fi/uutiset/rss",
        "https://thl.example.fi",
        0.15,
    ),
]
FEED_TITLES = {
    "DigiFinland": [
        "Omaolon versiojulkaisu {version}",
        "Huoltokatko Omaolossa {date}",
        "DigiFinlandin uutiskirje {month}",
        "Hyvinvointialueiden Omaolo-verkoston tapaaminen {date}",
        "Omaolon käyttötilastot: {month}",
    ],
    "Omaolo": [
        "Uusi oirearvio käyttöön: {topic}",
        "Päivitys ammattilaisen käyttöliittymään",
        "Omaolon ohjeet ammattilaisille päivitetty",
        "Palveluarvioiden uudet kysymykset {month}",
    ],
    "Kanta": [
        "Kanta-palveluiden käyttökatko {date}",
        "Kanta-palveluiden uutiskirje {month}",
        "Muutoksia Omakannan ajanvarausliittymään",
    ],
    "THL": [
        "THL: Influenssakausi {year} alkanut",
        "THL: Hoitoon pääsyn tilastot {month}",
        "THL: Uusi suositus digitaalisista palveluista",
    ],
}
FEED_TOPICS = [
    "virtsatieinfektio",
    "selkäkipu",
    "silmäoireet",
    "hengitystieinfektio",
    "ihottuma",
    "mielen hyvinvointi",
]
FEED_SENTENCES = [
    "Muutos koskee kaikkia Omaoloa käyttäviä hyvinvointialueita.",
    "Lisätietoja saa DigiFinlandin Omaolo-tuesta.",
    "Päivitys tulee käyttöön ilman toimenpiteitä hyvinvointialueilla.",
    "Vastuukäyttäjiä pyydetään tiedottamaan muutoksesta omissa yksiköissään.",
    "Katko ei vaikuta jo lähetettyihin arvioihin.",
    "Julkaisu tehdään illalla palvelun käytön ollessa vähäisintä.",
    "Tilastot julkaistaan kuukausittain.",
]

MONTHS = [
    "tammikuu", "helmikuu", "maaliskuu", "huhtikuu", "toukokuu", "kesäkuu",
    "heinäkuu", "elokuu", "syyskuu", "lokakuu", "marraskuu", "joulukuu",
]  # fmt: skip

# --- Onboarding ----------------------------------------------------------------------------------

# (text, who, due offset in working days from the start date, link)
ONBOARDING_ITEMS = [
    ("Esihenkilön nimeämisilmoitus vastaanotettu", "koordinaattori", -5, ""),
    ("Käyttöoikeushakemus tehty hyvinvointialueen käyttövaltuushallintaan", "esihenkilö", -3, ""),
    ("Omaolon ammattilaisoikeudet ja kirjautumistapa (toimikortti) tarkistettu", "ICT", -1, ""),
    ("Omaolo-verkkokurssi suoritettu oppimisympäristössä", "uusi käyttäjä", 5,
     "https://oppiminen.example.fi/kurssit/omaolo-ammattilaiset"),
    ("Lisätty jakelulistoille, myös häiriötiedotteiden listalle", "koordinaattori", 0, ""),
    ("Alueelliset ohjeet ja toimintamallit luovutettu", "koordinaattori", 1,
     f"https://intra.{COUNTY_DOMAIN}/omaolo/ohjeet"),
    ("Testiympäristön tunnukset toimitettu", "ICT", 2, ""),
    ("Potilasturvallisuus ja HaiPro-ilmoituskäytäntö käyty läpi", "esihenkilö", 5, ""),
    ("Tietosuojakoulutus suoritettu", "uusi käyttäjä", 10, "https://oppiminen.example.fi/kurssit/tietosuoja"),
    ("Tutustumispalaveri koordinaattorin kanssa pidetty", "koordinaattori", 3, ""),
    ("Seurantakeskustelu kuukauden kuluttua", "koordinaattori", 20, ""),
]  # fmt: skip
OFFBOARDING_ITEMS = [
    ("Seuraaja nimetty ja perehdytys aloitettu", "esihenkilö", -5, ""),
    ("Avoimet palvelupyynnöt siirretty seuraajalle", "koordinaattori", -2, ""),
    ("Poistettu jakelulistoilta", "koordinaattori", 0, ""),
    ("Omaolon ammattilaisoikeudet poistettu", "ICT", 0, ""),
    ("Testiympäristön tunnukset poistettu", "ICT", 2, ""),
]

MEETING_NOTES = [
    "Käyttöönotto sujunut hyvin. Työjonoa käsitellään kolmesti päivässä.",
    "Käyty läpi käyttöluvut ja palautteet. Toive lisäkoulutuksesta palveluarvioihin.",
    "Aukioloaikojen muutos vietävä taustamäärityksiin. Asiakasohjeet päivitetään.",
]
MEETING_ACTIONS = [
    "Koordinaattori lähettää käyttötilastot kuukausittain.",
    "Yksikkö nimeää varavastuukäyttäjän.",
    "Sovitaan koulutus uusille työntekijöille.",
]
