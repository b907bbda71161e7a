"""``fit(free=...)`` masks holding part of a correlated block, against statsmodels 0.15.

statsmodels holds a masked entry of its packed parameters at its start value: with
``use_sqrt`` (the default) an entry of the Cholesky factor of ``cov_re / scale``, otherwise
an entry of ``cov_re / scale`` itself. Each case is fitted by both libraries; where
statsmodels stops short of the optimum (a lower log-likelihood) the test says so, checks that
ours is higher, and compares with statsmodels restarted at our optimum, where both agree to
1e-6 in the parameters and 1e-8 in the log-likelihood (held entries at their start exactly).
Models: dietox ``Weight ~ Time`` with a random intercept and slope per pig (REML and ML) and
a simulated model with three correlated random coefficients.
"""

from __future__ import annotations

import warnings
from functools import cache

import numpy as np
import pandas as pd
import pytest

import mixedmodels.compat.statsmodels as sm
from mixedmodels import DesignError, datasets

smapi = pytest.importorskip("statsmodels.api")
from statsmodels.regression.mixed_linear_model import (  # noqa: E402
    MixedLMParams as StatsmodelsParams,
)

STOPPED_SHORT = 1e-4
"""A log-likelihood this much below ours: statsmodels stopped short of the optimum."""


def _three_columns() -> pd.DataFrame:
    rng = np.random.default_rng(20261203)
    n_groups, size = 60, 12
    g = np.repeat(np.arange(n_groups), size)
    x1, x2 = rng.normal(size=g.size), rng.normal(size=g.size)
    chol = np.array([[1.0, 0.0, 0.0], [0.5, 0.6, 0.0], [-0.4, 0.3, 0.5]])
    b = rng.normal(size=(n_groups, 3)) @ chol.T
    y = 1 + 0.5 * x1 - x2 + b[g, 0] + b[g, 1] * x1 + b[g, 2] * x2 + rng.normal(size=g.size)
    return pd.DataFrame({"y": y, "x1": x1, "x2": x2, "g": g})


DATA = {
    "dietox": (lambda: datasets.load("dietox"), "Weight ~ Time", "1 + Time", "Pig"),
    "three": (_three_columns, "y ~ x1 + x2", "1 + x1 + x2", "g"),
}

CASES = {
    # name: (data, reml, use_sqrt, lower triangle of free.cov_re, start cov_re or None)
    "L00_held": ("dietox", True, True, [[0, 0], [1, 1]], None),
    "L11_held": ("dietox", True, True, [[1, 0], [1, 0]], None),
    "L10_held_nonzero": ("dietox", True, True, [[1, 0], [0, 1]], [[4, 0.5], [0.5, 0.1]]),
    "L10_held_nonzero_ml": ("dietox", False, True, [[1, 0], [0, 1]], [[4, 0.5], [0.5, 0.1]]),
    "psi10_held": ("dietox", True, False, [[1, 0], [0, 1]], [[4, 0.5], [0.5, 0.1]]),
    "three_L20_held": ("three", True, True, [[1, 0, 0], [1, 1, 0], [0, 1, 1]], None),
    "three_L11_held_ml": (
        "three",
        False,
        True,
        [[1, 0, 0], [1, 0, 0], [1, 1, 1]],
        [[1, 0.4, -0.3], [0.4, 0.5, 0.1], [-0.3, 0.1, 0.4]],
    ),
    "three_psi21_held": (
        "three",
        True,
        False,
        [[1, 0, 0], [1, 1, 0], [1, 0, 1]],
        [[1, 0.4, -0.3], [0.4, 0.5, 0.1], [-0.3, 0.1, 0.4]],
    ),
}


@cache
def _frame(name: str) -> pd.DataFrame:
    return DATA[name][0]()


def _models(case: str):
    data_name, *_ = CASES[case]
    _, formula, re_formula, groups = DATA[data_name]
    data = _frame(data_name)
    use_sqrt = CASES[case][2]
    ours = sm.MixedLM.from_formula(formula, data, re_formula=re_formula, groups=data[groups])
    ours.use_sqrt = use_sqrt
    theirs = smapi.MixedLM.from_formula(
        formula, data, re_formula=re_formula, groups=data[groups], use_sqrt=use_sqrt
    )
    return ours, theirs


def _masks(case: str, klass):
    _, _, _, pattern, start = CASES[case]
    k = len(pattern)
    free = klass.from_components(np.ones(2 if k == 2 else 3), np.array(pattern, dtype=float))
    if start is None:
        return free, None
    start = klass.from_components(np.zeros(free.k_fe), np.array(start, dtype=float))
    return free, start


@cache
def fitted(case: str):
    """Our fit, statsmodels' fit and statsmodels restarted at our optimum."""
    reml = CASES[case][1]
    ours_model, theirs_model = _models(case)
    free, start = _masks(case, sm.MixedLMParams)
    ours = ours_model.fit(reml=reml, free=free, start_params=start)
    free_sm, start_sm = _masks(case, StatsmodelsParams)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = theirs_model.fit(reml=reml, free=free_sm, start_params=start_sm)
        restart = StatsmodelsParams.from_components(
            np.asarray(ours.fe_params),
            cov_re=np.asarray(ours.cov_re) / ours.scale,
            vcomp=np.asarray(ours.vcomp) / ours.scale,
        )
        at_ours = theirs_model.fit(
            reml=reml, free=free_sm, start_params=restart, method="bfgs", gtol=1e-10
        )
    return ours, theirs, at_ours


def _packed_start(case: str, use_sqrt: bool) -> np.ndarray:
    free, start = _masks(case, StatsmodelsParams)
    k = free.k_re
    if start is None:
        start = StatsmodelsParams.from_components(np.zeros(free.k_fe), np.eye(k))
    return start.get_packed(use_sqrt=use_sqrt)


