"""Random-effect terms and blocks as the engine sees them (mixedmodels.terms)."""

from __future__ import annotations

import numpy as np
import pytest

from mixedmodels.covariance import AutoRegressive1
from mixedmodels.terms import (
    ReTerm,
    build_blocks,
    centred_columns,
    lambda_of_block,
    theta_lower_bounds,
    theta_upper_bounds,
)


def spec(name, n_levels, columns, n=12, seed=0, covariance=None):
    rng = np.random.default_rng(seed)
    codes = np.arange(n) % n_levels
    matrix = np.column_stack([np.ones(n)] + [rng.normal(size=n) for _ in columns[1:]])
    levels = tuple(str(i) for i in range(n_levels))
    entry = (name, levels, codes, matrix, tuple(columns))
    return entry if covariance is None else (*entry, covariance)


def test_an_unstructured_term_has_lme4s_theta():
    term = ReTerm("g", ("(Intercept)", "x"), theta_offset=0)
    assert term.n_theta == 3
    assert theta_lower_bounds((term,)).tolist() == [0.0, -np.inf, 0.0]
    assert theta_upper_bounds((term,)).tolist() == [np.inf] * 3


def test_terms_are_ordered_by_levels_and_merged_by_factor():
    specs = [
        spec("small", 2, ["(Intercept)"]),
        spec("big", 6, ["(Intercept)", "x"]),
        spec("small", 2, ["z"], seed=1),
    ]
    terms, blocks = build_blocks(specs)
    assert [t.group_name for t in terms] == ["big", "small", "small"]
    assert [t.theta_offset for t in terms] == [0, 3, 4]
    assert [b.group_name for b in blocks] == ["big", "small"]
    small = blocks[1]
    assert small.column_offsets == (0, 1)
    assert small.matrix.shape == (12, 2)
    np.testing.assert_array_equal(small.matrix[:, 1], specs[2][3][:, 0])


def test_lambda_of_a_block_is_the_lower_triangle_of_its_theta():
    terms, blocks = build_blocks([spec("g", 4, ["(Intercept)", "x"])])
    lam = lambda_of_block(blocks[0], np.array([2.0, 0.5, 3.0]))
    np.testing.assert_array_equal(lam, [[2.0, 0.0], [0.5, 3.0]])


def test_two_terms_on_one_factor_give_a_block_diagonal_lambda():
    terms, blocks = build_blocks([spec("g", 4, ["(Intercept)"]), spec("g", 4, ["x", "z"])])
    lam = lambda_of_block(blocks[0], np.array([1.5, 2.0, 0.1, 3.0]))
    expected = np.zeros((3, 3))
    expected[0, 0] = 1.5
    expected[1:, 1:] = [[2.0, 0.0], [0.1, 3.0]]
    np.testing.assert_array_equal(lam, expected)


def test_a_structured_term_maps_theta_through_its_covariance():
    ar1 = AutoRegressive1(3)
    terms, blocks = build_blocks([spec("g", 4, ["t1", "t2", "t3"], covariance=ar1)])
    theta = np.array([0.8, 0.3])
    lam = lambda_of_block(blocks[0], theta)
    np.testing.assert_allclose(lam, terms[0].lambda_(theta))
    cov = lam @ lam.T
    rho = cov[0, 1] / cov[0, 0]
    assert cov[0, 2] / cov[0, 0] == pytest.approx(rho**2)  # AR(1): correlations decay as powers
    assert np.isfinite(theta_upper_bounds(terms)).any()


def test_centred_columns_are_those_of_unstructured_multi_column_terms():
    terms, blocks = build_blocks(
        [spec("g", 6, ["(Intercept)", "x"]), spec("h", 3, ["(Intercept)"], seed=2)]
    )
    flags = centred_columns(blocks)
    assert [f.tolist() for f in flags] == [[True, True], [False]]
    _, structured = build_blocks([spec("g", 4, ["t1", "t2", "t3"], covariance=AutoRegressive1(3))])
    assert centred_columns(structured)[0].tolist() == [False, False, False]
