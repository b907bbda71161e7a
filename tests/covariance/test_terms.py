"""Structured terms from formula to design: spelling, checks and errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm
from mixedmodels.errors import FormulaError, MixedModelsError
from mixedmodels.formula import parse_formula


def test_glmmtmb_spellings_parse_to_structured_terms():
    parsed = parse_formula("y ~ x + ar1(0 + t | g) + cs(1 | h) + (x || g) + us(x | h)")
    kinds = [(t.structure, t.lhs, t.group_name) for t in parsed.random]
    assert kinds == [
        ("ar1", "0 + t", "g"),
        ("cs", "1", "h"),
        ("us", "1", "g"),
        ("us", "0 + x", "g"),
        ("us", "1 + x", "h"),
    ]
    nested = parse_formula("y ~ homdiag(0 + a | g/h)")
    assert [(t.structure, t.group_name) for t in nested.random] == [
        ("homdiag", "g"),
        ("homdiag", "h:g"),
    ]
    assert parse_formula("y ~ I(a | b) + (1 | g)").fixed == "I(a | b)"  # not a structure
    pasted = parse_formula("y ~ Days + ar1(0 + factor(Days) | Subject)")  # glmmTMB's R text
    (term,) = pasted.random
    assert (term.structure, term.lhs, term.group_name) == ("ar1", "0 + factor(Days)", "Subject")


@pytest.mark.parametrize(
    ("formula", "message"),
    [
        ("y ~ ou(0 + t | g)", "unknown covariance structure 'ou'"),
        ("y ~ cs(x || g)", "'||' inside cs()"),
        ("y ~ x - ar1(0 + t | g)", "cannot be subtracted"),
    ],
)
def test_bad_structure_spellings(formula, message):
    with pytest.raises(FormulaError, match=message):
        parse_formula(formula)


@pytest.fixture(scope="module")
def occasions():
    rng = np.random.default_rng(0)
    g = np.repeat(np.arange(12), 4)
    t = np.tile(np.arange(4), 12)
    y, x = rng.normal(size=g.size), rng.normal(size=g.size)
    return pd.DataFrame({"y": y, "x": x, "g": g, "t": t})


def test_ar1_needs_occasions_as_columns(occasions):
    with pytest.raises(FormulaError, match=r"ar1\(\) needs at least 2 columns.*C\(time\)"):
        mm.LinearMixedModel("y ~ 1 + ar1(0 + t | g)", occasions)
    with pytest.raises(FormulaError, match="has an intercept column"):
        mm.LinearMixedModel("y ~ 1 + ar1(C(t) | g)", occasions)
    with pytest.raises(FormulaError, match=r"cs\(\) needs at least 2 columns"):
        mm.LinearMixedModel("y ~ 1 + cs(1 | g)", occasions)


def test_structured_terms_are_not_limited_by_lme4s_count_of_effects(occasions):
    """ar1 over 4 occasions of 12 groups: 48 effects for 48 rows, two parameters."""
    model = mm.LinearMixedModel("y ~ 1 + ar1(0 + C(t) | g)", occasions)
    assert model.design.blocks[0].n_random_effects == len(occasions)
    with pytest.raises(MixedModelsError, match="number of random effects"):
        mm.LinearMixedModel("y ~ 1 + (0 + C(t) | g)", occasions)


def test_glmer_refuses_structures():
    cbpp = mm.datasets.load("cbpp")
    formula = "cbind(incidence, size - incidence) ~ period + homdiag(1 | herd)"
    with pytest.raises(FormulaError, match="available in lmer"):
        mm.glmer(formula, cbpp, family="binomial")


def test_theta_names_and_bounds_of_a_mixed_model(occasions):
    model = mm.LinearMixedModel("y ~ 1 + (1 | g) + toep(0 + C(t) | g)", occasions)
    names = model.theta_names
    assert names[0] == "g.(Intercept)"
    assert names[1:5] == tuple(f"g.toep.t{j}" for j in range(4))
    assert names[5:] == ("g.toep.pacf1", "g.toep.pacf2", "g.toep.pacf3")
    assert model.lower_bounds.tolist() == [0.0] * 5 + [-1.0] * 3
    assert model.upper_bounds.tolist() == [np.inf] * 5 + [1.0] * 3


def test_homdiag_and_homcs_with_one_observation_per_cell_are_refused():
    sitka = mm.datasets.load("sitka")
    for kind in ("homdiag", "homcs"):
        with pytest.raises(MixedModelsError, match="confounded with the residual"):
            mm.LinearMixedModel(f"size ~ Time + {kind}(0 + C(Time) | tree)", sitka)


def test_out_of_core_fit_of_a_structured_term():
    duckdb = pytest.importorskip("duckdb")
    sleep = mm.datasets.load("sleepstudy")
    connection = duckdb.connect()
    connection.register("sleep", sleep)
    formula = "Reaction ~ Days + ar1(0 + C(Days) | Subject)"
    streamed = mm.lmer(formula, connection.sql("select * from sleep"))
    in_memory = mm.lmer(formula, sleep)
    assert streamed.objective == pytest.approx(in_memory.objective, abs=1e-6)
    np.testing.assert_allclose(streamed.theta, in_memory.theta, rtol=1e-4)
