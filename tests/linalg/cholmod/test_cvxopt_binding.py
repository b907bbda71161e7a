"""CHOLMOD through cvxopt's own binding: orderings, factors and options left as found."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

cvxopt = pytest.importorskip("cvxopt")

sys.path.insert(0, str(Path(__file__).resolve().parent))

from spd_patterns import lower_pattern, random_sparse_spd  # noqa: E402

from mixedmodels.linalg.cholmod import cvxopt_binding  # noqa: E402

BINDING = cvxopt_binding.CvxoptBinding()


def test_the_binding_holds_the_gil():
    assert BINDING.name == "cvxopt"
    assert not BINDING.releases_gil


@pytest.mark.parametrize("seed", [0, 1])
def test_factor_diagonal_is_numpys_cholesky_of_the_permuted_matrix(seed):
    a = random_sparse_spd(90, 0.06, seed)
    rows, cols = lower_pattern(a)
    perm = BINDING.amd_order(rows, cols, a.shape[0])
    assert sorted(perm.tolist()) == list(range(a.shape[0]))
    factor = BINDING.factor(rows, cols, a.shape[0], perm)
    factor.values[:] = a[rows, cols]
    expected = np.diag(np.linalg.cholesky(a[np.ix_(perm, perm)]))
    np.testing.assert_allclose(factor.factorize(), expected, rtol=1e-12)


def test_not_positive_definite_is_none():
    a = random_sparse_spd(40, 0.1, 3)
    rows, cols = lower_pattern(a)
    factor = BINDING.factor(rows, cols, 40, np.arange(40))
    a[10, 10] = -2.0
    factor.values[:] = a[rows, cols]
    assert factor.factorize() is None


def test_cvxopts_options_are_restored_after_a_factorisation():
    from cvxopt import cholmod

    before = dict(cholmod.options)
    a = random_sparse_spd(20, 0.2, 1)
    rows, cols = lower_pattern(a)
    factor = BINDING.factor(rows, cols, 20, np.arange(20))
    factor.values[:] = a[rows, cols]
    factor.factorize()
    assert dict(cholmod.options) == before
