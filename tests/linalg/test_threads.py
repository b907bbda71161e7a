"""BLAS thread limits for small products (mixedmodels.linalg.threads)."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest

from mixedmodels.linalg.threads import THREADED_MIN, blas_limit

threadpoolctl = pytest.importorskip("threadpoolctl")


def blas_threads():
    return [
        info["num_threads"]
        for info in threadpoolctl.threadpool_info()
        if info["user_api"] == "blas"
    ]


def test_small_sizes_run_blas_on_one_thread():
    with blas_limit(THREADED_MIN - 1):
        inside = blas_threads()
    assert inside
    assert all(n == 1 for n in inside)


def test_large_sizes_leave_blas_alone():
    before = blas_threads()
    limit = blas_limit(THREADED_MIN)
    assert isinstance(limit, contextlib.nullcontext)
    with limit:
        assert blas_threads() == before


def test_the_limit_is_lifted_afterwards():
    before = blas_threads()
    with blas_limit(0):
        np.ones((10, 10)) @ np.ones((10, 10))
    assert blas_threads() == before
