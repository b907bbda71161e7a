"""A GLMM's response, trials, offsets and design (mixedmodels.glmm.response)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm
from mixedmodels.errors import DesignError, FormulaError, MissingColumnError
from mixedmodels.glmm.families import get_family
from mixedmodels.glmm.response import GlmmData, build_glmm_data, r_powers, split_offsets

BINOMIAL = get_family("binomial")
POISSON = get_family("poisson")


@pytest.mark.parametrize(
    ("text", "python"),
    [
        ("I(age^2)", "I(age**2)"),
        ("x + I((a + b)^3)", "x + I((a + b)**3)"),
        ("x^2", "x^2"),  # outside I(): formulaic's own meaning
        ("f(I(a^2))", "f(I(a**2))"),
    ],
)
def test_r_powers_inside_i(text, python):
    assert r_powers(text) == python


def test_split_offsets_takes_offset_terms_out():
    assert split_offsets("x + offset(log(n)) + z") == ("x + z", ["log(n)"])
    assert split_offsets("offset(a) + offset(b)") == ("1", ["a", "b"])
    assert split_offsets("x - 1") == ("x - 1", [])
    with pytest.raises(FormulaError, match="cannot be subtracted"):
        split_offsets("x - offset(a)")


def test_a_cbind_response_is_a_proportion_with_its_trials():
    cbpp = mm.datasets.load("cbpp")
    data = build_glmm_data(
        "cbind(incidence, size - incidence) ~ period + (1 | herd)", cbpp, BINOMIAL
    )
    assert isinstance(data, GlmmData)
    np.testing.assert_allclose(data.y, cbpp["incidence"] / cbpp["size"])
    np.testing.assert_array_equal(data.trials, cbpp["size"])
    np.testing.assert_array_equal(data.prior_weights, cbpp["size"])
    np.testing.assert_array_equal(data.offset, np.zeros(len(cbpp)))
    assert data.design.X.shape == (len(cbpp), 4)


def test_a_factor_response_is_its_second_level():
    frame = pd.DataFrame(
        {"y": pd.Categorical(["no", "yes", "yes", "no"] * 5), "g": np.repeat(np.arange(5), 4)}
    )
    data = build_glmm_data("y ~ 1 + (1 | g)", frame, BINOMIAL)
    np.testing.assert_array_equal(data.y, [0.0, 1.0, 1.0, 0.0] * 5)
    np.testing.assert_array_equal(data.trials, np.ones(20))


def test_offsets_from_the_formula_and_the_argument_add_up():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "y": rng.poisson(3.0, 20),
            "n": rng.uniform(1, 3, 20),
            "o": rng.normal(size=20),
            "g": np.repeat(np.arange(5), 4),
        }
    )
    data = build_glmm_data("y ~ 1 + offset(log(n)) + (1 | g)", frame, POISSON, offset="o")
    np.testing.assert_allclose(data.offset, np.log(frame["n"]) + frame["o"])
    with pytest.raises(MissingColumnError, match="offset column 'nope'"):
        build_glmm_data("y ~ 1 + (1 | g)", frame, POISSON, offset="nope")


def test_data_must_be_a_frame():
    with pytest.raises(DesignError, match="pandas DataFrame"):
        build_glmm_data("y ~ 1 + (1 | g)", {"y": [1]}, POISSON)
