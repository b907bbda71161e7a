"""The design checks both designs run (in memory and out of core): one function per check."""

from __future__ import annotations

import warnings

import pytest

import mixedmodels as mm
from mixedmodels.errors import DesignError, FormulaError, IdentifiabilityWarning
from mixedmodels.identifiability import (
    check_fixed_count,
    check_levels,
    check_random_effects,
    check_term_columns,
)

SLEEP = mm.datasets.load("sleepstudy")


def _model(formula: str):
    return mm.LinearMixedModel(formula, SLEEP)


def test_levels_need_two_and_fewer_than_the_observations():
    term = _model("Reaction ~ Days + (Days | Subject)").design.formula.random[0]
    check_levels(term, 18, 180)
    with pytest.raises(DesignError, match="'Subject'.*at least 2 levels, it has 1"):
        check_levels(term, 1, 180)
    with pytest.raises(DesignError, match=r"'Subject'.*\(180\) must be less"):
        check_levels(term, 180, 180)
    check_levels(term, 180, 180, residual_variance=False)  # a GLMM: allowed


def test_random_effects_follow_the_action():
    blocks = _model("Reaction ~ Days + (Days | Subject)").design.blocks  # 36 random effects
    check_random_effects(blocks, 180, "stop")
    with pytest.raises(DesignError, match="'Subject' \\(36\\).*not identifiable"):
        check_random_effects(blocks, 36, "stop")
    with pytest.warns(IdentifiabilityWarning, match="'Subject'"):
        check_random_effects(blocks, 36, "warning")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_random_effects(blocks, 36, "ignore")
        check_random_effects(blocks, 36, "stop", residual_variance=False)


def test_fixed_count_and_term_columns():
    check_fixed_count(2, 3)
    with pytest.raises(DesignError, match=r"fewer observations \(3\) than fixed-effect"):
        check_fixed_count(3, 3)
    term = _model("Reaction ~ Days + (Days | Subject)").design.formula.random[0]
    check_term_columns(term, ("(Intercept)",), "f")
    with pytest.raises(FormulaError, match="has no columns"):
        check_term_columns(term, (), "f")
