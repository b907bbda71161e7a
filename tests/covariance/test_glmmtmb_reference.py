"""Parity with glmmTMB 1.1.5 (and lme4 1.1-31) on the covariance-structure references.

tests/covariance/reference holds, per model and criterion, glmmTMB's best fit (its default,
or its refit started at our estimates when that is better; ``best_of``), glmmTMB's own
objective at our estimates (``arbiter_objective``, the point in ``ours.json``) and, where an
lme4 formula gives the same model, lme4's fit. Made by make_glmmtmb.R and make_start.py.
"""

from __future__ import annotations

import json
import warnings
from functools import cache
from pathlib import Path

import numpy as np
import pytest

import mixedmodels as mm
from mixedmodels.errors import ConvergenceWarning, SingularFitWarning

REFERENCE = Path(__file__).resolve().parent / "reference"
IDS = sorted(
    p.stem
    for p in REFERENCE.glob("*.json")
    if p.stem not in ("specs", "ours", "extra", "sitka_ar1")
)
OURS = json.loads((REFERENCE / "ours.json").read_text())
BOUNDARY_TOLERANCE = 1e-5
"""sigma -> 0 fits (sitka_cs): the per-group GLS criterion there (residual_boundary.GroupedGLS)."""


@cache
def reference(name: str) -> dict:
    """glmmTMB's stored results for one model."""
    return json.loads((REFERENCE / f"{name}.json").read_text())


@cache
def data_of(name: str):
    ref = reference(name)
    data = mm.datasets.load(ref["data"])
    if ref.get("subset"):
        data = data.query(ref["subset"]).reset_index(drop=True)
    for column in ref["factors"]:
        if column in data.columns:
            data[column] = data[column].astype("category")
    return data


@cache
def fitted(name: str):
    """Our fit of the reference model (warnings recorded)."""
    ref = reference(name)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = mm.lmer(ref["formula"], data_of(name), REML=ref["REML"])
    return fit, tuple(caught)


def _at_boundary(fit) -> bool:
    return fit.optsum.residual_boundary


def test_at_least_eight_models_with_both_criteria():
    models = {name.removesuffix("_ml") for name in IDS}
    assert len(models) >= 8
    assert sum(name.endswith("_ml") for name in IDS) >= 8


@pytest.mark.parametrize("name", IDS)
def test_objective_at_least_as_good_as_glmmtmb(name):
    ref = reference(name)
    fit, _ = fitted(name)
    tolerance = BOUNDARY_TOLERANCE if _at_boundary(fit) else 1e-5
    assert fit.objective <= ref["objective"] + tolerance


@pytest.mark.parametrize("name", IDS)
def test_glmmtmb_likelihood_at_our_estimates_is_our_objective(name):
    """The arbiter: glmmTMB's own criterion at our (stored) estimates equals ours there."""
    ref = reference(name)
    point = np.asarray(OURS[name]["our_theta"])
    model = fitted(name)[0].model
    ours = model.objective(point, REML=ref["REML"])
    tolerance = BOUNDARY_TOLERANCE if fitted(name)[0].optsum.residual_boundary else 1e-6
    assert ours == pytest.approx(ref["arbiter_objective"], abs=tolerance)


def _same_optimum(name) -> bool:
    fit, _ = fitted(name)
    return abs(fit.objective - reference(name)["objective"]) < 1e-5


@pytest.mark.parametrize("name", IDS)
def test_estimates_where_glmmtmb_reaches_our_optimum(name):
    ref = reference(name)
    fit, _ = fitted(name)
    if not _same_optimum(name):
        # glmmTMB stops elsewhere: its own likelihood is better at our estimates
        assert ref["arbiter_objective"] < ref["objective"] - 1e-5 or _at_boundary(fit)
        pytest.skip("glmmTMB stops at a worse optimum (the arbiter confirms ours)")
    names = list(ref["fixef"])
    want = np.array([ref["fixef"][n] for n in names])
    got = fit.fixef.to_numpy()
    assert np.max(np.abs(got - want) / np.maximum(np.abs(want), 1e-8)) < 1e-4
    matrices = ref["covariance"]
    matrices = list(matrices.values()) if isinstance(matrices, dict) else [matrices]
    if _at_boundary(fit):  # sigma -> 0 in both: below a thousandth of the largest SD
        largest = max(np.max(np.diag(np.atleast_2d(np.asarray(m, dtype=float)))) for m in matrices)
        assert fit.sigma < 1e-3 * np.sqrt(largest)
        return
    assert fit.sigma == pytest.approx(ref["sigma"], rel=1e-3)
    for term, expected in zip(fit.design.terms, matrices, strict=True):
        expected = np.atleast_2d(np.asarray(expected, dtype=float))
        lam = term.lambda_(fit.theta)
        got = fit.sigma**2 * lam @ lam.T
        scale = np.sqrt(np.outer(np.diag(expected), np.diag(expected)))
        assert np.max(np.abs(got - expected) / scale) < 2e-3, term


@pytest.mark.parametrize("name", [n for n in IDS if "lme4" in reference(n)])
def test_equal_to_lme4_where_lme4_fits_the_same_model(name):
    lme4 = reference(name)["lme4"]
    fit, _ = fitted(name)
    assert fit.objective <= lme4["objective"] + 1e-6
    assert fit.objective == pytest.approx(lme4["objective"], abs=1e-6)
    want = np.array(list(lme4["fixef"].values()))
    assert np.max(np.abs(fit.fixef.to_numpy() - want) / np.abs(want)) < 1e-5
    assert fit.sigma == pytest.approx(lme4["sigma"], rel=1e-5)


@pytest.mark.parametrize("name", IDS)
def test_warnings_are_honest(name):
    """No convergence warning at a shared optimum; a boundary warning only at a boundary."""
    fit, caught = fitted(name)
    convergence = [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    singular = [w for w in convergence if issubclass(w.category, SingularFitWarning)]
    assert len(convergence) == len(singular), [str(w.message) for w in convergence]
    assert bool(singular) == fit.is_singular
    if fit.is_singular and not _at_boundary(fit):
        lams = [t.lambda_(fit.theta) for t in fit.design.terms]
        assert min(np.min(np.abs(np.diag(lam))) for lam in lams) < 1e-4


def test_ar1_varcorr_reports_rho_as_glmmtmb():
    ref = reference("sleepstudy_ar1")
    fit, _ = fitted("sleepstudy_ar1")
    vc = fit.varcorr
    pairs = vc[vc["var2"].notna()]
    assert len(pairs) == 1
    expected = np.asarray(ref["covariance"]["Subject"])
    rho = expected[1, 0] / np.sqrt(expected[0, 0] * expected[1, 1])
    assert pairs["sdcor"].iloc[0] == pytest.approx(rho, abs=1e-4)
    sds = vc[(vc["grp"] == "Subject") & vc["var2"].isna()]["sdcor"]
    assert len(sds) == 10
    np.testing.assert_allclose(sds, np.sqrt(expected[0, 0]), rtol=1e-3)
