"""Likelihood profiles and profile intervals against lme4's ``confint(profile(fit))``."""

from __future__ import annotations

import numpy as np
import pytest

from mixedmodels.errors import InferenceError
from mixedmodels.inference.profile import Profile, profile

from ._helpers import PROFILED, fit_reference, reference


def _close(got: float, want: float) -> bool:
    """Within 1e-3 relative (absolute for a reference value of 0)."""
    return abs(got - want) <= 1e-3 * max(abs(want), 1e-3)


@pytest.mark.parametrize("name", PROFILED)
def test_profile_intervals_match_lme4(name):
    ref = reference(name)
    ci = fit_reference(name).confint(method="profile")
    assert list(ci.index) == [row["par"] for row in ref["profile_ci"]]
    for row in ref["profile_ci"]:
        got = ci.loc[row["par"]]
        assert _close(got["lower"], row["lower"]), (row["par"], got["lower"], row["lower"])
        assert _close(got["upper"], row["upper"]), (row["par"], got["upper"], row["upper"])


def test_boundary_profile_gives_the_bound():
    # pastes: batch's SD profile reaches 0 before |zeta| = 1.96, so lme4 reports 0
    ci = fit_reference("pastes").confint()
    assert ci.loc["sd_(Intercept)|batch", "lower"] == 0.0


@pytest.fixture(scope="module")
def sleep_profile() -> Profile:
    return profile(fit_reference("sleepstudy_rs"))


def test_profile_table_layout(sleep_profile):
    names = [row["par"] for row in reference("sleepstudy_rs")["profile_ci"]]
    table = sleep_profile.table
    assert list(table.columns) == ["parameter", "zeta", *names]
    assert sleep_profile.parameters == tuple(names)
    assert list(sleep_profile.optimum.index) == names
    for name in names:
        rows = table[table["parameter"] == name]
        finite = rows[np.isfinite(rows["zeta"])]
        # zeta increases with the parameter and crosses 0 at the optimum
        assert np.all(np.diff(finite["zeta"].to_numpy()) > 0), name
        at_optimum = finite[finite["zeta"] == 0.0]
        assert len(at_optimum) == 1
        np.testing.assert_allclose(
            at_optimum[names].to_numpy()[0], sleep_profile.optimum.to_numpy(), rtol=1e-10
        )
        # the full profile goes past lme4's cutoff sqrt(chi2_0.99(6)) = 4.1 both ways, or to
        # the parameter's bound (the correlation reaches 1 at zeta ~ 2.9)
        values = rows[name].to_numpy()
        low, high = sleep_profile.lower[name], sleep_profile.upper[name]
        assert finite["zeta"].min() < -4.0 or values.min() == low, name
        assert finite["zeta"].max() > 4.0 or values.max() == high, name


def test_profile_optimum_is_the_ml_fit(sleep_profile):
    ml = reference("sleepstudy_rs_ml")
    np.testing.assert_allclose(sleep_profile.deviance, ml["objective"], rtol=1e-8)
    np.testing.assert_allclose(sleep_profile.optimum["sigma"], ml["sigma"], rtol=1e-5)
    np.testing.assert_allclose(
        sleep_profile.optimum[list(ml["fixef"])], list(ml["fixef"].values()), rtol=1e-6
    )


def test_full_profile_confint_matches_lme4(sleep_profile):
    ci = sleep_profile.confint(0.95)
    for row in reference("sleepstudy_rs")["profile_ci"]:
        assert _close(ci.loc[row["par"], "lower"], row["lower"])
        assert _close(ci.loc[row["par"], "upper"], row["upper"])


def test_profile_splines_invert_each_other(sleep_profile):
    forward = sleep_profile.forward("sigma")
    inverse = sleep_profile.inverse("sigma")
    values = np.linspace(23.0, 28.0, 7)
    np.testing.assert_allclose(inverse(forward(values)), values, rtol=1e-4)
    assert np.isnan(inverse(100.0))


def test_which_selects_parameters():
    prof = profile(fit_reference("dyestuff"), which=["sigma", "(Intercept)"])
    assert prof.parameters == ("sigma", "(Intercept)")
    with pytest.raises(InferenceError, match="unknown parameter"):
        profile(fit_reference("dyestuff"), which="nope")
    with pytest.raises(InferenceError, match="level"):
        prof.confint(1.5)


def test_singular_fit_profile_starts_at_the_boundary():
    # Dyestuff2: the REML and ML estimates of the batch SD are 0; the ML refit must start
    # from there and the interval's lower end is the bound
    ci = fit_reference("dyestuff2").confint()
    assert ci.loc["sd_(Intercept)|Batch", "lower"] == 0.0
    assert 0.5 < ci.loc["sd_(Intercept)|Batch", "upper"] < 10.0
    assert ci.loc["sigma", "lower"] < reference("dyestuff2")["sigma"] < ci.loc["sigma", "upper"]
