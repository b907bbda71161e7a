"""Variance components whose rows load on several columns, against statsmodels itself.

statsmodels gives every column of such a component (``0 + x1 + x2`` in ``vc_formula``, or a
per-group matrix with several non-zero entries in a row) its own random coefficient, all with
the component's one variance. The facade maps the component onto a ``homdiag`` term; the
optimum log-likelihood must equal statsmodels' (or be higher, and then statsmodels' own
``loglike`` at our estimates must say so).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import mixedmodels.compat.statsmodels as sm
from mixedmodels.compat._sm_design import engine_formula, layout_from_formula

smapi = pytest.importorskip("statsmodels.api")
from statsmodels.regression.mixed_linear_model import (  # noqa: E402
    MixedLMParams as StatsmodelsParams,
)

VC = {"slopes": "0 + x1 + x2", "cc": "0 + C(c)"}


def frame() -> pd.DataFrame:
    """40 groups of 6 rows: random intercept, two slopes sharing a variance, a factor."""
    rng = np.random.default_rng(3)
    n_groups, size = 40, 6
    g = np.repeat(np.arange(n_groups), size)
    x1, x2, x = rng.normal(size=(3, g.size))
    c = rng.integers(0, 3, size=g.size)
    b, u1, u2 = rng.normal(size=(3, n_groups)) * [[0.8], [0.7], [0.7]]
    y = 1 + 0.5 * x + b[g] + u1[g] * x1 + u2[g] * x2 + rng.normal(size=g.size)
    return pd.DataFrame({"y": y, "x": x, "x1": x1, "x2": x2, "g": g, "c": c})


def _statsmodels(build, reml):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = build(smapi)
        return model, model.fit(reml=reml)


def _check_optimum(sm_model, theirs, ours) -> None:
    assert ours.llf >= theirs.llf - 1e-6 * abs(theirs.llf)
    if ours.llf > theirs.llf + 1e-6 * abs(theirs.llf):
        point = StatsmodelsParams.from_components(
            np.asarray(ours.fe_params),
            np.asarray(ours.cov_re_unscaled),
            vcomp=np.asarray(ours.vcomp) / ours.scale,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            confirmed = sm_model.loglike(point, profile_fe=False)
        np.testing.assert_allclose(confirmed, ours.llf, rtol=1e-8)


def _formula(api):
    data = frame()
    return api.MixedLM.from_formula("y ~ x", data, vc_formula=VC, groups="g")


def _arrays(api):
    data = frame()
    g = data["g"].to_numpy()
    exog = np.column_stack([np.ones(len(data)), data["x"]])
    pair = data[["x1", "x2"]].to_numpy()
    exog_vc = {"s": {k: pair[g == k] for k in np.unique(g)}}
    return api.MixedLM(data["y"].to_numpy(), exog, g, exog_re=np.ones((len(g), 1)), exog_vc=exog_vc)


@pytest.mark.parametrize("build", [_formula, _arrays], ids=["formula", "arrays"])
@pytest.mark.parametrize("reml", [True, False], ids=["REML", "ML"])
def test_multi_column_components_reach_statsmodels_optimum(build, reml):
    sm_model, theirs = _statsmodels(build, reml)
    ours = build(sm).fit(reml=reml)
    _check_optimum(sm_model, theirs, ours)
    np.testing.assert_allclose(np.asarray(ours.params), np.asarray(theirs.params), rtol=1e-4)
    label = ours.model.group_labels[0]
    mine, other = ours.random_effects[label], theirs.random_effects[label]
    assert list(mine.index) == list(other.index)
    np.testing.assert_allclose(np.asarray(mine), np.asarray(other), rtol=1e-4, atol=1e-6)


def test_multi_column_component_is_one_homdiag_term():
    layout = layout_from_formula("y ~ x", frame(), "g", None, VC, None, "none")
    by_name = {vc.name: vc for vc in layout.vcs}
    assert by_name["cc"].single
    assert not by_name["slopes"].single
    assert layout.k_re == 0  # statsmodels: no random intercept beside vc_formula
    formula, columns = engine_formula(layout, [])
    assert formula.count("homdiag(") == 1
    j = [vc.name for vc in layout.vcs].index("slopes")
    assert f"homdiag(0 + w{j}_0 + w{j}_1 | h{j})" in formula
    np.testing.assert_allclose(columns[f"w{j}_1"], frame()["x2"])


def test_factor_component_columns_are_the_levels_seen_in_each_group():
    data = frame()
    # a factor times a covariate loads every row on two columns (the level and x1)
    data = data[~((data["g"] == 0) & (data["c"] == 2))]
    layout = layout_from_formula("y ~ x", data, "g", None, {"m": "0 + C(c) + x1"}, None, "none")
    vc = layout.vcs[0]
    assert not vc.single
    rows0 = np.flatnonzero(layout.groups == 0)
    z, names = vc.group_matrix(0, rows0)
    assert "C(c)[2]" not in names
    assert "x1" in names
    assert z.shape == (rows0.size, len(names))


FORMULAS = [
    "y ~ x + C(c)",
    "y ~ x * C(c) + x1",
    "y ~ C(c):x + x1 + C(c)",
    "y ~ 0 + x + C(c)",
    "y ~ x:x1 + C(c) + x",
    "y ~ np.log(x**2) + C(c) + I(x1 * 2)",
]


@pytest.mark.parametrize("formula", FORMULAS)
def test_fixed_columns_in_statsmodels_order(formula):
    """patsy's order (categorical terms before numeric ones), not formulaic's by degree."""
    data = frame()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = smapi.MixedLM.from_formula(formula, data, groups="g").exog_names
    assert sm.MixedLM.from_formula(formula, data, groups="g").exog_names == expected


def test_categorical_fit_params_and_predict_in_statsmodels_order():
    data = frame()
    formula = "y ~ x * C(c) + x1"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sm_model = smapi.MixedLM.from_formula(formula, data, groups="g")
        theirs = sm_model.fit()
    ours = sm.MixedLM.from_formula(formula, data, groups="g").fit()
    _check_optimum(sm_model, theirs, ours)
    assert list(ours.params.index) == list(theirs.params.index)
    # the variance differs by 4e-5 relative: a flat optimum, same log-likelihood to 1e-6
    np.testing.assert_allclose(ours.params, theirs.params, rtol=1e-3)
    new = data.iloc[:7]
    # our fixed effects through statsmodels' own design of the same rows
    np.testing.assert_allclose(
        ours.predict(new), sm_model.predict(np.asarray(ours.fe_params), theirs.model.exog[:7])
    )
