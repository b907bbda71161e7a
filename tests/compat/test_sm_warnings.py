"""The facade's warnings: statsmodels' messages and classes, under statsmodels' conditions.

statsmodels' ``MixedLM.fit`` warns about its optimiser, a boundary estimate, a singular
random-effects covariance and its arguments; the facade does the same, judged on its own fit:
no convergence warning where the engine converges (statsmodels warns on the dietox random
slope because its own optimiser stops short), the boundary warning on a singular fit.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import mixedmodels.compat.statsmodels as sm
from mixedmodels import datasets
from mixedmodels.compat._sm_warnings import (
    BOUNDARY,
    SINGULAR_COV_RE,
    reissue_engine_warnings,
    warning_class,
)
from mixedmodels.errors import ConvergenceWarning as OurConvergenceWarning
from mixedmodels.errors import SingularFitWarning

smapi = pytest.importorskip("statsmodels.api")
from statsmodels.tools.sm_exceptions import (  # noqa: E402
    ConvergenceWarning,
    SingularMatrixWarning,
    ValueWarning,
)


def _recorded(fit):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fit()
    return result, [(w.category, str(w.message)) for w in caught]


def _simulated() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    g = np.repeat(np.arange(20), 8)
    x = rng.normal(size=160)
    y = rng.normal(size=20)[g] + x + rng.normal(size=160)
    return pd.DataFrame({"y": y, "x": x, "g": g, "c": np.tile(np.arange(4), 40)})


def _dyestuff2(api):
    return api.MixedLM.from_formula("Yield ~ 1", datasets.load("dyestuff2"), groups="Batch")


def test_the_classes_are_statsmodels_and_ours():
    assert issubclass(warning_class("ConvergenceWarning"), ConvergenceWarning)
    assert issubclass(warning_class("ConvergenceWarning"), OurConvergenceWarning)
    assert issubclass(warning_class("BoundaryWarning"), ConvergenceWarning)
    assert issubclass(warning_class("BoundaryWarning"), SingularFitWarning)
    assert issubclass(warning_class("SingularMatrixWarning"), SingularMatrixWarning)
    assert issubclass(warning_class("ValueWarning"), ValueWarning)


def test_a_boundary_fit_warns_as_statsmodels():
    ours, ours_warned = _recorded(lambda: _dyestuff2(sm).fit())
    theirs, their_warned = _recorded(lambda: _dyestuff2(smapi).fit())
    assert ours.llf == pytest.approx(theirs.llf, abs=1e-6)
    for warned in (ours_warned, their_warned):
        assert [c for c, m in warned if m == BOUNDARY and issubclass(c, ConvergenceWarning)]
        singular = [m for c, m in warned if issubclass(c, SingularMatrixWarning)]
        assert len(singular) == 1
        assert "effects" in singular[0]
    assert [m for _, m in ours_warned] == [SINGULAR_COV_RE, BOUNDARY]


def test_statsmodels_filters_silence_the_facade():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", category=ConvergenceWarning)
        warnings.filterwarnings("ignore", category=SingularMatrixWarning)
        result = _dyestuff2(sm).fit()
    assert result.cov_re.iloc[0, 0] == pytest.approx(0.0, abs=1e-8)


def test_a_zero_variance_component_warns_the_boundary_only():
    data = _simulated()

    def model(api):
        return api.MixedLM.from_formula(
            "y ~ x", data, re_formula="1", vc_formula={"c": "0 + C(c)"}, groups="g"
        )

    ours, ours_warned = _recorded(lambda: model(sm).fit())
    theirs, their_warned = _recorded(lambda: model(smapi).fit())
    assert ours.llf >= theirs.llf - 1e-8
    assert ours.vcomp[0] == pytest.approx(0.0, abs=1e-8)
    assert [m for _, m in ours_warned] == [BOUNDARY]
    assert BOUNDARY in [m for _, m in their_warned]
    assert not [c for c, _ in their_warned if issubclass(c, SingularMatrixWarning)]


@pytest.mark.parametrize("name", ["random_intercept", "dietox_ri", "lme08"])
def test_no_warning_where_the_fit_is_fine(name):
    if name == "random_intercept":
        model = sm.MixedLM.from_formula("y ~ x", _simulated(), groups="g")
    elif name == "dietox_ri":
        data = datasets.load("dietox")
        model = sm.MixedLM.from_formula("Weight ~ Time", data, groups="Pig")
    else:
        from pathlib import Path

        data = pd.read_csv(Path(__file__).parent / "data" / "lme08.csv")
        model = sm.MixedLM.from_formula(
            "endog ~ 0 + exog_fe_0 + exog_fe_1",
            data,
            re_formula="0 + exog_re_0 + exog_re_1",
            groups="groups",
        )
    result, warned = _recorded(lambda: model.fit(reml=False))
    assert warned == []
    assert result.converged


def test_no_convergence_warning_where_only_statsmodels_stops_short():
    data = datasets.load("dietox")

    def model(api):
        return api.MixedLM.from_formula("Weight ~ Time", data, re_formula="Time", groups="Pig")

    ours, ours_warned = _recorded(lambda: model(sm).fit())
    theirs, their_warned = _recorded(lambda: model(smapi).fit())
    assert [c for c, _ in their_warned if issubclass(c, ConvergenceWarning)]
    assert not theirs.converged
    assert ours_warned == []
    assert ours.converged
    assert ours.llf > theirs.llf + 3  # -2217.05 against statsmodels' -2220.39


def test_unknown_fit_arguments_warn_as_statsmodels():
    data = _simulated()
    warned = {}
    for name, api in (("ours", sm), ("theirs", smapi)):
        model = api.MixedLM.from_formula("y ~ x", data, groups="g")
        _, warned[name] = _recorded(lambda model=model: model.fit(foo=1, bar=2))
    assert warned["ours"] == warned["theirs"]
    assert warned["ours"][0][0] is FutureWarning
    assert warned["ours"][0][1].startswith("Arguments bar, foo not used by MixedLM.fit")


def test_statsmodels_optimiser_arguments_are_accepted_silently():
    model = sm.MixedLM.from_formula("y ~ x", _simulated(), groups="g")
    _, warned = _recorded(lambda: model.fit(gtol=1e-7, maxiter=200, disp=False))
    assert warned == []


def test_niter_sa_and_newton_as_statsmodels():
    model = sm.MixedLM.from_formula("y ~ x", _simulated(), groups="g")
    with pytest.warns(ValueWarning, match="niter_sa is currently ignored"):
        model.fit(niter_sa=3)
    with pytest.raises(ValueError, match="method newton not available for MixedLM"):
        model.fit(method="newton")
    theirs = smapi.MixedLM.from_formula("y ~ x", _simulated(), groups="g")
    with pytest.raises(ValueError, match="method newton not available for MixedLM"):
        theirs.fit(method="newton")


def test_the_deprecated_variance_component_dict_warns():
    data = _simulated()
    exog = np.column_stack([np.ones(len(data)), data["x"]])
    vc = {"c": {k: pd.get_dummies(data["c"][data["g"] == k]).to_numpy(float) for k in range(20)}}
    for api in (sm, smapi):
        with pytest.warns(FutureWarning, match="Using deprecated variance components format"):
            api.MixedLM(data["y"].to_numpy(), exog, data["g"].to_numpy(), exog_vc=vc)


class _Fit:
    is_singular = False
    theta = np.array([1.0])


def test_an_engine_convergence_failure_is_statsmodels_convergence_warning():
    from mixedmodels.compat._sm_map import ParamMap

    pmap = ParamMap(k_re=0, k_vc=0, n_theta=1, re_terms=(), vc_theta=np.zeros(0, np.intp))
    caught = [
        warnings.WarningMessage(
            "model failed to converge: relative gradient 0.5 > tolerance 0.01",
            OurConvergenceWarning,
            "x.py",
            1,
        ),
        warnings.WarningMessage(
            "Hessian of the objective is not positive definite at the optimum",
            OurConvergenceWarning,
            "x.py",
            2,
        ),
        warnings.WarningMessage("something else", RuntimeWarning, "x.py", 3),
    ]
    with warnings.catch_warnings(record=True) as out:
        warnings.simplefilter("always")
        reissue_engine_warnings(caught, _Fit(), pmap)
    assert [w.category for w in out][:2] == [warning_class("ConvergenceWarning")] * 2
    assert str(out[0].message).startswith("MixedLM optimization failed: model failed")
    assert str(out[1].message).startswith("The Hessian matrix at the estimated parameter")
    assert (out[2].category, str(out[2].message)) == (RuntimeWarning, "something else")
