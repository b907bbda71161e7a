"""The facade model's statsmodels methods at any parameter point, against statsmodels 0.15.

``loglike``, ``score``, ``hessian``, ``get_fe_params``, ``get_scale``, ``predict`` and the
model's attributes and ``model.data`` on models with a random intercept, a random slope,
variance components (one and several columns), categorical fixed effects, the formula and the
array interfaces, by REML and ML. Points are drawn in the parameter space (a positive definite
``cov_re``, positive variance components), packed as statsmodels packs them.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import mixedmodels.compat.statsmodels as sm
from mixedmodels import datasets
from mixedmodels.errors import DesignError

smapi = pytest.importorskip("statsmodels.api")
from statsmodels.regression.mixed_linear_model import (  # noqa: E402
    MixedLMParams as StatsmodelsParams,
)

RTOL = 1e-6


def _vc_frame() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    g = np.repeat(np.arange(25), 8)
    x, x1, x2 = rng.normal(size=(3, g.size))
    c = rng.integers(0, 3, size=g.size)
    u = rng.normal(size=(3, 25))
    y = 2 + x + u[0][g] + 0.5 * u[1][g] * x1 + 0.5 * u[2][g] * x2 + rng.normal(size=g.size)
    return pd.DataFrame({"y": y, "x": x, "x1": x1, "x2": x2, "c": c, "g": g})


def _ri(api):
    data = datasets.load("dietox")
    return api.MixedLM.from_formula("Weight ~ Time", data, groups="Pig")


def _rs(api):
    data = datasets.load("dietox")
    return api.MixedLM.from_formula("Weight ~ Time", data, re_formula="Time", groups="Pig")


def _vc(api):
    vc = {"cc": "0 + C(c)", "slopes": "0 + x1 + x2"}
    return api.MixedLM.from_formula("y ~ x", _vc_frame(), re_formula="1", vc_formula=vc, groups="g")


def _arrays(api):
    data = datasets.load("sitka")
    exog = np.column_stack([np.ones(len(data)), data["Time"]])
    return api.MixedLM(data["size"].to_numpy(), exog, data["tree"].to_numpy(), exog_re=exog)


MODELS = {"random_intercept": _ri, "random_slope": _rs, "vc": _vc, "arrays": _arrays}


def pair(name: str, reml: bool):
    """The statsmodels model and ours, set to REML or ML as ``fit(reml=...)`` would."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = MODELS[name](smapi)
    ours = MODELS[name](sm)
    theirs.reml = ours.reml = reml
    # set by statsmodels' fit; its evaluation methods read them
    theirs.cov_pen = theirs.fe_pen = theirs._freepat = None
    theirs._cov_sing = 0
    return theirs, ours


def points(model, count: int = 3) -> list[StatsmodelsParams]:
    """Parameter points in statsmodels' profile parameterisation (cov_re / scale ...)."""
    rng = np.random.default_rng(len(model.exog_names) + model.k_re + model.k_vc)
    out = []
    for _ in range(count):
        root = np.tril(rng.uniform(-0.3, 0.3, size=(model.k_re, model.k_re)))
        root[np.diag_indices(model.k_re)] = rng.uniform(0.2, 1.5, size=model.k_re)
        out.append(
            StatsmodelsParams.from_components(
                fe_params=rng.normal(size=model.k_fe) + np.arange(model.k_fe),
                cov_re_sqrt=root,
                vcomp=rng.uniform(0.1, 1.2, size=model.k_vc),
            )
        )
    return out


