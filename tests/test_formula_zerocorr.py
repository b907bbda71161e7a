"""zerocorr(...) and fulldummy(f) (MixedModels.jl's spellings) against lme4 fits of the same
models written with lme4's dummy()."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from _postfit import REFERENCE

import mixedmodels as mm
from mixedmodels.formula import parse_formula

R = json.loads((REFERENCE / "zerocorr.json").read_text())


def _sleep():
    data = mm.datasets.load("sleepstudy")
    data["phase"] = np.where(data["Days"] < 5, "early", "late")
    return data


@pytest.mark.parametrize("name", list(R))
def test_factor_terms_match_lme4_dummy_spelling(name):
    ref = R[name]
    data = _sleep()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = mm.lmer(ref["formula"], data)
    assert fit.objective <= ref["objective"] + 1e-6
    assert fit.objective == pytest.approx(ref["objective"], abs=1e-5)
    np.testing.assert_allclose(fit.fixef, list(ref["fixef"].values()), rtol=1e-5)
    np.testing.assert_allclose(fit.varcorr["vcov"], ref["vcov_components"], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(fit.predict(data.iloc[[0, 6, 24]]), ref["predict"], rtol=1e-6)


def test_zerocorr_parses_to_uncorrelated_terms():
    parsed = parse_formula("y ~ x + zerocorr(1 + x | g)")
    assert [t.lhs for t in parsed.random] == ["1", "0 + x"]
    assert all(t.split_columns for t in parsed.random)
    assert parse_formula("y ~ (1 + fulldummy(f) | g)").random[0].lhs == (
        "1 + C(f, spans_intercept=False)"
    )


def test_zerocorr_of_a_factor_gives_one_variance_per_level():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = mm.lmer("Reaction ~ Days + zerocorr(0 + phase | Subject)", _sleep())
    assert fit.model.theta_names == ("Subject.phaseearly", "Subject.phaselate")
    assert fit.varcorr["var2"].isna().all()  # no correlations
    np.testing.assert_allclose(fit.predict(_sleep()), fit.fitted)
    Z = fit.get_me("Z")
    assert Z.shape == (180, 36)
