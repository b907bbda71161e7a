"""R's update.formula against the answers R gave (tests/postfit/reference)."""

from __future__ import annotations

import json

import pytest
from _postfit import REFERENCE

from mixedmodels.errors import FormulaError
from mixedmodels.formula import parse_formula
from mixedmodels.formula_update import update_formula

CASES = json.loads((REFERENCE / "formula_and_format.json").read_text())["updates"]
# R interacts the random-effects terms in '.^2' ((a:1 | g)), which means nothing: we refuse
AGREED = [c for c in CASES if c["new"] != ". ~ .^2"]


@pytest.mark.parametrize("case", AGREED, ids=[f"{c['old']} | {c['new']}" for c in AGREED])
def test_update_formula_gives_r_answer(case):
    assert update_formula(case["old"], case["new"]) == case["result"]
    parse_formula(case["result"])  # and the result is a formula we can fit


def test_interactions_with_random_terms_are_refused():
    with pytest.raises(FormulaError, match="random-effects term"):
        update_formula("y ~ a + b + (1 | g)", ". ~ .^2")


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("y ~ a/b + (1 | g)", ". ~ .", "y ~ a + (1 | g) + a:b"),
        ("y ~ a + b + c + (1 | g)", ". ~ . - b - c", "y ~ a + (1 | g)"),
        ("y ~ (a + b)^2 + (1 | g)", ". ~ . - a:b", "y ~ a + b + (1 | g)"),
        ("y ~ a + (1 | g)", ". ~ . - 1 + 1", "y ~ a + (1 | g)"),
        ("y ~ a + (x || g)", ". ~ . - (x || g) + (1 | g)", "y ~ a + (1 | g)"),
        ("y ~ a + (1 | g)", "sqrt(.) ~ . + b", "sqrt(y) ~ a + (1 | g) + b"),
    ],
)
def test_update_formula_algebra(old, new, expected):
    assert update_formula(old, new) == expected


def test_bad_updates_are_formula_errors():
    with pytest.raises(FormulaError):
        update_formula("y ~ a + (1 | g)", ". ~ . +")
    with pytest.raises(FormulaError, match="integer"):
        update_formula("y ~ a + (1 | g)", ". ~ (.)^x")
