"""update, all_fit, re_pca and get_me against lme4 (update, allFit, rePCA, getME)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from _postfit import MODELS, data, fit, fit_at_reference, reference

import mixedmodels as mm
from mixedmodels.errors import DesignError
from mixedmodels.optimize import OPTIMIZERS
from mixedmodels.workflow import GET_ME_NAMES, get_me, re_pca


def _sparse(triplets) -> sp.csc_matrix:
    return sp.csc_matrix(
        (triplets["x"], (triplets["i"], triplets["j"])), shape=tuple(triplets["dim"])
    )


@pytest.mark.parametrize("name", MODELS)
def test_get_me_equals_lme4(name):
    ref = reference(name)["getme"]
    at = fit_at_reference(name)
    close = {"rtol": 1e-8, "atol": 1e-8}
    for key in ("theta", "beta", "u", "b", "y"):
        np.testing.assert_allclose(get_me(at, key), ref[key], **close, err_msg=key)
    lower = [-np.inf if v is None else v for v in ref["lower"]]  # JSON has no -Inf
    np.testing.assert_array_equal(get_me(at, "lower"), lower)
    np.testing.assert_allclose(get_me(at, "X"), np.array(ref["X"]).reshape(get_me(at, "X").shape))
    for key in ("Z", "Zt", "Lambda"):
        ours = get_me(at, key)
        assert sp.issparse(ours), key
        np.testing.assert_allclose(ours.toarray(), _sparse(ref[key]).toarray(), **close)
    np.testing.assert_allclose(get_me(at, "Lambdat").toarray(), _sparse(ref["Lambda"]).T.toarray())
    for key in ("n_rtrms", "p", "q", "n"):
        assert get_me(at, key) == ref[key], key
    assert list(get_me(at, "Gp")) == ref["Gp"]
    assert get_me(at, "REML") == ref["REML"]
    cnms = ref["cnms"]
    assert [tuple(c) if isinstance(c, list) else (c,) for c in cnms.values()] == [
        tuple(cols) for _, cols in get_me(at, "cnms")
    ][: len(cnms)]
    assert get_me(at, "pwrss") == pytest.approx(ref["devcomp_pwrss"], rel=1e-9)
    # b = Lambda u and the fitted values are X beta + Z b
    Lambda, u = get_me(at, "Lambda"), get_me(at, "u")
    np.testing.assert_allclose(Lambda @ u, get_me(at, "b"), atol=1e-10)
    mu = get_me(at, "X") @ get_me(at, "beta") + get_me(at, "Z") @ get_me(at, "b")
    np.testing.assert_allclose(mu, get_me(at, "mu"))


def test_get_me_rx_is_the_cholesky_factor_of_the_fixed_effects_precision():
    own = fit("dietox")
    RX = get_me(own, "RX")
    np.testing.assert_array_equal(RX, np.triu(RX))
    assert (np.diag(RX) > 0).all()
    precision = own.sigma**2 * np.linalg.inv(own.vcov.to_numpy())
    np.testing.assert_allclose(RX.T @ RX, precision, rtol=1e-9, atol=1e-9)


def test_get_me_lind_maps_theta_into_lambdat():
    own = fit("sleepstudy")
    lambdat = get_me(own, "Lambdat")
    lambdat.sort_indices()
    lind = get_me(own, "Lind")
    np.testing.assert_array_equal(lambdat.data, own.theta[lind - 1])


def test_get_me_every_name_and_a_bad_one():
    own = fit("pastes")
    for name in GET_ME_NAMES:
        assert get_me(own, name) is not None
    assert set(get_me(own, "flist")) == {"cask:batch", "batch"}
    assert get_me(own, "devcomp")["REML"] == pytest.approx(own.reml_criterion)
    with pytest.raises(DesignError, match="no 'L'"):
        get_me(own, "L")


def test_get_me_of_uncorrelated_terms_keeps_lme4_term_order():
    sleep = mm.datasets.load("sleepstudy")
    own = mm.lmer("Reaction ~ Days + (Days || Subject)", sleep)
    Z = get_me(own, "Z").toarray()
    # lme4: the 18 intercept columns, then the 18 slope columns
    np.testing.assert_array_equal(Z[:, :18].sum(axis=1), np.ones(180))
    np.testing.assert_allclose(Z[:, 18:].sum(axis=1), sleep["Days"])
    assert list(get_me(own, "Gp")) == [0, 18, 36]


@pytest.mark.parametrize("name", MODELS)
def test_re_pca_equals_lme4(name):
    ref = reference(name)
    pcs = re_pca(fit_at_reference(name))
    names = ref["rePCA_names"]
    assert list(pcs) == ([names] if isinstance(names, str) else names)
    for group, expected in ref["rePCA"].items():
        np.testing.assert_allclose(pcs[group].sdev, expected["sdev"], rtol=1e-9, atol=1e-12)
        rotation = np.array(expected["rotation"]).reshape(pcs[group].rotation.shape)
        # singular vectors up to sign
        np.testing.assert_allclose(np.abs(pcs[group].rotation), np.abs(rotation), atol=1e-8)
    summary = pcs[list(pcs)[0]].summary()
    assert summary["Cumulative Proportion"].iloc[-1] == pytest.approx(1.0)


@pytest.mark.parametrize("name", ["sleepstudy", "penicillin", "pastes"])
def test_all_fit_reaches_lme4_best_objective(name):
    ref = reference(name)
    result = fit(name).all_fit(progress=False)
    table = result.table
    assert list(table.index) == list(OPTIMIZERS)
    finite = [v for v in ref["allfit_objective"] if v is not None]
    assert table["objective"].min() <= min(finite) + 1e-6
    assert (table["difference"] >= 0).all()
    assert result.best.objective == pytest.approx(table["objective"].min())
    fixef = np.array(ref["allfit_fixef"]).reshape(len(ref["allfit_optimizers"]), -1)[0]
    best = table.loc[table["objective"].idxmin(), list(fit(name).fixef.index)].to_numpy(float)
    np.testing.assert_allclose(best, fixef, rtol=1e-5)
    assert "warnings" in table.columns


def test_all_fit_records_warnings_and_rejects_unknown_optimizers():
    own = fit("pastes")
    result = own.all_fit(["bobyqa", "cobyla"], progress=False)
    assert list(result.table.index) == ["bobyqa", "cobyla"]
    with pytest.raises(DesignError, match="unknown optimizer"):
        own.all_fit(["lbfgs"])
    assert "AllFit" in repr(result)


def test_update_refits_with_r_formula_algebra():
    own = fit("dietox")
    smaller = own.update(". ~ . - Time:Evit")
    assert smaller.model.formula == "Weight ~ Time + Evit + Cu + (Time | Pig)"
    direct = mm.lmer("Weight ~ Time + Evit + Cu + (Time | Pig)", data("dietox"))
    assert smaller.objective == pytest.approx(direct.objective, abs=1e-8)
    ml = own.update(REML=False)
    assert not ml.reml
    assert ml.model.formula == own.model.formula


def test_update_without_data_is_a_clear_error():
    own = fit("sleepstudy")
    refit = own.model.refit(own.design.y)
    with pytest.raises(DesignError, match="keeps no data"):
        refit.update(". ~ . - Days")
    assert refit.update(". ~ . - Days", data=data("sleepstudy")).n_fixed == 1
    with pytest.raises(DesignError, match="unknown argument"):
        own.update(". ~ .", REMl=False)
