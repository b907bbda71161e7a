"""Parity with lme4 1.1-31 on the 16 reference fits (tests/reference, ../shared/reference)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import LOCAL_REFERENCE, REFERENCE_IDS, SHARED_REFERENCE, load_reference

from mixedmodels.errors import ConvergenceWarning, SingularFitWarning


def _rel(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-12))


def _label(value):
    """A varcorr name, None for missing (pandas stores None as NaN)."""
    return None if value is None or (isinstance(value, float) and np.isnan(value)) else value


def _tol(ref):
    return 1e-3 if ref["singular"] else 1e-4


def test_local_copies_match_shared():
    if not SHARED_REFERENCE.is_dir():
        pytest.skip("../shared/reference is not present")
    for name in REFERENCE_IDS:
        local = json.loads((LOCAL_REFERENCE / f"{name}.json").read_text())
        assert local == load_reference(name), name


def test_objective_at_least_as_good_as_lme4(reference):
    ref, fit, _ = reference
    assert fit.objective <= ref["objective"] + 1e-6
    # not lower by more than 1e-3: a lower value would be a better optimum, to be reported
    assert fit.objective >= ref["objective"] - 1e-3


def test_sitka_random_slope_beats_lme4_default():
    ref = load_reference("sitka_rs")
    assert ref["default_objective"] - ref["objective"] > 28  # the trap is in the reference
    from conftest import reference_fit

    fit, caught = reference_fit("sitka_rs")
    assert fit.objective == pytest.approx(124.966889124126, abs=1e-6)
    assert not any(issubclass(w.category, ConvergenceWarning) for w in caught)


def test_fixed_effects_and_standard_errors(reference):
    ref, fit, _ = reference
    names = list(ref["fixef"])
    assert list(fit.fixef.index) == names
    assert _rel(fit.fixef[names], list(ref["fixef"].values())) < _tol(ref)
    assert _rel(fit.se[names], [ref["se"][n] for n in names]) < _tol(ref)
    # covariances compared on the scale of the standard errors (a near-zero covariance
    # has no meaningful relative error)
    got, want = fit.vcov.loc[names, names].to_numpy(), np.asarray(ref["vcov"])
    scale = np.sqrt(np.outer(np.diag(want), np.diag(want)))
    # variances are squared standard errors: twice the SE's relative tolerance
    assert np.max(np.abs(got - want) / scale) < 2 * _tol(ref)


def test_sigma_theta_and_variance_components(reference):
    ref, fit, _ = reference
    assert fit.sigma == pytest.approx(ref["sigma"], rel=_tol(ref))
    vc = fit.varcorr
    assert len(vc) == len(ref["varcorr"])
    for row, expected in zip(vc.itertuples(), ref["varcorr"]):
        assert row.grp == expected["grp"]
        assert _label(row.var1) == expected["var1"]
        assert _label(row.var2) == expected["var2"]
        if ref["singular"] and abs(expected["vcov"]) < 1e-8:
            assert abs(row.vcov) < 1e-6
            continue
        if expected["var2"] is not None:
            # a correlation: compared on its own [-1, 1] scale. On dietox_rs our optimum is
            # 7.7e-8 below lme4's and the correlation differs by 8.6e-5 there.
            assert row.sdcor == pytest.approx(expected["sdcor"], abs=2e-4)
            continue
        assert row.vcov == pytest.approx(expected["vcov"], rel=_tol(ref), abs=1e-10)
        assert row.sdcor == pytest.approx(expected["sdcor"], rel=_tol(ref), abs=1e-10)
    names = ref["theta_names"]
    assert fit.model.theta_names == ((names,) if isinstance(names, str) else tuple(names))
    assert np.allclose(fit.theta, ref["theta"], rtol=1e-3, atol=1e-4)


def test_likelihood_criteria(reference):
    ref, fit, _ = reference
    assert fit.loglik == pytest.approx(ref["loglik"], abs=1e-6)
    assert fit.aic == pytest.approx(ref["aic"], abs=1e-6)
    assert fit.bic == pytest.approx(ref["bic"], abs=1e-6)
    assert fit.df == ref["df"]
    assert fit.nobs == ref["nobs"]
    assert fit.ngrps == ref["ngrps"]


def test_singular_flag_and_warning(reference):
    ref, fit, caught = reference
    assert fit.is_singular == ref["singular"]
    warned = any(issubclass(w.category, SingularFitWarning) for w in caught)
    assert warned == ref["singular"]
    # no false convergence alarms on any reference model
    others = [
        w
        for w in caught
        if issubclass(w.category, ConvergenceWarning)
        and not issubclass(w.category, SingularFitWarning)
    ]
    assert not others, [str(w.message) for w in others]


def test_random_effects_and_conditional_sds(reference):
    ref, fit, _ = reference
    if "ranef" not in ref:
        pytest.skip("no ranef in this reference")
    table = fit.ranef_table.set_index(["group", "term", "level"])
    scale = max(abs(r["condval"]) for r in ref["ranef"])
    for row in ref["ranef"]:
        got = table.loc[(row["group"], row["term"], row["level"])]
        assert got["condval"] == pytest.approx(row["condval"], rel=1e-3, abs=1e-3 * scale)
        assert got["condsd"] == pytest.approx(row["condsd"], rel=1e-3, abs=1e-9)


def test_fitted_and_residuals(reference):
    ref, fit, _ = reference
    if "fitted_head" not in ref:
        pytest.skip("no fitted values in this reference")
    k = len(ref["fitted_head"])
    assert np.allclose(fit.fitted.to_numpy()[:k], ref["fitted_head"], rtol=1e-5, atol=1e-6)
    assert np.allclose(fit.residuals.to_numpy()[:k], ref["resid_head"], rtol=1e-3, atol=1e-5)
