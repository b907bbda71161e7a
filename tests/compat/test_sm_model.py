"""The statsmodels facade against lme4's answers (tests/reference) and statsmodels' semantics."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from facade_fits import notebook_fits

import mixedmodels.compat.statsmodels as sm
from mixedmodels import ConvergenceWarning, DesignError, SingularFitWarning, datasets
from mixedmodels.compat.statsmodels import MixedLMParams

REFERENCE = Path(__file__).resolve().parents[1] / "reference"
RTOL = 1e-4


def reference(name: str) -> dict:
    return json.loads((REFERENCE / f"{name}.json").read_text())


@pytest.fixture(scope="module")
def fits() -> dict:
    return notebook_fits()


NOTEBOOK = ["dietox_ri", "dietox_rs", "dietox_indep", "sitka_ri", "sitka_rs"]


def _varcorr(ref: dict) -> list[dict]:
    return [row for row in ref["varcorr"] if row["grp"] != "Residual"]


@pytest.mark.parametrize("name", NOTEBOOK)
def test_estimates_match_lme4(fits, name):
    result, ref = fits[name], reference(name)
    np.testing.assert_allclose(np.asarray(result.fe_params), list(ref["fixef"].values()), rtol=RTOL)
    np.testing.assert_allclose(result.scale, ref["sigma"] ** 2, rtol=RTOL)
    np.testing.assert_allclose(-2 * result.llf, ref["objective"], rtol=1e-9)
    np.testing.assert_allclose(np.asarray(result.bse_fe), list(ref["se"].values()), rtol=RTOL)
    cov = np.asarray(result.cov_re)
    variances = [row["vcov"] for row in _varcorr(ref) if row["var2"] is None]
    np.testing.assert_allclose(np.diag(cov), variances, rtol=RTOL)
    for row in _varcorr(ref):
        if row["var2"] is not None:  # a covariance, relative to the SDs
            np.testing.assert_allclose(
                cov[1, 0], row["vcov"], atol=RTOL * np.sqrt(cov[0, 0] * cov[1, 1])
            )
    if name == "dietox_indep":
        assert cov[0, 1] == 0.0


@pytest.mark.parametrize("name", NOTEBOOK)
def test_random_effects_and_fitted_values_match_lme4(fits, name):
    result, ref = fits[name], reference(name)
    ranef = pd.DataFrame(ref["ranef"])
    labels = result.model.group_labels
    names = result.model.exog_re_names
    terms = list(dict.fromkeys(ranef["term"]))
    for _, row in ranef.iterrows():
        label = labels[[str(g) for g in labels].index(row["level"])]
        k = terms.index(row["term"])
        np.testing.assert_allclose(
            result.random_effects[label].iloc[k],
            row["condval"],
            rtol=RTOL,
            atol=RTOL * abs(ranef["condval"]).max(),
        )
        cov = result.random_effects_cov[label]
        np.testing.assert_allclose(np.sqrt(cov.loc[names[k], names[k]]), row["condsd"], rtol=RTOL)
    head = np.asarray(result.fittedvalues)[: len(ref["fitted_head"])]
    np.testing.assert_allclose(head, ref["fitted_head"], rtol=RTOL)
    resid = np.asarray(result.resid)[: len(ref["resid_head"])]
    np.testing.assert_allclose(resid, ref["resid_head"], rtol=RTOL, atol=1e-6)


def test_sitka_random_slope_reaches_the_optimum_without_warnings(fits):
    result = fits["sitka_rs"]
    assert -2 * result.llf == pytest.approx(124.966889, abs=1e-6)
    assert fits["sitka_rs_warnings"] == []
    assert result.converged


def test_params_are_packed_like_statsmodels(fits):
    result = fits["dietox_rs"]
    params = result.params
    k = result.k_fe
    assert list(params.index) == ["Intercept", "Time", "Group Var", "Group x Time Cov", "Time Var"]
    np.testing.assert_allclose(params.iloc[:k], result.fe_params)
    cov = np.asarray(result.cov_re) / result.scale
    np.testing.assert_allclose(params.iloc[k:], cov[np.tril_indices(2)], rtol=1e-12)
    assert list(result.cov_re.index) == ["Group", "Time"]
    restored = MixedLMParams.from_packed(np.asarray(params), 2, 2, use_sqrt=False, has_fe=True)
    np.testing.assert_allclose(restored.cov_re, cov, rtol=1e-12)


def test_bse_re_is_the_data_scale_standard_error(fits):
    """bse_re from the observed information in (Psi, sigma^2), computed here independently."""
    result = fits["sitka_ri"]
    data = datasets.load("sitka")
    y = data["size"].to_numpy(float)
    X = np.column_stack([np.ones(len(y)), data["Time"].to_numpy(float)])
    order = np.argsort(data["tree"].to_numpy(), kind="stable")
    Xg, yg = X[order].reshape(79, 5, 2), y[order].reshape(79, 5)

    def deviance(log_params):  # REML -2 log-likelihood, random intercept, dense per tree
        tau, s = np.exp(log_params)
        V = tau * np.ones((5, 5)) + s * np.eye(5)
        Vi = np.linalg.inv(V)
        xvx = np.einsum("gia,ij,gjb->ab", Xg, Vi, Xg)
        beta = np.linalg.solve(xvx, np.einsum("gia,ij,gj->a", Xg, Vi, yg))
        r = yg - Xg @ beta
        return (
            79 * np.linalg.slogdet(V)[1]
            + np.linalg.slogdet(xvx)[1]
            + np.einsum("gi,ij,gj->", r, Vi, r)
            + (len(y) - 2) * np.log(2 * np.pi)
        )

    x0 = np.log([result.cov_re.iloc[0, 0], result.scale])
    assert deviance(x0) == pytest.approx(-2 * result.llf, rel=1e-10)
    h = 1e-3
    hess = np.array(
        [
            [
                (
                    deviance(x0 + h * (ei + ej))
                    - deviance(x0 + h * (ei - ej))
                    - deviance(x0 - h * (ei - ej))
                    + deviance(x0 - h * (ei + ej))
                )
                / (4 * h * h)
                for ej in np.eye(2)
            ]
            for ei in np.eye(2)
        ]
    )
    cov_log = 2 * np.linalg.inv(hess)
    se_tau = np.exp(x0[0]) * np.sqrt(cov_log[0, 0])
    assert result.bse_re.iloc[0] == pytest.approx(se_tau, rel=1e-3)


def test_summary_layout(fits):
    text = str(fits["dietox_rs"].summary())
    lines = text.splitlines()
    assert lines[0].strip() == "Mixed Linear Model Regression Results"
    assert set(lines[1]) == {"="}
    for key in [
        "Model:",
        "MixedLM",
        "Dependent Variable:",
        "Weight",
        "No. Observations:",
        "861",
        "No. Groups:",
        "72",
        "Method:",
        "REML",
        "Scale:",
        "Log-Likelihood:",
        "Converged:",
    ]:
        assert key in text
    header = next(line for line in lines if "Coef." in line)
    assert header.split() == ["Coef.", "Std.Err.", "z", "P>|z|", "[0.025", "0.975]"]
    rows = {line.split("  ")[0].strip(): line for line in lines if line[:1].isalpha()}
    assert "Group x Time Cov" in rows
    var_row = next(line for line in lines if line.startswith("Time Var"))
    assert len(var_row.split()) == 4  # name (2 words), estimate, standard error only
    assert "<table" in fits["dietox_rs"].summary()._repr_html_()


def test_old_and_new_free_masks_agree(fits):
    data = datasets.load("dietox")
    model = sm.mixedlm("Weight ~ Time", data, re_formula="~Time", groups="Pig")
    free = MixedLMParams.from_components(np.ones(2), np.eye(2))
    result = model.fit(free=free, method=["lbfgs"])
    np.testing.assert_allclose(
        np.asarray(result.params), np.asarray(fits["dietox_indep"].params), rtol=1e-10
    )
    assert np.asarray(result.bse)[3] == 0.0  # the held covariance has no standard error


def test_mixedlm_params_packing_round_trips():
    cov = np.array([[2.0, 0.3], [0.3, 0.5]])
    pa = MixedLMParams.from_components([1.0, 2.0], cov, vcomp=[0.7])
    for use_sqrt in (True, False):
        packed = pa.get_packed(use_sqrt=use_sqrt, has_fe=True)
        back = MixedLMParams.from_packed(packed, 2, 2, use_sqrt=use_sqrt, has_fe=True)
        np.testing.assert_allclose(back.cov_re, cov)
        np.testing.assert_allclose(back.vcomp, [0.7])
        np.testing.assert_allclose(back.fe_params, [1.0, 2.0])
    np.testing.assert_allclose(pa.get_packed(use_sqrt=False), [2.0, 0.3, 0.5, 0.7])
    old = MixedLMParams(2, 2)
    old.set_cov_re(cov_re_sqrt=np.linalg.cholesky(cov))
    np.testing.assert_allclose(old.get_cov_re(), cov)


def test_variance_components_map_to_nested_terms():
    ref = reference("pastes")  # strength ~ 1 + (1|batch/cask)
    data = datasets.load("pastes")
    result = sm.MixedLM.from_formula(
        "strength ~ 1", data, groups="batch", re_formula="1", vc_formula={"cask": "0 + C(cask)"}
    ).fit()
    assert -2 * result.llf == pytest.approx(ref["objective"], rel=1e-9)
    variances = {row["grp"]: row["vcov"] for row in ref["varcorr"]}
    assert result.vcomp[0] == pytest.approx(variances["cask:batch"], rel=RTOL)
    assert result.cov_re.iloc[0, 0] == pytest.approx(variances["batch"], rel=RTOL)
    assert list(result.random_effects["A"].index) == [
        "batch",
        "cask[C(cask)[a]]",
        "cask[C(cask)[b]]",
        "cask[C(cask)[c]]",
    ]
    assert result.model.param_names[-1] == "cask Var"


def test_crossed_effects_through_one_group():
    ref = reference("penicillin")  # diameter ~ 1 + (1|plate) + (1|sample)
    data = datasets.load("penicillin")
    data["one"] = 1
    vc = {"plate": "0 + C(plate)", "sample": "0 + C(sample)"}
    result = sm.mixedlm("diameter ~ 1", data, groups="one", vc_formula=vc).fit()
    assert -2 * result.llf == pytest.approx(ref["objective"], rel=1e-9)
    variances = {row["grp"]: row["vcov"] for row in ref["varcorr"]}
    np.testing.assert_allclose(result.vcomp, [variances["plate"], variances["sample"]], rtol=RTOL)


def test_maximum_likelihood_fit():
    ref = reference("dietox_ri_ml")
    data = datasets.load("dietox")
    result = sm.mixedlm("Weight ~ Time", data, groups=data["Pig"]).fit(reml=False)
    assert result.method == "ML"
    assert -2 * result.llf == pytest.approx(ref["objective"], rel=1e-9)
    assert result.aic == pytest.approx(ref["aic"], rel=1e-9)
    assert result.bic == pytest.approx(ref["bic"], rel=1e-9)
    assert np.isnan(sm.mixedlm("Weight ~ Time", data, groups="Pig").fit().aic)  # REML


def test_boundary_fit_warns_with_a_convergence_warning():
    data = datasets.load("dyestuff2")
    model = sm.mixedlm("Yield ~ 1", data, groups="Batch")
    with pytest.warns(SingularFitWarning):
        result = model.fit()
    assert issubclass(SingularFitWarning, ConvergenceWarning)
    assert result.cov_re.iloc[0, 0] == pytest.approx(0.0, abs=1e-8)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", category=ConvergenceWarning)
        model.fit()


def test_predict_and_array_outputs(fits):
    result = fits["sitka_rs"]
    data = datasets.load("sitka")
    exog = pd.DataFrame({"Intercept": 1.0, "Time": data["Time"]}).iloc[:4]
    np.testing.assert_allclose(result.predict(exog), exog.to_numpy() @ np.asarray(result.fe_params))
    formula_fit = fits["dietox_ri"]
    new = pd.DataFrame({"Time": [1.0, 5.0]})
    expected = formula_fit.fe_params["Intercept"] + formula_fit.fe_params["Time"] * new["Time"]
    np.testing.assert_allclose(formula_fit.predict(new), expected)
    design = np.column_stack([np.ones(len(data)), data["Time"]])
    arrays = sm.MixedLM(data["size"].to_numpy(), design, data["tree"].to_numpy()).fit()
    assert isinstance(arrays.params, np.ndarray)
    assert arrays.model.exog_names == ["const", "x1"]
    assert isinstance(arrays.cov_re, pd.DataFrame)


def test_unsupported_and_invalid_requests(fits):
    data = datasets.load("dietox")
    model = sm.mixedlm("Weight ~ Time", data, re_formula="Time", groups="Pig")
    with pytest.raises(DesignError, match="free.cov_re"):
        model.fit(free=MixedLMParams.from_components(np.ones(2), np.eye(3)))
    with pytest.raises(DesignError, match="dist_low"):
        fits["sitka_ri"].profile_re(0, dist_low=10.0)
    broken = data.assign(Weight=data["Weight"].where(data.index != 3))
    exog = np.column_stack([np.ones(len(data)), data["Time"]])
    with pytest.raises(DesignError, match="missing"):
        sm.MixedLM(broken["Weight"], exog, data["Pig"])
    dropped = sm.MixedLM(broken["Weight"], exog, data["Pig"], missing="drop")
    assert dropped.nobs == len(data) - 1
    with pytest.raises(TypeError, match="groups"):
        sm.MixedLM.from_formula("Weight ~ Time", data)


def test_fixed_variance_and_start_values():
    """A zero diagonal in free holds that variance / scale at its start value (statsmodels)."""
    data = datasets.load("dietox")
    model = sm.mixedlm("Weight ~ Time", data, re_formula="Time", groups="Pig")
    free = MixedLMParams.from_components(np.ones(2), np.diag([0.0, 1.0]))
    start = MixedLMParams.from_components(np.zeros(2), np.diag([3.0, 0.07]))
    held = model.fit(free=free, start_params=start)
    assert held.params["Pig Var"] == pytest.approx(3.0, rel=1e-12)
    assert held.bse["Pig Var"] == 0.0
    assert held.bse["Time Var"] > 0
    unfit = model.fit(do_cg=False)
    assert not unfit.converged
    np.testing.assert_allclose(np.asarray(unfit.params)[2:], [1.0, 0.0, 1.0], atol=1e-12)
