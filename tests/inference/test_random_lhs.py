"""The terms of a random-effect term's left side (mixedmodels.inference.random_lhs)."""

from __future__ import annotations

import pytest

from mixedmodels.inference.random_lhs import lhs_terms


@pytest.mark.parametrize(
    ("lhs", "intercept", "terms"),
    [
        ("1", True, []),
        ("1 + Days", True, [("Days", {"Days"})]),
        ("0 + Days", False, [("Days", {"Days"})]),
        ("1 + x + z + x:z", True, [("x", {"x"}), ("z", {"z"}), ("x:z", {"x", "z"})]),
        ("0 + f", False, [("f", {"f"})]),
    ],
)
def test_terms_and_their_variables(lhs, intercept, terms):
    has_intercept, named = lhs_terms(lhs)
    assert has_intercept is intercept
    assert [(name, set(variables)) for name, variables in named] == terms


def test_variables_of_a_term_are_a_frozenset():
    _, named = lhs_terms("1 + a:b")
    assert named == [("a:b", frozenset({"a", "b"}))]