def _quiet(call, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return call(*args, **kwargs)


CASES = [(name, reml) for name in MODELS for reml in (True, False)]
IDS = [f"{name}-{'REML' if reml else 'ML'}" for name, reml in CASES]


@pytest.mark.parametrize(("name", "reml"), CASES, ids=IDS)
def test_loglike_at_any_point(name, reml):
    theirs, ours = pair(name, reml)
    for point in points(theirs):
        for use_sqrt in (True, False):
            theirs.use_sqrt = ours.use_sqrt = use_sqrt
            packed = point.get_packed(use_sqrt=use_sqrt, has_fe=False)
            expected = _quiet(theirs.loglike, packed)
            np.testing.assert_allclose(ours.loglike(packed), expected, rtol=RTOL)
            np.testing.assert_allclose(ours.loglike(point), expected, rtol=RTOL)
            fixed = _quiet(theirs.loglike, point, profile_fe=False)
            np.testing.assert_allclose(ours.loglike(point, profile_fe=False), fixed, rtol=RTOL)
            with_fe = point.get_packed(use_sqrt=use_sqrt, has_fe=True)
            np.testing.assert_allclose(ours.loglike(with_fe, profile_fe=False), fixed, rtol=RTOL)
            # statsmodels reads a packed vector without fixed effects as zero fixed effects
            zero = _quiet(theirs.loglike, packed, profile_fe=False)
            np.testing.assert_allclose(ours.loglike(packed, profile_fe=False), zero, rtol=RTOL)
        assert ours.loglike(point) >= ours.loglike(point, profile_fe=False)


@pytest.mark.parametrize(("name", "reml"), CASES, ids=IDS)
def test_get_fe_params_and_get_scale(name, reml):
    theirs, ours = pair(name, reml)
    for point in points(theirs):
        fe, sing = _quiet(theirs.get_fe_params, point.cov_re, point.vcomp)
        mine, my_sing = ours.get_fe_params(point.cov_re, point.vcomp)
        np.testing.assert_allclose(mine, fe, rtol=RTOL)
        assert my_sing == sing
        scale = _quiet(theirs.get_scale, point.fe_params, point.cov_re, point.vcomp)
        np.testing.assert_allclose(
            ours.get_scale(point.fe_params, point.cov_re, point.vcomp), scale, rtol=RTOL
        )


def test_get_fe_params_at_a_singular_covariance_is_the_limit():
    """Both flag the singular ``cov_re``; statsmodels then puts a pseudo-inverse of ``cov_re``
    into its Woodbury solve (infinite variance along the null direction), ours is the GLS
    estimate at that covariance: statsmodels' own value just inside the parameter space."""
    theirs, ours = pair("random_slope", True)
    cov = np.array([[1.0, 1.0], [1.0, 1.0]])
    _, sing = _quiet(theirs.get_fe_params, cov, np.zeros(0))
    mine, my_sing = ours.get_fe_params(cov, np.zeros(0))
    assert sing
    assert my_sing
    inside, inside_sing = _quiet(theirs.get_fe_params, cov + 1e-8 * np.eye(2), np.zeros(0))
    assert not inside_sing
    np.testing.assert_allclose(mine, inside, rtol=1e-6)


def test_loglike_refuses_a_vector_of_the_wrong_length():
    _, ours = pair("random_slope", True)
    with pytest.raises(DesignError, match="expected 3"):
        ours.loglike(np.ones(4))


# -- attributes and model.data -------------------------------------------------------------
def _categorical(api):
    data = datasets.load("dietox")
    return api.MixedLM.from_formula("Weight ~ Time + C(Cu)", data, re_formula="Time", groups="Pig")


def _pandas_arrays(api):
    data = datasets.load("dietox")
    exog = pd.DataFrame({"const": 1.0, "Time": data["Time"]})
    return api.MixedLM(data["Weight"], exog, data["Pig"], exog_re=data[["Time"]])


def _default_re(api):
    data = datasets.load("sitka")
    exog = np.column_stack([np.ones(len(data)), data["Time"]])
    return api.MixedLM(data["size"].to_numpy(), exog, data["tree"].to_numpy())


ATTRIBUTE_MODELS = {
    **MODELS,
    "categorical": _categorical,
    "pandas_arrays": _pandas_arrays,
    "default_re": _default_re,
}
MODEL_ATTRIBUTES = ["exog_names", "endog_names", "k_fe", "k_re", "k_re2", "k_vc", "n_groups"]
DATA_NAMES = ["xnames", "ynames", "param_names", "exog_re_names", "exog_re_names_full"]


@pytest.mark.parametrize("name", list(ATTRIBUTE_MODELS))
def test_model_attributes_and_data(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = ATTRIBUTE_MODELS[name](smapi)
    ours = ATTRIBUTE_MODELS[name](sm)
    for attribute in MODEL_ATTRIBUTES:
        assert getattr(ours, attribute) == getattr(theirs, attribute), attribute
    assert list(ours.group_labels) == list(theirs.group_labels)
    assert ours.row_indices == theirs.row_indices
    for attribute in DATA_NAMES:
        assert getattr(ours.data, attribute) == getattr(theirs.data, attribute), attribute
    if theirs.data.row_labels is None:
        assert ours.data.row_labels is None
    else:
        pd.testing.assert_index_equal(ours.data.row_labels, theirs.data.row_labels)
    frame = getattr(theirs.data, "frame", None)
    if frame is None:
        assert ours.data.frame is None
    else:
        pd.testing.assert_frame_equal(ours.data.frame, frame)
    np.testing.assert_allclose(ours.data.endog, theirs.data.endog)
    np.testing.assert_allclose(ours.data.exog, theirs.data.exog)


@pytest.mark.parametrize("name", ["random_slope", "vc", "arrays"])
def test_predict_with_any_params(name):
    theirs, ours = pair(name, True)
    point = points(theirs, 1)[0]
    packed = point.get_packed(use_sqrt=True, has_fe=True)
    np.testing.assert_allclose(ours.predict(packed), theirs.predict(packed), rtol=1e-12)
    np.testing.assert_allclose(ours.predict(point), theirs.predict(point), rtol=1e-12)
    fe_only = point.fe_params
    exog = theirs.exog[:5] * 2.0
    np.testing.assert_allclose(ours.predict(fe_only, exog), theirs.predict(fe_only, exog))


# -- score and hessian ---------------------------------------------------------------------
def _close(actual, expected, rtol=RTOL):
    """Entry by entry to ``rtol``; entries far below the largest to ``rtol`` of the largest
    (cross derivatives that cancel to 1e-9 of the scale are rounding in either code)."""
    expected = np.asarray(expected, dtype=float)
    scale = np.abs(expected).max() if expected.size else 0.0
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * 1e-3 * scale)


@pytest.mark.parametrize(("name", "reml"), CASES, ids=IDS)
def test_score_at_any_point(name, reml):
    theirs, ours = pair(name, reml)
    for point in points(theirs, 2):
        for use_sqrt in (True, False):
            theirs.use_sqrt = ours.use_sqrt = use_sqrt
            packed = point.get_packed(use_sqrt=use_sqrt, has_fe=False)
            _close(ours.score(packed), _quiet(theirs.score, packed))
            _close(ours.score(point), _quiet(theirs.score, point.copy()))
            full = _quiet(theirs.score, point.copy(), profile_fe=False)
            _close(ours.score(point, profile_fe=False), full)
            with_fe = point.get_packed(use_sqrt=use_sqrt, has_fe=True)
            _close(ours.score(with_fe, profile_fe=False), full)


def _at_gls(theirs, point):
    """``point`` with its fixed effects replaced by their GLS estimate."""
    fe, _ = _quiet(theirs.get_fe_params, point.cov_re, point.vcomp)
    return StatsmodelsParams.from_components(fe, point.cov_re, vcomp=point.vcomp)


@pytest.mark.parametrize(("name", "reml"), CASES, ids=IDS)
def test_hessian_where_statsmodels_is_exact(name, reml):
    """statsmodels' Hessian leaves out the terms in ``X'V^-1 (y - X fe)``: it is the Hessian
    of its log-likelihood where the fixed effects are the GLS estimate (as at the optimum)."""
    theirs, ours = pair(name, reml)
    for point in map(lambda p: _at_gls(theirs, p), points(theirs, 2)):
        expected, sing = _quiet(theirs.hessian, point)
        hess, my_sing = ours.hessian(point)
        _close(hess, expected)
        assert my_sing == sing
        for use_sqrt in (True, False):
            theirs.use_sqrt = ours.use_sqrt = use_sqrt
            packed = point.get_packed(use_sqrt=use_sqrt, has_fe=True)
            _close(ours.hessian(packed)[0], _quiet(theirs.hessian, packed)[0])
        # without fixed effects ours takes the GLS estimate
        _close(ours.hessian(point.get_packed(use_sqrt=ours.use_sqrt))[0], expected)


@pytest.mark.parametrize(("name", "reml"), CASES, ids=IDS)
def test_hessian_elsewhere_is_the_derivative_of_statsmodels_score(name, reml):
    """At any fixed effects ours is the exact Hessian: the Jacobian of statsmodels' own
    (exact) score in ``(fe, cov_re, vcomp)``, by extrapolated differences."""
    theirs, ours = pair(name, reml)
    theirs.use_sqrt = False
    point = points(theirs, 1)[0]
    x0 = point.get_packed(use_sqrt=False, has_fe=True)

    def their_score(x):
        pa = StatsmodelsParams.from_packed(x, theirs.k_fe, theirs.k_re, False, True)
        return _quiet(theirs.score, pa, profile_fe=False)

    _close(ours.hessian(point)[0], _jacobian(their_score, x0), rtol=1e-5)


def _jacobian(f, x0):
    """Central differences at h and h/2 combined by one Richardson step (error O(h^4))."""
    steps = 1e-3 * np.maximum(np.abs(x0), 0.1)

    def central(k, h):
        e = np.zeros(x0.size)
        e[k] = h
        return (f(x0 + e) - f(x0 - e)) / (2 * h)

    return np.column_stack(
        [(4 * central(k, h / 2) - central(k, h)) / 3 for k, h in enumerate(steps)]
    )


def test_score_vanishes_and_hessian_is_negative_definite_at_our_optimum():
    data = datasets.load("dietox")
    model = sm.MixedLM.from_formula("Weight ~ Time", data, re_formula="Time", groups="Pig")
    result = model.fit()
    point = result.params_object
    scale = np.abs(model.hessian(point)[0]).max()
    assert np.abs(model.score(point)).max() < 1e-4 * scale
    assert np.linalg.eigvalsh(model.hessian(point)[0]).max() < 0
    np.testing.assert_allclose(model.loglike(point), result.llf, rtol=1e-10)


def test_score_after_a_fit_with_free_is_masked_as_statsmodels_masks_it():
    """``fit(free=...)`` leaves the pattern on the model; ``score`` multiplies by it."""
    theirs, ours = _rs(smapi), _rs(sm)
    _quiet(theirs.fit, free=StatsmodelsParams.from_components(np.ones(2), np.eye(2)))
    ours.fit(free=sm.MixedLMParams.from_components(np.ones(2), np.eye(2)))
    for point in points(theirs, 2):
        expected = _quiet(theirs.score, point.copy())
        assert expected[1] == 0  # the covariance entry
        _close(ours.score(point), expected)
        _close(ours.score(point, profile_fe=False), _quiet(theirs.score, point.copy(), False))
