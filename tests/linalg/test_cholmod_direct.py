"""CHOLMOD called through ctypes against cvxopt's binding of the same library."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

import mixedmodels as mm
from mixedmodels.linalg import cholmod_direct, sparse_rest

cvxopt = pytest.importorskip("cvxopt")


def random_sparse_spd(n: int, density: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    mask = np.tril(rng.random((n, n)) < density, -1)
    a = np.where(mask, rng.normal(size=(n, n)), 0.0)
    a = a + a.T
    return a + np.diag(np.abs(a).sum(axis=1) + 1.0)  # diagonally dominant: positive definite


def lower_pattern(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    cols, rows = np.nonzero(np.tril(a).T)  # column by column, rows ascending
    return rows, cols


def cvxopt_diagonal(a: np.ndarray, perm: np.ndarray) -> np.ndarray:
    from cvxopt import matrix, spmatrix

    cholmod = sparse_rest._import_cholmod()
    rows, cols = lower_pattern(a)
    A = spmatrix(matrix(a[rows, cols]), matrix(rows), matrix(cols), a.shape)
    with sparse_rest._supernodal(cholmod):
        F = cholmod.symbolic(A, p=matrix([int(k) for k in perm]), uplo="L")
        cholmod.numeric(A, F)
    return np.asarray(cholmod.diag(F)).ravel()


def test_available_where_cvxopt_ships_cholmod():
    assert cholmod_direct.available()


@pytest.mark.parametrize("first_call", ["amd_order", "DirectFactor"])
def test_the_library_loads_on_first_use_without_available(first_call):
    """In a fresh interpreter, the first call may be any function: none needs available()."""
    src = Path(cholmod_direct.__file__).parents[2]
    script = f"""
import numpy as np
from mixedmodels.linalg import cholmod_direct
assert not cholmod_direct._state["checked"]
a = np.array([[4.0, 1.0, 0.0], [1.0, 3.0, 1.0], [0.0, 1.0, 2.0]])
cols, rows = np.nonzero(np.tril(a).T)
if {first_call!r} == "amd_order":
    print(cholmod_direct.amd_order(rows, cols, 3).tolist())
else:
    factor = cholmod_direct.DirectFactor(rows, cols, 3, np.arange(3))
    factor.values[:] = a[rows, cols]
    print(np.round(factor.factorize() - np.diag(np.linalg.cholesky(a)), 12).tolist())
"""
    env = {**os.environ, "PYTHONPATH": str(src)}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode == 0, done.stderr
    values = [float(v) for v in done.stdout.strip()[1:-1].split(",")]
    if first_call == "amd_order":
        assert sorted(values) == [0.0, 1.0, 2.0]
    else:
        assert values == [0.0, 0.0, 0.0]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_amd_ordering_equals_cvxopt(seed):
    from cvxopt import amd, matrix, spmatrix

    a = random_sparse_spd(120, 0.04, seed)
    rows, cols = lower_pattern(a)
    A = spmatrix(matrix(np.ones(rows.size)), matrix(rows), matrix(cols), a.shape)
    expected = np.array(list(amd.order(A, uplo="L")))
    np.testing.assert_array_equal(cholmod_direct.amd_order(rows, cols, a.shape[0]), expected)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_factor_diagonal_is_cvxopt_bit_for_bit(seed):
    a = random_sparse_spd(150, 0.05, seed)
    rows, cols = lower_pattern(a)
    perm = cholmod_direct.amd_order(rows, cols, a.shape[0])
    factor = cholmod_direct.DirectFactor(rows, cols, a.shape[0], perm)
    factor.values[:] = a[rows, cols]
    diagonal = factor.factorize()
    np.testing.assert_array_equal(diagonal, cvxopt_diagonal(a, perm))
    expected = np.diag(np.linalg.cholesky(a[np.ix_(perm, perm)]))
    np.testing.assert_allclose(diagonal, expected, rtol=1e-12)


def test_not_positive_definite_is_none_and_the_factor_recovers():
    a = random_sparse_spd(60, 0.1, 4)
    rows, cols = lower_pattern(a)
    factor = cholmod_direct.DirectFactor(rows, cols, 60, np.arange(60))
    bad = a.copy()
    bad[30, 30] = -5.0
    factor.values[:] = bad[rows, cols]
    assert factor.factorize() is None
    factor.values[:] = a[rows, cols]
    np.testing.assert_allclose(factor.factorize(), np.diag(np.linalg.cholesky(a)), rtol=1e-12)


def test_factorisations_in_two_threads_give_the_serial_values():
    a = random_sparse_spd(400, 0.03, 5)
    rows, cols = lower_pattern(a)
    perm = cholmod_direct.amd_order(rows, cols, 400)
    serial = cholmod_direct.DirectFactor(rows, cols, 400, perm)
    serial.values[:] = a[rows, cols]
    expected = serial.factorize().copy()
    out = {}

    def work(k):
        factor = cholmod_direct.DirectFactor(rows, cols, 400, perm)
        factor.values[:] = a[rows, cols]
        out[k] = [factor.factorize().copy() for _ in range(5)]

    threads = [threading.Thread(target=work, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for values in out.values():
        for d in values:
            np.testing.assert_array_equal(d, expected)


def test_sparse_route_fit_is_the_same_through_cvxopt(monkeypatch):
    from test_grouped_schur import FORMULA, ratings

    data = ratings(students=2500, teachers=500, depts=12, seed=3)
    direct = mm.lmer(FORMULA, data)
    assert mm.LinearMixedModel(FORMULA, data).stats._workspace.sparse.releases_gil
    monkeypatch.setattr(sparse_rest, "_direct_available", lambda: False)
    model = mm.LinearMixedModel(FORMULA, data)
    assert not model.stats._workspace.sparse.releases_gil
    through_cvxopt = model.fit()
    np.testing.assert_array_equal(direct.theta, through_cvxopt.theta)
    assert direct.objective == through_cvxopt.objective


def test_parallel_convergence_check_gives_the_serial_fit(monkeypatch):
    from conftest import assert_parallel_check_gives_the_serial_fit
    from test_grouped_schur import FORMULA, ratings

    data = ratings(students=2500, teachers=500, depts=12, seed=6)
    assert_parallel_check_gives_the_serial_fit(FORMULA, data, monkeypatch)


def test_the_value_buffer_keeps_cholmod_memory_alive():
    import gc
    import weakref

    a = random_sparse_spd(30, 0.1, 7)
    rows, cols = lower_pattern(a)
    factor = cholmod_direct.DirectFactor(rows, cols, 30, np.arange(30))
    values = factor.values
    owned = weakref.ref(factor._owned)
    del factor
    gc.collect()
    assert owned() is not None  # a thread still writing its compact vector is safe
    values[:] = a[rows, cols]
    del values
    gc.collect()
    assert owned() is None  # and the memory goes with the last view
