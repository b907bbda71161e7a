"""Large dense work in fixed tiles, shared by a small pool of threads.

A multi-threaded LAPACK ``dpotrf`` has two faults on a shared machine: its rounding depends on
the number of BLAS threads, and its threads spin at every synchronisation, so one core taken
by another process makes it many times slower (benchmarks/results.md). Here the matrix is cut
into tiles whose size depends on ``n`` only; every tile operation is one single-threaded BLAS
call, and the threads of a pool take tile tasks as they become free. Each entry is therefore
computed by the same sequence of BLAS calls whatever the number of threads and whoever runs
them: the result is bitwise the same on an idle or a busy machine and with one or many
threads, and a busy core only delays the tasks it takes.

The BLAS and LAPACK routines are scipy's (``scipy.linalg.cython_blas``/``cython_lapack``),
called through ctypes, which releases the GIL during each call.
"""

from __future__ import annotations

import ctypes
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import numpy as np
import scipy.linalg.cython_blas as _cython_blas
import scipy.linalg.cython_lapack as _cython_lapack

from mixedmodels.linalg.threads import blas_limit

__all__ = ["cholesky_lower", "pool_size", "run_tasks", "tile_size", "TILED_MIN"]

TILED_MIN = 1000  # dimension from which the tiled factorisation is used (by size only)
_pool_state: dict = {"pool": None, "lock": threading.Lock()}


def _routine(module, name: str) -> Callable:
    """A ctypes function for a BLAS/LAPACK routine exported by scipy's Cython modules."""
    capsule = module.__pyx_capi__[name]
    get_name = ctypes.pythonapi.PyCapsule_GetName
    get_name.restype = ctypes.c_char_p
    get_name.argtypes = [ctypes.py_object]
    get_pointer = ctypes.pythonapi.PyCapsule_GetPointer
    get_pointer.restype = ctypes.c_void_p
    get_pointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
    address = get_pointer(capsule, get_name(capsule))
    return ctypes.CFUNCTYPE(None)(address)


_DPOTRF = _routine(_cython_lapack, "dpotrf")
_DTRSM = _routine(_cython_blas, "dtrsm")
_DSYRK = _routine(_cython_blas, "dsyrk")
_DGEMM = _routine(_cython_blas, "dgemm")
_ONE = ctypes.c_double(1.0)
_MINUS_ONE = ctypes.c_double(-1.0)
_UPPER, _LEFT, _TRANS, _NOTRANS = b"U", b"L", b"T", b"N"


def tile_size(n: int) -> int:
    """Tile edge for an ``n x n`` factorisation (a function of ``n`` only)."""
    return 256 if n < 6000 else 384


def _workers() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


def _forget_pool_in_child() -> None:
    """After a fork the parent's pool threads do not exist in the child: start afresh there.

    (Otherwise the child's first tasks would wait forever for threads that were not copied,
    e.g. in ``lmer_many``'s workers once this process had used the pool.)
    """
    _pool_state["pool"] = None
    _pool_state["lock"] = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool_in_child)


def pool_size() -> int:
    """Threads of the tile pool (tasks run in the caller's thread when it is 1)."""
    return _workers()


def _pool() -> ThreadPoolExecutor:
    with _pool_state["lock"]:
        if _pool_state["pool"] is None:
            _pool_state["pool"] = ThreadPoolExecutor(_workers(), thread_name_prefix="mm-tiles")
        return _pool_state["pool"]


def run_tasks(tasks: Sequence[Callable[[], object]]) -> list:
    """Run independent tasks on the pool and return their results in order.

    They run in the caller's thread when there is one task, one core, or when the caller is
    itself one of the pool's threads (waiting there for queued tasks could deadlock).
    """
    inside = threading.current_thread().name.startswith("mm-tiles")
    if len(tasks) <= 1 or _workers() == 1 or inside:
        return [task() for task in tasks]
    return [f.result() for f in [_pool().submit(task) for task in tasks]]


