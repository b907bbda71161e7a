"""The design checks both designs run (in memory and out of core): one function per check."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm
from mixedmodels.errors import DesignError, FormulaError, IdentifiabilityWarning
from mixedmodels.formula import RandomTerm
from mixedmodels.identifiability import (
    check_fixed_count,
    check_identified,
    check_levels,
    check_random_effects,
    check_term_columns,
    nobs_vs_nre,
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


TERM = RandomTerm(lhs="0 + f", group=("g",), text="homdiag(0 + f | g)", structure="homdiag")


def indicators(cells):
    """Indicator columns of f for the given (g, f) cells."""
    codes = np.array([g for g, _ in cells])
    matrix = np.zeros((len(cells), 2))
    matrix[np.arange(len(cells)), [f for _, f in cells]] = 1.0
    return codes, matrix


@pytest.mark.parametrize("kind", ["homdiag", "homcs"])
def test_one_observation_per_cell_is_refused(kind):
    codes, matrix = indicators([(0, 0), (0, 1), (1, 0), (1, 1)])
    with pytest.raises(DesignError, match=rf"homdiag\(0 \+ f \| g\).*{kind}\(\) variance"):
        check_identified(TERM, kind, codes, matrix, TERM.text)


def test_a_repeated_cell_identifies_the_term():
    codes, matrix = indicators([(0, 0), (0, 0), (0, 1), (1, 0), (1, 1)])
    check_identified(TERM, "homdiag", codes, matrix, TERM.text)  # no error


@pytest.mark.parametrize("kind", ["us", "diag", "cs", "ar1"])
def test_other_structures_are_not_checked(kind):
    codes, matrix = indicators([(0, 0), (0, 1), (1, 0), (1, 1)])
    check_identified(TERM, kind, codes, matrix, TERM.text)


def test_columns_that_are_not_indicators_are_not_checked():
    codes = np.array([0, 0, 1, 1])
    matrix = np.column_stack([np.ones(4), np.arange(4.0)])
    check_identified(TERM, "homdiag", codes, matrix, TERM.text)


def two_per_level():
    """Five levels of two rows: a random slope's 10 random effects for 10 rows."""
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {"y": rng.normal(size=10), "x": rng.normal(size=10), "g": np.repeat(np.arange(5), 2)}
    )


def block():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = mm.LinearMixedModel(
            "y ~ x + (1 + x | g)", two_per_level(), control={"check_nobs_vs_nre": "ignore"}
        )
    return model.design.blocks[0]


def test_as_many_random_effects_as_rows_stops():
    with pytest.raises(DesignError, match=r"'g' \(10\) must be less than .* \(10\)"):
        nobs_vs_nre(block(), 10, "stop")


def test_the_warning_and_ignore_actions():
    with pytest.warns(IdentifiabilityWarning, match="grouping factor 'g'"):
        nobs_vs_nre(block(), 10, "warning")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nobs_vs_nre(block(), 10, "ignore")


def test_lmer_runs_the_check_as_its_control_says():
    with pytest.raises(DesignError, match="number of random effects"):
        mm.lmer("y ~ x + (1 + x | g)", two_per_level())
    with pytest.warns(IdentifiabilityWarning, match="number of random effects"):
        mm.LinearMixedModel(
            "y ~ x + (1 + x | g)", two_per_level(), control={"check_nobs_vs_nre": "warning"}
        )
