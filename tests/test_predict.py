"""Predictions against lme4 (predict with re.form), merTools::predictInterval and the
definitions of their standard errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _postfit import MODELS, data, fit, fit_at_reference, grid, reference

import mixedmodels as mm
from mixedmodels.errors import DesignError, FormulaError, MissingColumnError
from mixedmodels.predict import predict, random_pieces
from mixedmodels.predict_intervals import predict_frame, simulate


def _new_levels(name: str) -> pd.DataFrame:
    frame = grid(name)
    formula = reference(name)["formula"]
    for column in frame.columns:
        if f"| {column}" in formula or f"/{column}" in formula or f"| batch/{column}" in formula:
            frame[column] = "new_" + frame[column].astype(str)
    if name == "pastes":
        frame["batch"] = "new_" + grid(name)["batch"]
        frame["cask"] = "new_" + grid(name)["cask"]
    return frame


@pytest.mark.parametrize("name", MODELS)
def test_predictions_equal_lme4_at_its_theta(name):
    ref = reference(name)
    at = fit_at_reference(name)
    new = grid(name)
    close = {"rtol": 1e-10, "atol": 1e-9}
    np.testing.assert_allclose(predict(at, new), ref["predict_full"], **close)
    np.testing.assert_allclose(predict(at, new, re_form="~0"), ref["predict_fixed"], **close)
    np.testing.assert_allclose(predict(at, new, re_form=np.nan), ref["predict_fixed"], **close)
    subset = ref["re_form_subset"]
    np.testing.assert_allclose(predict(at, new, re_form=subset), ref["predict_subset"], **close)
    np.testing.assert_allclose(at.predict(re_form=subset), ref["predict_fitted_subset"], **close)
    unseen = predict(at, _new_levels(name), allow_new_levels=True)
    np.testing.assert_allclose(unseen, ref["predict_new_levels"], **close)


@pytest.mark.parametrize("name", MODELS)
def test_fixed_part_standard_errors_equal_x_vcov_x(name):
    ref = reference(name)
    frame = predict_frame(fit_at_reference(name), grid(name), re_form="~0")
    np.testing.assert_allclose(frame["se_fit"], ref["se_fixed"], rtol=1e-9)
    np.testing.assert_allclose(frame["upper"] - frame["fit"], 1.959963984540054 * frame["se_fit"])
    own = predict_frame(fit(name), grid(name), re_form="~0", level=0.9)
    np.testing.assert_allclose(own["se_fit"], ref["se_fixed"], rtol=1e-4)


def _henderson_pev(result, rows) -> np.ndarray:
    """Prediction-error variances from Henderson's mixed-model equations, formed densely."""
    Z = result.get_me("Z").toarray()
    X = result.design.X
    Lambda = result.get_me("Lambda").toarray()
    G = Lambda @ Lambda.T  # relative covariance of b, invertible here
    C = np.block([[X.T @ X, X.T @ Z], [Z.T @ X, Z.T @ Z + np.linalg.inv(G)]])
    V = np.hstack([X, Z])[rows]
    return result.sigma**2 * np.einsum("na,na->n", V, np.linalg.solve(C, V.T).T)


@pytest.mark.parametrize("name", ["sleepstudy", "penicillin", "pastes"])
def test_conditional_standard_errors_are_henderson_prediction_error_variances(name):
    own = fit(name)
    frame = predict_frame(own, interval=None)
    rows = np.arange(own.nobs)
    np.testing.assert_allclose(frame["se_fit"] ** 2, _henderson_pev(own, rows), rtol=1e-8)
    np.testing.assert_allclose(frame["fit"], own.fitted, rtol=1e-12)
    # on new data with the rows of the fit, the same values
    rows_frame = predict_frame(own, data(name).loc[own.design.row_index[:5]], interval=None)
    np.testing.assert_allclose(rows_frame["se_fit"], frame["se_fit"].iloc[:5], rtol=1e-10)


@pytest.mark.parametrize("name", ["sleepstudy", "penicillin", "pastes"])
def test_prediction_intervals_match_mertools_within_simulation_error(name):
    ref = reference(name)
    own = fit(name)
    r = ref["predict_interval"]
    frame = predict_frame(own, grid(name), interval="prediction", n_sims=20000, seed=1)
    width = np.array(r["upr"]) - np.array(r["lwr"])
    for ours, theirs in (("upper", "upr"), ("lower", "lwr"), ("fit", "fit")):
        assert np.max(np.abs(frame[ours] - r[theirs]) / width) < 0.03, ours
    r = ref["predict_interval_fixed"]
    fixed = predict_frame(
        own, grid(name), "~0", interval="prediction", include_residual=False, level=0.9,
        n_sims=20000, seed=2,
    )  # fmt: skip
    width = np.array(r["upr"]) - np.array(r["lwr"])
    assert np.max(np.abs(fixed["upper"] - r["upr"]) / width) < 0.03
    assert np.max(np.abs(fixed["lower"] - r["lwr"]) / width) < 0.03


