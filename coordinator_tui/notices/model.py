"""What a notice is: its kinds, the services it can name, and the status stages each kind moves through.

A disruption (häiriö, katko, hidastelu, tiedote) goes tutkitaan → syy tunnistettu → seurataan →
korjattu; a scheduled maintenance (huoltokatko) goes aikataulutettu → käynnissä → päättynyt. Either
may be cancelled (peruttu). Stages only move forward (a step may be skipped, and an update may keep
the stage); a final stage (korjattu, päättynyt, peruttu) closes the thread.
"""

from __future__ import annotations

from coordinator_tui.i18n import N_, _

KINDS = ("häiriö", "katko", "hidastelu", "huoltokatko", "tiedote")
MAINTENANCE_KINDS = ("huoltokatko",)

DISRUPTION_STAGES = ("tutkitaan", "syy tunnistettu", "seurataan", "korjattu")
MAINTENANCE_STAGES = ("aikataulutettu", "käynnissä", "päättynyt")
CANCELLED = "peruttu"
RESOLVED_STAGES = ("korjattu", "päättynyt")
FINAL_STAGES = (*RESOLVED_STAGES, CANCELLED)

# Omaolo's services as the county names them; [notices] services in the config may replace them.
DEFAULT_SERVICES = (
    "oirearviot",
    "palveluarviot",
    "työjonolähetys",
    "ajanvaraus",
    "ammattilaisen käyttöliittymä",
    "koko palvelu",
)

# For the UI (translated when shown): the kind and stage names in the user's language.
KIND_LABELS = {
    "häiriö": N_("disruption"),
    "katko": N_("outage"),
    "hidastelu": N_("degraded performance"),
    "huoltokatko": N_("scheduled maintenance"),
    "tiedote": N_("information"),
}
STAGE_LABELS = {
    "tutkitaan": N_("investigating"),
    "syy tunnistettu": N_("identified"),
    "seurataan": N_("monitoring"),
    "korjattu": N_("resolved"),
    "aikataulutettu": N_("scheduled"),
    "käynnissä": N_("in progress"),
    "päättynyt": N_("completed"),
    "peruttu": N_("cancelled"),
}

# In the email itself the words are always Finnish and Swedish, whatever the UI language.
STAGE_FI = {
    "tutkitaan": "Tutkitaan",
    "syy tunnistettu": "Syy tunnistettu",
    "seurataan": "Seurataan",
    "korjattu": "Korjattu",
    "aikataulutettu": "Aikataulutettu",
    "käynnissä": "Käynnissä",
    "päättynyt": "Päättynyt",
    "peruttu": "Peruttu",
}
STAGE_SV = {
    "tutkitaan": "Undersöks",
    "syy tunnistettu": "Orsaken har identifierats",
    "seurataan": "Följs upp",
    "korjattu": "Åtgärdat",
    "aikataulutettu": "Planerat",
    "käynnissä": "Pågår",
    "päättynyt": "Avslutat",
    "peruttu": "Inställt",
}


class NoticeRuleError(ValueError):
    """A change the rules do not allow; ``str()`` says why in the user's language."""


def is_maintenance(kind: str) -> bool:
    return kind in MAINTENANCE_KINDS


def stages_for(kind: str) -> tuple[str, ...]:
    """The stages of ``kind`` in order, without the cancelled stage."""
    check_kind(kind)
    return MAINTENANCE_STAGES if is_maintenance(kind) else DISRUPTION_STAGES


def initial_stage(kind: str) -> str:
    return stages_for(kind)[0]


def resolved_stage(kind: str) -> str:
    """The stage that closes ``kind`` as done: korjattu, or päättynyt for a maintenance."""
    return stages_for(kind)[-1]


def is_final(stage: str) -> bool:
    return stage in FINAL_STAGES


def check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise NoticeRuleError(
            _("{kind!r} is not a kind of notice; known: {known}.").format(kind=kind, known=", ".join(KINDS))
        )


def next_stages(kind: str, current: str | None) -> tuple[str, ...]:
    """The stages a new version may have after ``current`` (None: the first version)."""
    stages = stages_for(kind)
    if current is None:
        return stages[:-1]  # a notice opens before it can close
    if is_final(current):
        return ()
    if current not in stages:
        return (*stages, CANCELLED)  # a stage of the other kind: let the user choose again
    return (*stages[stages.index(current) :], CANCELLED)


def check_transition(kind: str, current: str | None, new: str) -> None:
    """Raise :class:`NoticeRuleError` when a version with stage ``new`` may not follow ``current``."""
    allowed = next_stages(kind, current)
    if new in allowed:
        return
    if current is not None and is_final(current):
        raise NoticeRuleError(
            _("The notice is already closed ({stage}); start a new notice instead.").format(
                stage=_(STAGE_LABELS.get(current, current))
            )
        )
    if new not in (*stages_for(kind), CANCELLED):
        raise NoticeRuleError(
            _("{stage!r} is not a stage of a {kind} notice.").format(
                stage=new, kind=_(KIND_LABELS.get(kind, kind))
            )
        )
    raise NoticeRuleError(
        _("A notice cannot go from {old} to {new}; stages only move forward.").format(
            old=_(STAGE_LABELS.get(current or "", current or "")), new=_(STAGE_LABELS.get(new, new))
        )
    )


def subject_label(kind: str) -> str:
    """The first word of the thread's subject."""
    if is_maintenance(kind):
        return "HUOLTOKATKO"
    if kind == "tiedote":
        return "TIEDOTE"
    return "HÄIRIÖTIEDOTE"


def subject_prefix(number: int, stage: str) -> str:
    """``""`` for the first version; ``KORJATTU: `` / ``PERUTTU: `` / ``PÄIVITYS: `` for later ones."""
    if number <= 1:
        return ""
    if stage == "korjattu":
        return "KORJATTU: "
    if stage == "päättynyt":
        return "PÄÄTTYNYT: "
    if stage == CANCELLED:
        return "PERUTTU: "
    return "PÄIVITYS: "
