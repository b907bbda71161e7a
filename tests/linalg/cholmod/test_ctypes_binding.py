"""CHOLMOD called through ctypes against cvxopt's binding of the same library."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("cvxopt")

sys.path.insert(0, str(Path(__file__).resolve().parent))

from spd_patterns import lower_pattern, random_sparse_spd  # noqa: E402

from mixedmodels.linalg.cholmod import ctypes_binding, cvxopt_binding  # noqa: E402

DIRECT = ctypes_binding.load()


def test_the_binding_loads_and_passes_its_self_test_where_cvxopt_ships_cholmod():
    assert DIRECT is not None
    assert DIRECT.name == "ctypes"
    assert DIRECT.releases_gil


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_amd_ordering_equals_cvxopt(seed):
    a = random_sparse_spd(120, 0.04, seed)
    rows, cols = lower_pattern(a)
    expected = cvxopt_binding.CvxoptBinding().amd_order(rows, cols, a.shape[0])
    np.testing.assert_array_equal(DIRECT.amd_order(rows, cols, a.shape[0]), expected)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_factor_diagonal_is_cvxopt_bit_for_bit(seed):
    a = random_sparse_spd(150, 0.05, seed)
    rows, cols = lower_pattern(a)
    perm = DIRECT.amd_order(rows, cols, a.shape[0])
    factor = DIRECT.factor(rows, cols, a.shape[0], perm)
    factor.values[:] = a[rows, cols]
    diagonal = factor.factorize()
    through_cvxopt = cvxopt_binding.CvxoptBinding().factor(rows, cols, a.shape[0], perm)
    through_cvxopt.values[:] = a[rows, cols]
    np.testing.assert_array_equal(diagonal, through_cvxopt.factorize())
    expected = np.diag(np.linalg.cholesky(a[np.ix_(perm, perm)]))
    np.testing.assert_allclose(diagonal, expected, rtol=1e-12)


def test_not_positive_definite_is_none_and_the_factor_recovers():
    a = random_sparse_spd(60, 0.1, 4)
    rows, cols = lower_pattern(a)
    factor = DIRECT.factor(rows, cols, 60, np.arange(60))
    bad = a.copy()
    bad[30, 30] = -5.0
    factor.values[:] = bad[rows, cols]
    assert factor.factorize() is None
    factor.values[:] = a[rows, cols]
    np.testing.assert_allclose(factor.factorize(), np.diag(np.linalg.cholesky(a)), rtol=1e-12)


def test_factorisations_in_two_threads_give_the_serial_values():
    a = random_sparse_spd(400, 0.03, 5)
    rows, cols = lower_pattern(a)
    perm = DIRECT.amd_order(rows, cols, 400)
    serial = DIRECT.factor(rows, cols, 400, perm)
    serial.values[:] = a[rows, cols]
    expected = serial.factorize().copy()
    out = {}

    def work(k):
        factor = DIRECT.factor(rows, cols, 400, perm)
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


def test_the_value_buffer_keeps_cholmod_memory_alive():
    import gc
    import weakref

    a = random_sparse_spd(30, 0.1, 7)
    rows, cols = lower_pattern(a)
    factor = DIRECT.factor(rows, cols, 30, np.arange(30))
    values = factor.values
    owned = weakref.ref(factor._owned)
    del factor
    gc.collect()
    assert owned() is not None  # a thread still writing its compact vector is safe
    values[:] = a[rows, cols]
    del values
    gc.collect()
    assert owned() is None  # and the memory goes with the last view


def test_a_failed_self_test_is_no_binding(monkeypatch):
    monkeypatch.setattr(ctypes_binding, "_defaults_read_back", lambda head: False)
    assert ctypes_binding.load() is None


def test_no_library_is_no_binding(monkeypatch):
    monkeypatch.setattr(ctypes_binding.loader, "library_path", lambda name: None)
    assert ctypes_binding.load() is None
