"""Notice kinds and stages: the order they move in, and the subject's prefixes."""

from __future__ import annotations

import pytest

from coordinator_tui import i18n
from coordinator_tui.notices import model


@pytest.fixture(autouse=True)
def english() -> None:
    i18n.set_language("en")


def test_a_disruption_moves_forward_and_may_skip_or_stay() -> None:
    assert model.next_stages("häiriö", None) == ("tutkitaan", "syy tunnistettu", "seurataan")
    model.check_transition("häiriö", "tutkitaan", "tutkitaan")  # an update may keep the stage
    model.check_transition("häiriö", "tutkitaan", "korjattu")
    model.check_transition("hidastelu", "seurataan", "peruttu")
    with pytest.raises(model.NoticeRuleError, match="only move forward"):
        model.check_transition("häiriö", "seurataan", "tutkitaan")


def test_a_maintenance_has_its_own_stages() -> None:
    assert model.stages_for("huoltokatko") == ("aikataulutettu", "käynnissä", "päättynyt")
    assert model.resolved_stage("huoltokatko") == "päättynyt"
    model.check_transition("huoltokatko", "aikataulutettu", "päättynyt")
    with pytest.raises(model.NoticeRuleError, match="not a stage"):
        model.check_transition("huoltokatko", "aikataulutettu", "korjattu")


def test_a_notice_cannot_open_resolved_nor_continue_after_closing() -> None:
    with pytest.raises(model.NoticeRuleError):
        model.check_transition("häiriö", None, "korjattu")
    for final in ("korjattu", "peruttu"):
        with pytest.raises(model.NoticeRuleError, match="already closed"):
            model.check_transition("häiriö", final, "seurataan")


def test_an_unknown_kind_is_refused() -> None:
    with pytest.raises(model.NoticeRuleError, match="not a kind"):
        model.stages_for("tulipalo")


@pytest.mark.parametrize(
    ("number", "stage", "prefix"),
    [
        (1, "tutkitaan", ""),
        (2, "syy tunnistettu", "PÄIVITYS: "),
        (3, "korjattu", "KORJATTU: "),
        (2, "päättynyt", "PÄÄTTYNYT: "),
        (2, "peruttu", "PERUTTU: "),
    ],
)
def test_subject_prefixes(number: int, stage: str, prefix: str) -> None:
    assert model.subject_prefix(number, stage) == prefix


def test_every_stage_has_words_in_both_languages_and_the_ui() -> None:
    stages = {*model.DISRUPTION_STAGES, *model.MAINTENANCE_STAGES, model.CANCELLED}
    assert stages == set(model.STAGE_FI) == set(model.STAGE_SV) == set(model.STAGE_LABELS)
