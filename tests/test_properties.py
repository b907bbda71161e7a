"""Invariances of a fit (hypothesis): row order, level labels, affine changes of y."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mixedmodels as mm

SLEEP = mm.datasets.load("sleepstudy")
FORMULA = "Reaction ~ Days + (Days | Subject)"
BASE = mm.lmer(FORMULA, SLEEP)

PROPERTY = settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _fit(data, formula=FORMULA):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mm.lmer(formula, data)


@PROPERTY
@given(seed=st.integers(0, 2**32 - 1))
def test_row_order_does_not_matter(seed):
    shuffled = SLEEP.sample(frac=1.0, random_state=np.random.RandomState(seed))
    fit = _fit(shuffled)
    assert fit.objective == pytest.approx(BASE.objective, abs=1e-6)
    assert np.allclose(fit.fixef, BASE.fixef, rtol=1e-5)
    assert fit.sigma == pytest.approx(BASE.sigma, rel=1e-5)
    # fitted values follow their rows
    assert np.allclose(fit.fitted.loc[SLEEP.index], BASE.fitted, rtol=1e-5)


@PROPERTY
@given(seed=st.integers(0, 2**32 - 1))
def test_relabelled_levels_do_not_matter(seed):
    rng = np.random.default_rng(seed)
    subjects = SLEEP["Subject"].unique()
    new_names = {s: f"s{v:04d}" for s, v in zip(subjects, rng.permutation(9000)[: len(subjects)])}
    relabelled = SLEEP.assign(Subject=SLEEP["Subject"].map(new_names))
    fit = _fit(relabelled)
    assert fit.objective == pytest.approx(BASE.objective, abs=1e-6)
    ranef = fit.ranef["Subject"]
    for old, new in new_names.items():
        assert np.allclose(
            ranef.loc[new], BASE.ranef["Subject"].loc[str(old)], rtol=1e-4, atol=1e-4
        )


@PROPERTY
@given(
    scale=st.floats(1e-3, 1e3).map(lambda v: v * 1.0),
    shift=st.floats(-1e4, 1e4),
)
def test_affine_rescaled_response(scale, shift):
    fit = _fit(SLEEP.assign(Reaction=SLEEP["Reaction"] * scale + shift))
    # the REML criterion shifts by 2 (n - p) log(scale); the estimates scale with y
    n, p = BASE.nobs, BASE.n_fixed
    # A = [Z X y]'[Z X y] holds y'y to an ulp: r^2 carries a relative rounding error of about
    # eps (mean(y) / sigma)^2, which a large shift with a small scale makes visible
    ratio = (abs(shift) + scale * SLEEP["Reaction"].mean()) / (scale * BASE.sigma)
    noise = 10 * np.finfo(float).eps * ratio**2
    expected_objective = BASE.objective + 2 * (n - p) * np.log(scale)
    assert fit.objective == pytest.approx(expected_objective, abs=1e-5 + (n - p) * noise)
    assert np.allclose(fit.theta, BASE.theta, rtol=1e-3, atol=1e-5)
    assert fit.sigma == pytest.approx(BASE.sigma * scale, rel=1e-5 + noise)
    expected = BASE.fixef * scale
    expected["(Intercept)"] += shift
    assert np.allclose(fit.fixef, expected, rtol=1e-5, atol=1e-6 * scale)


def test_double_bar_equals_separate_terms():
    a = _fit(SLEEP, "Reaction ~ Days + (Days || Subject)")
    b = _fit(SLEEP, "Reaction ~ Days + (1 | Subject) + (0 + Days | Subject)")
    assert a.objective == pytest.approx(b.objective, abs=1e-8)
    assert np.allclose(a.theta, b.theta, rtol=1e-6)