def test_prediction_intervals_are_reproducible_and_cover_new_observations():
    own = fit("sleepstudy")
    new = grid("sleepstudy")
    a = predict_frame(own, new, interval="prediction", n_sims=500, seed=3)
    b = predict_frame(own, new, interval="prediction", n_sims=500, seed=3)
    pd.testing.assert_frame_equal(a, b)
    wide = predict_frame(own, new, interval="prediction", n_sims=4000, seed=4)
    narrow = predict_frame(own, new, interval="confidence")
    assert ((wide["upper"] - wide["lower"]) > (narrow["upper"] - narrow["lower"])).all()
    # coverage: simulated new responses of the fitting rows fall inside about 95% of the time
    frame = predict_frame(own, interval="prediction", n_sims=2000, seed=5)
    y = own.simulate(nsim=1, seed=6, use_u=True)[:, 0]
    inside = np.mean((y >= frame["lower"]) & (y <= frame["upper"]))
    assert 0.9 < inside <= 1.0


def test_bootstrap_prediction_intervals():
    own = fit("pastes")
    new = grid("pastes")
    # population level: the bootstrap and merTools' simulation estimate the same interval
    boot = predict_frame(own, new, "~0", interval="prediction", method="bootstrap", n_sims=200,
                         seed=1)  # fmt: skip
    sim = predict_frame(own, new, "~0", interval="prediction", n_sims=4000, seed=1)
    ratio = (boot["upper"] - boot["lower"]) / (sim["upper"] - sim["lower"])
    assert ratio.between(0.8, 1.25).all()
    np.testing.assert_allclose(boot["fit"], predict(own, new, "~0"))
    # conditional (bootMer's use.u = TRUE): wider than the residual alone
    cond = predict_frame(own, new, interval="prediction", method="bootstrap", n_sims=100, seed=2)
    assert ((cond["upper"] - cond["lower"]) > 2 * 1.6 * own.sigma).all()
    assert ((cond["lower"] < cond["fit"]) & (cond["fit"] < cond["upper"])).all()


def test_re_form_subset_of_a_random_slope_takes_the_intercepts():
    own = fit("sleepstudy")
    new = grid("sleepstudy")
    intercepts = own.ranef["Subject"]["(Intercept)"]
    expected = predict(own, new, "~0") + intercepts.loc[new["Subject"]].to_numpy()
    np.testing.assert_allclose(predict(own, new, "~(1 | Subject)"), expected)
    whole = predict(own, new, "~(Days | Subject)")
    np.testing.assert_allclose(whole, predict(own, new))


def test_re_form_errors_name_the_problem():
    own = fit("penicillin")
    with pytest.raises(FormulaError, match="grouping factor 'batch'"):
        predict(own, grid("penicillin"), "~(1 | batch)")
    with pytest.raises(FormulaError, match="column"):
        predict(fit("sleepstudy"), grid("sleepstudy"), "~(0 + Reaction | Subject)")
    with pytest.raises(FormulaError, match="must start with"):
        random_pieces(own, "(1 | plate)")
    with pytest.raises(DesignError, match="new levels of 'plate'"):
        predict(own, grid("penicillin").assign(plate="zz"))
    with pytest.raises(MissingColumnError, match="plate"):
        predict(own, grid("penicillin").drop(columns="plate"))
    with pytest.raises(MissingColumnError, match="sample"):  # a dict of columns is data too
        predict(own, {"plate": ["a"]})
    with pytest.raises(DesignError, match="interval"):
        predict_frame(own, interval="credible")
    with pytest.raises(DesignError, match="level"):
        predict_frame(own, level=95)


def test_simulate_new_data_with_and_without_u():
    own = fit("sleepstudy")
    new = grid("sleepstudy")
    conditional = simulate(own, 20000, seed=1, newdata=new, use_u=True)
    np.testing.assert_allclose(conditional.mean(axis=1), predict(own, new), atol=0.6)
    np.testing.assert_allclose(conditional.std(axis=1), own.sigma, rtol=0.03)
    marginal = own.simulate(20000, seed=2, newdata=new)
    lam = own.model.lambdas(own.theta)[0]
    cov = own.sigma**2 * lam @ lam.T
    z = np.column_stack([np.ones(len(new)), new["Days"]])
    sd = np.sqrt(np.einsum("na,ab,nb->n", z, cov, z) + own.sigma**2)
    np.testing.assert_allclose(marginal.std(axis=1), sd, rtol=0.03)
    np.testing.assert_allclose(marginal.mean(axis=1), predict(own, new, "~0"), atol=1.5)
    # rows of the same subject share its draw: their difference has no subject intercept
    assert conditional.shape == marginal.shape == (len(new), 20000)
    fixed_only = own.simulate(4000, seed=3, newdata=new, re_form="~0")
    np.testing.assert_allclose(fixed_only.std(axis=1), own.sigma, rtol=0.05)
    with pytest.raises(DesignError, match="new levels"):
        own.simulate(2, newdata=new.assign(Subject="x"))
    assert own.simulate(2, newdata=new.assign(Subject="x"), allow_new_levels=True).shape == (6, 2)


def test_simulate_without_newdata_keeps_its_random_stream():
    own = fit("sleepstudy")
    from mixedmodels.inference.bootstrap import simulate as plain

    np.testing.assert_array_equal(own.simulate(3, seed=9), plain(own, 3, 9))


def test_predict_frame_on_a_weighted_fit_with_missing_rows():
    sleep = mm.datasets.load("sleepstudy")
    sleep["w"] = np.linspace(0.5, 2, len(sleep))
    own = mm.lmer("Reaction ~ Days + (Days | Subject)", sleep, weights="w")
    new = sleep.head(4).copy()
    new.loc[1, "Days"] = np.nan
    frame = predict_frame(own, new)
    assert frame["fit"].isna().tolist() == [False, True, False, False]
    assert frame["se_fit"].isna().tolist() == [False, True, False, False]