@pytest.mark.parametrize("case", CASES)
def test_held_entries_keep_their_start_values(case):
    ours, _, _ = fitted(case)
    use_sqrt = CASES[case][2]
    mask = np.array(CASES[case][3], dtype=float)[np.tril_indices(len(CASES[case][3]))] == 0
    fitted_packed = ours.params_object.get_packed(use_sqrt=use_sqrt)
    np.testing.assert_allclose(
        fitted_packed[mask], _packed_start(case, use_sqrt)[mask], rtol=0, atol=1e-12
    )
    assert (np.asarray(ours.bse)[ours.k_fe :][mask] == 0).all()


@pytest.mark.parametrize("case", CASES)
def test_the_optimum_is_statsmodels_or_better(case):
    ours, theirs, at_ours = fitted(case)
    assert ours.converged
    assert ours.llf >= theirs.llf - 1e-7
    if theirs.llf < ours.llf - STOPPED_SHORT:
        # statsmodels stopped short; restarted at our optimum it stays there
        assert at_ours.llf == pytest.approx(ours.llf, abs=1e-8)
    else:
        assert theirs.llf == pytest.approx(ours.llf, abs=1e-6)
    assert at_ours.llf <= ours.llf + 1e-8
    np.testing.assert_allclose(np.asarray(ours.params), np.asarray(at_ours.params), atol=1e-6)
    assert ours.llf == pytest.approx(at_ours.model.loglike(at_ours.params_object), abs=1e-6)


@pytest.mark.parametrize("case", CASES)
def test_standard_errors_are_statsmodels_definition(case):
    """statsmodels inverts its Hessian on the entries the mask leaves free (zeros elsewhere)."""
    ours, _, at_ours = fitted(case)
    np.testing.assert_allclose(np.asarray(ours.bse), np.asarray(at_ours.bse), rtol=1e-5, atol=1e-9)
    assert ours.aic == pytest.approx(at_ours.aic, nan_ok=True, abs=1e-6)
    assert ours.bic == pytest.approx(at_ours.bic, nan_ok=True, abs=1e-6)


def test_statsmodels_stops_short_on_a_held_intercept_variance():
    """With L00 held at 1, statsmodels' BFGS ends without converging, 0.93 below ours."""
    ours, theirs, _ = fitted("L00_held")
    assert not theirs.converged
    assert ours.llf - theirs.llf > 0.5


def test_without_sqrt_psi_stays_a_covariance():
    """use_sqrt=False, psi00 held at 1: statsmodels' optimiser leaves the cone of covariance
    matrices (a negative variance); ours stays in it and, as the constraint set is the one of
    the square-root parameterisation with L00 held at 1, reaches that fit's optimum."""
    ours_model, theirs_model = _models("L00_held")
    ours_model.use_sqrt = False
    free = sm.MixedLMParams.from_components(np.ones(2), np.array([[0.0, 0.0], [1.0, 1.0]]))
    ours = ours_model.fit(free=free)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = smapi.MixedLM.from_formula(
            "Weight ~ Time",
            _frame("dietox"),
            re_formula="1 + Time",
            groups=_frame("dietox")["Pig"],
            use_sqrt=False,
        ).fit(
            free=StatsmodelsParams.from_components(np.ones(2), np.array([[0.0, 0.0], [1.0, 1.0]]))
        )
    assert np.linalg.eigvalsh(np.asarray(theirs.cov_re)).min() < 0
    assert np.linalg.eigvalsh(np.asarray(ours.cov_re)).min() >= 0
    sqrt_fit, _, _ = fitted("L00_held")
    assert ours.llf == pytest.approx(sqrt_fit.llf, abs=1e-6)
    np.testing.assert_allclose(np.asarray(ours.params), np.asarray(sqrt_fit.params), atol=1e-5)


def test_profile_after_a_constrained_fit_keeps_the_constraint():
    """profile_re holds the mask's entries too: at the estimate it is the fit's llf."""
    ours, _, _ = fitted("L11_held")
    profile = ours.profile_re(0, "re", num_low=1, dist_low=0.5, num_high=1, dist_high=0.5)
    assert profile[1, 1] == pytest.approx(ours.llf, abs=1e-6)
    assert (profile[[0, 2], 1] < ours.llf).all()
    with pytest.raises(DesignError, match="held"):  # L00 held: the variance cannot move
        fitted("L00_held")[0].profile_re(0, "re")


def test_a_constraint_inside_the_block_with_a_variance_component():
    """dietox by litter, pigs as a variance component, L11 held at 1: ours is at least
    statsmodels' log-likelihood (here at the boundary L00 = L10 = 0, 0.005 above it), the
    held entry is at its start and the variance component is estimated."""
    data = _frame("dietox")
    kwargs = {"re_formula": "1 + Time", "vc_formula": {"Pig": "0 + C(Pig)"}}
    pattern = np.array([[1.0, 0.0], [1.0, 0.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # both warn: a singular cov_re, a boundary
        ours = sm.MixedLM.from_formula("Weight ~ Time", data, groups=data["Litter"], **kwargs).fit(
            free=sm.MixedLMParams.from_components(np.ones(2), pattern, vcomp=np.ones(1))
        )
        theirs = smapi.MixedLM.from_formula(
            "Weight ~ Time", data, groups=data["Litter"], **kwargs
        ).fit(free=StatsmodelsParams.from_components(np.ones(2), pattern, vcomp=np.ones(1)))
    assert ours.llf >= theirs.llf
    assert ours.params_object.get_packed(use_sqrt=True)[2] == pytest.approx(1.0, abs=1e-12)
    assert ours.vcomp[0] > 0
