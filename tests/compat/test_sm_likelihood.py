"""statsmodels' MixedLM log-likelihood from per-group statistics, against statsmodels itself."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from test_sm_derivatives import CASES, _model, _point

from mixedmodels.compat._sm_likelihood import evaluate, gls_fe, loglike_value, profile_scale

smlm = pytest.importorskip("statsmodels.regression.mixed_linear_model")


@pytest.mark.parametrize(("kind", "reml"), CASES)
def test_the_loglikelihood_is_statsmodels_at_any_point(kind, reml):
    model, stats, k_fe, k_re, k_vc = _model(kind, seed=7)
    model.reml = reml
    rng = np.random.default_rng(5)
    for _ in range(3):
        fe, cov, vc = _point(rng, k_fe, k_re, k_vc)
        ev = evaluate(stats, cov, vc)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            params = smlm.MixedLMParams.from_components(fe, cov, vcomp=vc)
            theirs = model.loglike(params, profile_fe=False)
            profiled = model.loglike(params, profile_fe=True)
        assert loglike_value(ev, fe, stats.nobs, reml) == pytest.approx(theirs, rel=1e-10)
        assert loglike_value(ev, gls_fe(ev), stats.nobs, reml) == pytest.approx(profiled, rel=1e-10)


@pytest.mark.parametrize("reml", [True, False])
def test_the_gls_fixed_effects_maximise_the_profiled_likelihood(reml):
    """The scale profiled at the GLS fixed effects is positive, and moving them lowers it."""
    _, stats, k_fe, k_re, k_vc = _model("slopes", seed=2)
    fe, cov, vc = _point(np.random.default_rng(1), k_fe, k_re, k_vc)
    ev = evaluate(stats, cov, vc)
    beta = gls_fe(ev)
    scale = profile_scale(ev, beta, stats.nobs, reml)
    assert scale > 0
    best = loglike_value(ev, beta, stats.nobs, reml)
    for shift in (1e-3, -1e-3):
        assert loglike_value(ev, beta + shift, stats.nobs, reml) < best
