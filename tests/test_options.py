"""One validator of option values: canonical spellings, aliases, errors of our own classes."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pytest

from mixedmodels.errors import ArgumentError, InferenceError
from mixedmodels.options import Optimizer, StartMethod, choose, flag, values_of

Colour = Literal["Red", "Blue"]


@pytest.mark.parametrize("given", ["Red", "red", " RED "])
def test_any_case_becomes_the_canonical_value(given):
    assert choose("colour", given, Colour) == "Red"


def test_aliases_stand_for_their_value():
    assert choose("colour", "r", Colour, aliases={"r": "Red"}) == "Red"


@pytest.mark.parametrize("given", ["green", 3, None])
def test_other_values_are_an_error_naming_the_choices(given):
    with pytest.raises(ArgumentError, match=r"unknown colour .*'Red', 'Blue'"):
        choose("colour", given, Colour)


def test_the_callers_error_class():
    with pytest.raises(InferenceError, match=r"\(or 'r'\)"):
        choose("colour", "green", Colour, aliases={"r": "Red"}, error=InferenceError)


def test_values_of_literal_and_tuple():
    assert values_of(StartMethod) == ("moments", "identity")
    assert "bobyqa" in values_of(Optimizer)
    assert values_of(("a", "b")) == ("a", "b")
    with pytest.raises(TypeError):
        values_of(str)


def test_the_optimizers_are_those_the_optimiser_runs():
    from mixedmodels.optimize import OPTIMIZERS

    assert set(values_of(Optimizer)) == set(OPTIMIZERS)


@pytest.mark.parametrize(
    ("given", "expected"), [(True, True), (False, False), (1, True), (0, False), (np.True_, True)]
)
def test_flag_accepts_booleans_and_0_1(given, expected):
    assert flag("REML", given) is expected


@pytest.mark.parametrize("given", ["no", "False", None, 2, 0.5, [True]])
def test_flag_refuses_other_values_rather_than_reading_their_truth(given):
    with pytest.raises(ArgumentError, match="REML must be True or False"):
        flag("REML", given)
