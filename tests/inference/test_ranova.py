"""ranova, drop1 and step against lmerTest 3.1-3 (make_postfit.R)."""

from __future__ import annotations

import pickle
import re
import warnings

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm
from mixedmodels.errors import InferenceError
from mixedmodels.inference.ranova import drop1, ranova, step

from ._postfit import POSTFIT_IDS, fit_at_r_theta, postfit_data, postfit_reference

TOLERANCE = 1e-6


def _normal(label: str) -> str:
    """lme4 and we order nested groups alike but list ``a/b``'s terms in another order."""
    return re.sub(r"\s+", " ", label)


def _by_name(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    return frame.set_index(frame[".row"].map(_normal)).drop(columns=".row")


def _assert_close(got: pd.DataFrame, want: pd.DataFrame, columns, tolerance=TOLERANCE):
    assert sorted(got.index) == sorted(want.index)
    want = want.loc[got.index]
    for column in columns:
        a, b = got[column].to_numpy(dtype=float), want[column].to_numpy(dtype=float)
        assert np.array_equal(np.isnan(a), np.isnan(b)), column
        ok = ~np.isnan(b)
        err = np.abs(a[ok] - b[ok]) / np.maximum(1.0, np.abs(b[ok]))
        assert err.size == 0 or np.max(err) <= tolerance, (column, np.max(err))


@pytest.fixture(scope="module", params=POSTFIT_IDS)
def model(request):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mm.ConvergenceWarning)
        return request.param, fit_at_r_theta(request.param), postfit_reference(request.param)


def test_ranova_matches_lmertest(model):
    _, fit, ref = model
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mm.ConvergenceWarning)
        table = ranova(fit).table
    _assert_close(
        table, _by_name(ref["ranova"]), ["npar", "logLik", "AIC", "LRT", "Df", "Pr(>Chisq)"]
    )


def test_drop1_matches_lmertest(model):
    _, fit, ref = model
    for key, ddf in (("drop1", "Satterthwaite"), ("drop1_kr", "Kenward-Roger")):
        table = drop1(fit, ddf=ddf).table
        want = _by_name(ref[key])
        assert list(table.index) == list(want.index)
        _assert_close(table, want, ["Sum Sq", "Mean Sq", "F value", "Pr(>F)"])
        np.testing.assert_allclose(table["DenDF"], want["DenDF"], rtol=1e-4)


def test_step_matches_lmertest(model):
    name, fit, ref = model
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mm.ConvergenceWarning)
        result = step(fit)
    random = _by_name(ref["step"]["random"])
    _assert_close(
        result.random.table, random, ["Eliminated", "npar", "logLik", "LRT", "Pr(>Chisq)"]
    )
    fixed = _by_name(ref["step"]["fixed"])
    assert list(result.fixed.table.index) == list(fixed.index)
    # every row after the first elimination comes from a model refitted by each program's own
    # optimiser: their optima agree to about 1e-5 in theta, so these rows to 1e-4
    _assert_close(result.fixed.table, fixed, ["Eliminated", "F value", "Pr(>F)"], 1e-4)
    np.testing.assert_allclose(result.fixed.table["DenDF"], fixed["DenDF"], rtol=1e-4)
    # the model found: ours reaches lme4's optimum or a better one
    if ref["step"]["REMLcrit"] is not None:
        assert result.model.reml_criterion <= ref["step"]["REMLcrit"] + 1e-6
    # and has the terms of lmerTest's
    want_fixed = ref["step"]["model"].split("~")[1].split("(")[0].strip(" +")
    got_terms = {t.replace("C(", "").split(",")[0] for t in result.model.fixef.index}
    for term in want_fixed.split(" + "):
        if term != "1":
            assert any(g.startswith(term) for g in got_terms), (name, term)


def test_sleepstudy_slope_is_reduced_not_removed():
    ref = __import__("json").loads(
        (
            __import__("pathlib").Path(__file__).parent / "reference" / "postfit_compare.json"
        ).read_text()
    )["sleepstudy"]
    data = mm.datasets.load("sleepstudy")
    fit = mm.lmer("Reaction ~ Days + (Days | Subject)", data)
    table = fit.ranova().table
    assert list(table.index) == ["<none>", "Days in (Days | Subject)"]
    want = _by_name(ref["ranova"])
    for column in ("logLik", "LRT", "Pr(>Chisq)"):
        np.testing.assert_allclose(table[column].iloc[1], want[column].iloc[1], rtol=1e-6)


def test_removing_the_last_random_term_compares_with_the_linear_model():
    """(1 | plate) removed leaves lm(diameter ~ sample): its REML likelihood, as lmerTest."""
    fit = fit_at_r_theta("penicillin")
    table = ranova(fit).table
    X, y = fit.design.X, fit.design.y
    n, p = X.shape
    beta = np.linalg.lstsq(X, y, rcond=None)[0]
    rss = float(np.sum((y - X @ beta) ** 2))
    N = n - p
    _, logdet = np.linalg.slogdet(X.T @ X)
    loglik = -0.5 * N * (np.log(2 * np.pi) + 1 - np.log(N) + np.log(rss)) - 0.5 * logdet
    assert table.loc["(1 | plate)", "logLik"] == pytest.approx(loglik, rel=1e-10)
    assert table.loc["(1 | plate)", "npar"] == p + 1


def test_refits_need_the_data():
    fit = fit_at_r_theta("pastes")
    restored = pickle.loads(pickle.dumps(fit))
    with pytest.raises(InferenceError, match="pass data="):
        ranova(restored)
    assert (
        len(ranova(restored, data=restored.model.design.row_index.to_frame() if False else _data()))
        == 3
    )


def _data():

    return postfit_data("pastes")


def test_step_keeps_what_it_is_told_to():
    fit = fit_at_r_theta("dietox")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mm.ConvergenceWarning)
        result = fit.step(keep=["Evit:Cu"])
    assert "Evit:Cu" in result.fixed.table.index
    assert result.fixed.table.loc["Evit:Cu", "Eliminated"] == 0
    assert "Model found" in str(result)
