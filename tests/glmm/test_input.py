"""Responses, offsets and bad input: our own errors naming the culprit, honest warnings."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm
from mixedmodels.glmm.families import Binomial, get_family

CBPP = "cbind(incidence, size - incidence) ~ period + (1 | herd)"


@pytest.fixture(scope="module")
def cbpp():
    return mm.datasets.load("cbpp")


def _binary(seed=0, n=300, levels=20, separate=False):
    rng = np.random.default_rng(seed)
    g = rng.integers(0, levels, n)
    x = rng.normal(size=n)
    eta = -0.3 + 0.8 * x + rng.normal(scale=0.7, size=levels)[g]
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-eta))).astype(int)
    frame = pd.DataFrame({"y": y, "x": x, "g": [f"g{v}" for v in g]})
    if separate:
        frame["z"] = np.where(frame["y"] == 1, 1.0, 0.0) * rng.uniform(0.5, 1, n)
    return frame


def test_response_forms_give_one_likelihood(cbpp):
    two_column = mm.glmer(CBPP, cbpp)
    proportion = mm.glmer("prop ~ period + (1 | herd)", cbpp, weights="size")
    assert proportion.minus2loglik == pytest.approx(two_column.minus2loglik, abs=1e-6)
    np.testing.assert_allclose(proportion.beta, two_column.beta, atol=1e-5)


def test_zero_one_bool_and_factor_responses_agree():
    data = _binary()
    as_int = mm.glmer("y ~ x + (1 | g)", data)
    as_bool = mm.glmer("y ~ x + (1 | g)", data.assign(y=data["y"].astype(bool)))
    as_factor = mm.glmer("y ~ x + (1 | g)", data.assign(y=np.where(data["y"] == 1, "yes", "no")))
    for other in (as_bool, as_factor):
        assert other.minus2loglik == pytest.approx(as_int.minus2loglik, abs=1e-8)
    # R's rule: the first level is failure (here "no", sorted first)
    flipped = pd.Categorical(np.where(data["y"] == 1, "yes", "no"), categories=["yes", "no"])
    reversed_fit = mm.glmer("y ~ x + (1 | g)", data.assign(y=flipped))
    np.testing.assert_allclose(reversed_fit.beta, -as_int.beta, atol=1e-5)


def test_offset_in_formula_equals_offset_argument():
    owls = mm.datasets.load("owls")
    formula = "SiblingNegotiation ~ FoodTreatment * SexParent + (1 | Nest)"
    inline = mm.glmer(formula.replace("~", "~ offset(log(BroodSize)) +"), owls, family="poisson")
    argument = mm.glmer(formula, owls, family="poisson", offset=np.log(owls["BroodSize"]))
    assert inline.minus2loglik == pytest.approx(argument.minus2loglik, abs=1e-8)
    prediction = inline.predict(owls.iloc[:3], type="response")
    np.testing.assert_allclose(prediction, inline.fitted.iloc[:3], rtol=1e-10)


def test_binomial_response_outside_unit_interval(cbpp):
    with pytest.raises(mm.DesignError, match=r"binomial response 'incidence' must be in \[0, 1\]"):
        mm.glmer("incidence ~ period + (1 | herd)", cbpp)


def test_negative_failures_named(cbpp):
    with pytest.raises(mm.DesignError, match="failures 'incidence - size'"):
        mm.glmer("cbind(incidence, incidence - size) ~ period + (1 | herd)", cbpp)


def test_negative_poisson_counts(cbpp):
    with pytest.raises(mm.DesignError, match="poisson response 'y' has negative values"):
        mm.glmer("y ~ period + (1 | herd)", cbpp.assign(y=-cbpp["size"]), family="poisson")


def test_unknown_family_and_link(cbpp):
    with pytest.raises(mm.DesignError, match="unknown family 'binomal'"):
        mm.glmer(CBPP, cbpp, family="binomal")
    with pytest.raises(mm.DesignError, match="link 'sqrt' is not available for the binomial"):
        mm.glmer(CBPP, cbpp, family="binomial", link="sqrt")
    with pytest.raises(mm.DesignError, match="unknown link 'logt'"):
        get_family("poisson", "logt")
    with pytest.raises(mm.DesignError, match="link='probit' given with the family object"):
        get_family(Binomial(), "probit")


def test_missing_column_and_bad_nagq(cbpp):
    with pytest.raises(mm.MissingColumnError, match="'sizes'"):
        mm.glmer("cbind(incidence, sizes - incidence) ~ period + (1 | herd)", cbpp)
    with pytest.raises(mm.DesignError, match="nAGQ > 1 needs a single scalar"):
        mm.glmer(CBPP.replace("(1 | herd)", "(1 | herd) + (1 | obs)"), cbpp, nAGQ=5)
    with pytest.raises(mm.DesignError, match="nAGQ must be an integer from 0 to 25"):
        mm.glmer(CBPP, cbpp, nAGQ=30)


def test_cbind_needs_binomial(cbpp):
    with pytest.raises(mm.DesignError, match="needs the binomial family, not poisson"):
        mm.glmer(CBPP, cbpp, family="poisson")


def test_non_integer_counts_warn(cbpp):
    data = cbpp.assign(incidence=cbpp["incidence"] + 0.5)
    with pytest.warns(mm.NonIntegerCountWarning, match="non-integer counts"):
        mm.glmer(CBPP, data)


def test_complete_separation_names_the_effect():
    data = _binary(separate=True)
    with (
        pytest.warns(mm.CompleteSeparationWarning, match=r"fixed effect\(s\) z separate"),
        pytest.raises(mm.FittingError, match=r"fixed effect\(s\) z completely separate"),
    ):
        mm.glmer("y ~ x + z + (1 | g)", data)


def test_no_separation_warning_without_separation():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mm.glmer("y ~ x + (1 | g)", _binary(seed=3))


def test_observation_level_random_effect_allowed(cbpp):
    fit = mm.glmer(CBPP.replace("(1 | herd)", "(1 | herd) + (1 | obs)"), cbpp)
    assert fit.ngrps["obs"] == fit.nobs


def test_refit_reproduces_the_fit(cbpp):
    model = mm.GeneralizedLinearMixedModel(CBPP, cbpp)
    fit = model.fit()
    again = model.refit(model.data.y)
    assert again.minus2loglik == pytest.approx(fit.minus2loglik, abs=1e-8)
    with pytest.raises(mm.DesignError, match="y must have shape"):
        model.refit(np.zeros(3))