def cholesky_lower(S: np.ndarray) -> int:
    """In-place lower Cholesky factor of the C-ordered ``S`` (its lower triangle is used).

    Equivalent to ``lapack.dpotrf(S.T, lower=0, overwrite_a=1)``: in Fortran order ``S.T`` is
    upper, so the right-looking upper factorisation ``U'U`` of ``S.T`` leaves ``L = U'`` in
    ``S``'s lower triangle. The strict upper triangle of ``S`` is neither read nor written.

    Returns
    -------
    int
        0, or the failing column + 1 when ``S`` is not positive definite (as LAPACK's info).
    """
    if S.dtype != np.float64 or not S.flags.c_contiguous or S.shape[0] != S.shape[1]:
        raise ValueError("cholesky_lower needs a square C-contiguous float64 array")
    n = S.shape[0]
    nb = tile_size(n)
    starts = list(range(0, n, nb))
    base = S.ctypes.data
    ld = ctypes.c_int(n)

    def at(r: int, c: int) -> ctypes.c_void_p:  # Fortran element (r, c) of S.T
        return ctypes.c_void_p(base + 8 * (r + c * n))

    def size(t: int) -> int:
        return min(nb, n - starts[t])

    def trsm(k: int, j0: int, j1: int) -> None:
        # row panel (k, j0..j1) <- U_kk^-T (row panel)
        o, cols = starts[k], starts[j1 - 1] + size(j1 - 1) - starts[j0]
        m_k = ctypes.c_int(size(k))
        _DTRSM(
            _LEFT, _UPPER, _TRANS, _NOTRANS, ctypes.byref(m_k), ctypes.byref(ctypes.c_int(cols)),
            ctypes.byref(_ONE), at(o, o), ctypes.byref(ld), at(o, starts[j0]), ctypes.byref(ld),
        )  # fmt: skip

    def update(k: int, j: int) -> None:
        # column tile j, rows of tiles k+1..j: minus (row panel k)' (row panel k, tile j)
        o, oj, k_size, j_size = starts[k], starts[j], size(k), size(j)
        kk, jj = ctypes.c_int(k_size), ctypes.c_int(j_size)
        above = oj - starts[k + 1]
        if above > 0:
            _DGEMM(
                _TRANS, _NOTRANS, ctypes.byref(ctypes.c_int(above)), ctypes.byref(jj),
                ctypes.byref(kk), ctypes.byref(_MINUS_ONE), at(o, starts[k + 1]),
                ctypes.byref(ld), at(o, oj), ctypes.byref(ld), ctypes.byref(_ONE),
                at(starts[k + 1], oj), ctypes.byref(ld),
            )  # fmt: skip
        _DSYRK(
            _UPPER, _TRANS, ctypes.byref(jj), ctypes.byref(kk), ctypes.byref(_MINUS_ONE),
            at(o, oj), ctypes.byref(ld), ctypes.byref(_ONE), at(oj, oj), ctypes.byref(ld),
        )  # fmt: skip

    tiles = len(starts)
    with blas_limit(0):  # every tile call on one thread: the same rounding for any pool
        for k in range(tiles):
            info = ctypes.c_int(0)
            o = starts[k]
            _DPOTRF(
                _UPPER, ctypes.byref(ctypes.c_int(size(k))), at(o, o), ctypes.byref(ld),
                ctypes.byref(info),
            )  # fmt: skip
            if info.value != 0:
                return o + info.value
            rest = list(range(k + 1, tiles))
            if not rest:
                break
            # the panel solve, one task per column tile (never per worker: the calls, and so
            # the rounding, must not depend on the number of threads)
            run_tasks([partial(trsm, k, j, j + 1) for j in rest])
            # the trailing update, one task per column tile, the largest first
            run_tasks([partial(update, k, j) for j in reversed(rest)])
    return 0
