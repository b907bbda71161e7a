"""Fixed-effect terms and their type I / type III contrasts (mixedmodels.inference.terms)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm
from mixedmodels.inference.anova import anova
from mixedmodels.inference.terms import (
    ModelTerm,
    containment,
    term_columns,
    type1_contrasts,
    type3_contrasts,
)


def data(seed=0):
    rng = np.random.default_rng(seed)
    n = 96
    f = np.tile(["a", "b", "c"], n // 3)
    h = np.repeat(["u", "v"], n // 2)
    x = rng.normal(size=n)
    g = np.tile(np.arange(12), n // 12)
    y = (f == "b") + 0.5 * x + rng.normal(size=12)[g] + rng.normal(size=n)
    return pd.DataFrame({"y": y, "f": f, "h": h, "x": x, "g": g})


@pytest.fixture(scope="module")
def crossed():
    return mm.lmer("y ~ f * h + x + (1 | g)", data())


def test_terms_name_their_columns_and_variables(crossed):
    terms = {t.name: t for t in term_columns(crossed)}
    assert list(terms) == ["f", "h", "x", "f:h"]
    names = list(crossed.fixef.index)
    assert [names[j] for j in terms["f"].columns] == ["fb", "fc"]
    assert [names[j] for j in terms["f:h"].columns] == ["fb:hv", "fc:hv"]
    assert terms["x"].numeric == frozenset({"x"})
    assert terms["f"].numeric == frozenset()
    assert terms["f:h"].variables == frozenset({"f", "h"})


def test_containment_is_by_variables_with_the_same_numeric_covariates():
    f = ModelTerm("f", (1,), frozenset({"f"}), frozenset())
    fh = ModelTerm("f:h", (2,), frozenset({"f", "h"}), frozenset())
    fx = ModelTerm("f:x", (3,), frozenset({"f", "x"}), frozenset({"x"}))
    assert containment([f, fh, fx]) == {"f": ["f:h"], "f:h": [], "f:x": []}


def test_type1_contrasts_are_rows_of_the_unit_diagonal_cholesky_factor(crossed):
    terms = term_columns(crossed)
    contrasts = type1_contrasts(crossed, terms)
    X = crossed.design.X
    R = np.linalg.cholesky(X.T @ X).T
    for term in terms:
        L = contrasts[term.name]
        assert L.shape == (len(term.columns), X.shape[1])
        np.testing.assert_allclose(np.diag(L[:, list(term.columns)]), 1.0)
        # each row is R's row: zero left of its diagonal
        for row, j in zip(L, term.columns, strict=True):
            np.testing.assert_allclose(row[:j], 0.0, atol=1e-12)
            np.testing.assert_allclose(row * R[j, j], R[j], rtol=1e-12)


def test_type3_contrasts_without_containment_test_the_coefficients():
    fit = mm.lmer("y ~ f + x + (1 | g)", data(1))
    terms = term_columns(fit)
    contrasts = type3_contrasts(fit, terms)
    eye = np.eye(fit.design.X.shape[1])
    for term in terms:
        np.testing.assert_array_equal(contrasts[term.name], eye[list(term.columns)])


def test_type3_contrasts_of_a_contained_term_are_orthogonal_to_the_interaction(crossed):
    terms = term_columns(crossed)
    contrasts = type3_contrasts(crossed, terms)
    assert contrasts["f"].shape[0] == 2
    assert contrasts["f:h"].shape[0] == 2
    # the F test of a main effect is invariant to the interaction's coding: its rank stays 2
    assert np.linalg.matrix_rank(contrasts["f"]) == 2
    names = list(crossed.fixef.index)
    x_col = names.index("x")
    np.testing.assert_allclose(contrasts["f"][:, x_col], 0.0, atol=1e-12)


def test_anova_tests_each_term_with_its_contrasts(crossed):
    frame = anova(crossed).to_frame()
    assert list(frame.index) == ["f", "h", "x", "f:h"]
    assert frame.loc["f", "NumDF"] == 2
    assert frame.loc["x", "NumDF"] == 1
