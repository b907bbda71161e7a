"""CHOLMOD called directly (ctypes), so that a factorisation releases the GIL.

One of the two bindings of :mod:`mixedmodels.linalg.cholmod` (:class:`CtypesBinding`).


cvxopt's wheels ship CHOLMOD as a shared library beside the extension module. Its Python
binding holds the GIL for the whole numeric factorisation, so two evaluations of the
objective cannot run at the same time (the convergence check's are independent), and it
builds every matrix from triplets at every call. Here the same
library, already loaded by ``import cvxopt.cholmod``, is called through ctypes, which
releases the GIL during each call; the matrix is filled once in compressed-column form and
the values are written straight into CHOLMOD's own array.

The structs are declared for CHOLMOD 3 (the int interface). The declaration is trusted only
after a self-test: the defaults that ``cholmod_start`` writes must be read back where the
declaration puts them, and a small matrix must factor to numpy's Cholesky factor. Otherwise
:func:`load` returns None and :func:`mixedmodels.linalg.cholmod.binding` uses cvxopt's binding
(the same library and options, so the same numbers).
"""

from __future__ import annotations

import ctypes
from typing import Any

import numpy as np

from mixedmodels.linalg.cholmod import cvxopt_binding, loader

__all__ = ["CtypesBinding", "DirectFactor", "load"]

_SIMPLICIAL, _AUTO, _SUPERNODAL = 0, 1, 2
_GIVEN = 1  # method[k].ordering: the user's permutation (CHOLMOD_GIVEN)
_MAX_METHODS = 9
_INT32_MAX = 2**31 - 1
_COMMON_BYTES = 65536  # cholmod_common is a few kilobytes; cholmod_start writes all of it


class _Method(ctypes.Structure):
    _fields_ = [
        ("lnz", ctypes.c_double),
        ("fl", ctypes.c_double),
        ("prune_dense", ctypes.c_double),
        ("prune_dense2", ctypes.c_double),
        ("nd_oksep", ctypes.c_double),
        ("other_1", ctypes.c_double * 4),
        ("nd_small", ctypes.c_size_t),
        ("other_2", ctypes.c_size_t * 4),
        ("aggressive", ctypes.c_int),
        ("order_for_lu", ctypes.c_int),
        ("nd_compress", ctypes.c_int),
        ("nd_camd", ctypes.c_int),
        ("nd_components", ctypes.c_int),
        ("ordering", ctypes.c_int),
        ("other_3", ctypes.c_size_t * 4),
    ]


class _CommonHead(ctypes.Structure):
    """The leading fields of ``cholmod_common`` (CHOLMOD 3), up to ``postorder``."""

    _fields_ = [
        ("dbound", ctypes.c_double),
        ("grow0", ctypes.c_double),
        ("grow1", ctypes.c_double),
        ("grow2", ctypes.c_size_t),
        ("maxrank", ctypes.c_size_t),
        ("supernodal_switch", ctypes.c_double),
        ("supernodal", ctypes.c_int),
        ("final_asis", ctypes.c_int),
        ("final_super", ctypes.c_int),
        ("final_ll", ctypes.c_int),
        ("final_pack", ctypes.c_int),
        ("final_monotonic", ctypes.c_int),
        ("final_resymbol", ctypes.c_int),
        ("zrelax", ctypes.c_double * 3),
        ("nrelax", ctypes.c_size_t * 3),
        ("prefer_zomplex", ctypes.c_int),
        ("prefer_upper", ctypes.c_int),
        ("quick_return_if_not_posdef", ctypes.c_int),
        ("prefer_binary", ctypes.c_int),
        ("print", ctypes.c_int),
        ("precise", ctypes.c_int),
        ("try_catch", ctypes.c_int),
        ("error_handler", ctypes.c_void_p),
        ("nmethods", ctypes.c_int),
        ("current", ctypes.c_int),
        ("selected", ctypes.c_int),
        ("method", _Method * (_MAX_METHODS + 1)),
        ("postorder", ctypes.c_int),
    ]


class _Sparse(ctypes.Structure):
    _fields_ = [
        ("nrow", ctypes.c_size_t),
        ("ncol", ctypes.c_size_t),
        ("nzmax", ctypes.c_size_t),
        ("p", ctypes.c_void_p),
        ("i", ctypes.c_void_p),
        ("nz", ctypes.c_void_p),
        ("x", ctypes.c_void_p),
        ("z", ctypes.c_void_p),
        ("stype", ctypes.c_int),
        ("itype", ctypes.c_int),
        ("xtype", ctypes.c_int),
        ("dtype", ctypes.c_int),
        ("sorted", ctypes.c_int),
        ("packed", ctypes.c_int),
    ]


class _Factor(ctypes.Structure):
    _fields_ = [
        ("n", ctypes.c_size_t),
        ("minor", ctypes.c_size_t),
        ("Perm", ctypes.c_void_p),
        ("ColCount", ctypes.c_void_p),
        ("IPerm", ctypes.c_void_p),
        ("nzmax", ctypes.c_size_t),
        ("p", ctypes.c_void_p),
        ("i", ctypes.c_void_p),
        ("x", ctypes.c_void_p),
        ("z", ctypes.c_void_p),
        ("nz", ctypes.c_void_p),
        ("next", ctypes.c_void_p),
        ("prev", ctypes.c_void_p),
        ("nsuper", ctypes.c_size_t),
        ("ssize", ctypes.c_size_t),
        ("xsize", ctypes.c_size_t),
        ("maxcsize", ctypes.c_size_t),
        ("maxesize", ctypes.c_size_t),
        ("super", ctypes.c_void_p),
        ("pi", ctypes.c_void_p),
        ("px", ctypes.c_void_p),
        ("s", ctypes.c_void_p),
        ("ordering", ctypes.c_int),
        ("is_ll", ctypes.c_int),
        ("is_super", ctypes.c_int),
        ("is_monotonic", ctypes.c_int),
        ("itype", ctypes.c_int),
        ("xtype", ctypes.c_int),
        ("dtype", ctypes.c_int),
    ]


def _load():
    """The library with its functions typed, or None."""
    if loader.cvxopt_cholmod() is None:  # loads CHOLMOD and its BLAS as cvxopt does
        return None
    path, amd_path = loader.library_path("cholmod"), loader.library_path("amd")
    if path is None or amd_path is None:
        return None
    try:
        lib = ctypes.CDLL(path)
        amd = ctypes.CDLL(amd_path)
        amd.amd_order.argtypes = [ctypes.c_int] + [ctypes.c_void_p] * 5
        amd.amd_order.restype = ctypes.c_int
        lib.amd = amd
        common, sparse, factor = ctypes.c_void_p, ctypes.POINTER(_Sparse), ctypes.POINTER(_Factor)
        lib.cholmod_start.argtypes = [common]
        lib.cholmod_finish.argtypes = [common]
        lib.cholmod_allocate_sparse.argtypes = [ctypes.c_size_t] * 3 + [ctypes.c_int] * 4
        lib.cholmod_allocate_sparse.argtypes += [common]
        lib.cholmod_allocate_sparse.restype = sparse
        lib.cholmod_free_sparse.argtypes = [ctypes.POINTER(sparse), common]
        lib.cholmod_analyze_p.argtypes = [sparse, ctypes.c_void_p, ctypes.c_void_p]
        lib.cholmod_analyze_p.argtypes += [ctypes.c_size_t, common]
        lib.cholmod_analyze_p.restype = factor
        lib.cholmod_factorize.argtypes = [sparse, factor, common]
        lib.cholmod_free_factor.argtypes = [ctypes.POINTER(factor), common]
    except (OSError, AttributeError):
        return None
    return lib


def _defaults_read_back(head: _CommonHead) -> bool:
    """Whether ``cholmod_start``'s documented defaults sit where the declaration puts them."""
    m0, m1 = head.method[0], head.method[1]
    return (
        head.dbound == 0.0
        and head.grow0 == 1.2
        and head.grow1 == 1.2
        and head.grow2 == 5
        and head.maxrank == 8
        and head.supernodal_switch == 40.0
        and head.supernodal == _AUTO
        and head.final_asis == 1
        and head.final_ll == 0
        and tuple(head.nrelax) == (4, 16, 48)
        and head.print == 3
        and head.nmethods == 0
        and m0.ordering == _GIVEN
        and m0.prune_dense == 10.0
        and m1.nd_small == 200
        and head.postorder == 1
    )


class CtypesBinding:
    """CHOLMOD through ctypes: the GIL released during a factorisation.

    Made by :func:`load` only, after the library's self-test.
    """

    name = "ctypes"
    releases_gil = True

    def __init__(self, lib) -> None:
        self._lib = lib

    def amd_order(self, rows: np.ndarray, cols: np.ndarray, n: int) -> np.ndarray:
        """AMD's ordering (see :func:`amd_order`); cvxopt's call of AMD where that fails."""
        order = amd_order(rows, cols, n, self._lib)
        if order is None:
            return cvxopt_binding.CvxoptBinding().amd_order(rows, cols, n)
        return order

    def factor(self, rows: np.ndarray, cols: np.ndarray, n: int, perm: np.ndarray) -> DirectFactor:
        """A :class:`DirectFactor` of the pattern under ``perm``."""
        return DirectFactor(rows, cols, n, perm, self._lib)


def load() -> CtypesBinding | None:
    """The binding over the loaded, declared and self-tested library; None where any fails."""
    lib = _self_tested(_load())
    return None if lib is None else CtypesBinding(lib)


def _self_tested(lib):
    if lib is None:
        return None
    try:
        rng = np.random.default_rng(0)
        n = 7
        a = rng.normal(size=(n, n))
        a = a @ a.T + n * np.eye(n)
        a[0, 4] = a[4, 0] = a[1, 5] = a[5, 1] = 0.0  # some zeros: a true sparse pattern
        rows, cols = np.nonzero(np.tril(a))
        order = np.lexsort((rows, cols))
        perm = np.array([3, 0, 6, 2, 5, 1, 4])
        lower = np.tril(a[:5, :5]) != 0.0
        if amd_order(*np.nonzero(lower.T)[::-1], 5, lib) is None:
            return None
        factor = DirectFactor(rows[order], cols[order], n, perm, lib)
        factor.values[:] = a[rows[order], cols[order]]
        diag = factor.factorize()
        expected = np.diag(np.linalg.cholesky(a[np.ix_(perm, perm)]))
        if diag is None or not np.allclose(diag, expected, rtol=1e-12, atol=0.0):
            return None
        a[2, 2] = -1.0  # not positive definite: must be reported
        factor.values[:] = a[rows[order], cols[order]]
        if factor.factorize() is not None:
            return None
    except Exception:  # any surprise: not trusted
        return None
    return lib


def amd_order(rows, cols, n: int, lib) -> np.ndarray | None:
    """AMD's fill-reducing ordering of the symmetric pattern whose lower triangle is given.

    ``rows, cols`` in column-major order, rows ascending within a column (as
    ``cvxopt.amd.order(A, uplo="L")`` reads them; AMD's default controls, so the same
    ordering). None when AMD fails.
    """
    rows = np.asarray(rows, dtype=np.int64)
    cols = np.asarray(cols, dtype=np.int64)
    keep = rows != cols  # AMD ignores the diagonal
    colptr = _column_pointers(cols[keep], n)
    index = np.ascontiguousarray(rows[keep], dtype=np.int32)
    perm = np.empty(n, dtype=np.int32)
    pointers = (colptr.ctypes.data, index.ctypes.data, perm.ctypes.data)
    status = lib.amd.amd_order(n, *pointers, None, None)
    if status not in (0, 1):  # AMD_OK, AMD_OK_BUT_JUMBLED
        return None
    return perm.astype(np.int64)


class DirectFactor:
    """A symbolic supernodal factor of a fixed pattern, factored numerically on demand.

    Parameters
    ----------
    rows, cols
        The lower triangle's pattern (``rows >= cols``), column by column, rows ascending.
    n
        Order of the matrix.
    perm
        The fill-reducing permutation to use as it is (no postordering).
    lib
        The loaded library (:func:`load` makes it).

    Attributes
    ----------
    values
        The matrix's values on the pattern, in its order: write them here before
        :meth:`factorize` (a view of CHOLMOD's own array).
    """

    def __init__(self, rows, cols, n: int, perm, lib) -> None:
        rows = np.asarray(rows, dtype=np.int64)
        cols = np.asarray(cols, dtype=np.int64)
        if rows.size > _INT32_MAX or n > _INT32_MAX:
            raise ValueError("pattern too large for CHOLMOD's int interface")
        self._lib = lib
        owned = self._owned = _Owned(lib)
        head = _CommonHead.from_buffer(owned.common_buffer)
        if not _defaults_read_back(head):
            raise RuntimeError("cholmod_common is not laid out as declared")
        head.print = 0  # no messages from the library: failures are reported by return values
        head.supernodal = _SUPERNODAL  # the diagonal is read off the supernodes
        head.nmethods = 1
        head.method[0].ordering = _GIVEN
        head.postorder = 0  # keep the permutation as given (X and y last)
        self._common = owned.common
        nnz = rows.size
        A = lib.cholmod_allocate_sparse(n, n, nnz, 1, 1, -1, 1, self._common)  # lower, real
        if not A:
            raise MemoryError("CHOLMOD could not allocate the matrix")
        owned.A = self._A = A
        _view(A.contents.p, n + 1, np.int32)[:] = _column_pointers(cols, n)
        _view(A.contents.i, nnz, np.int32)[:] = rows
        # the view keeps CHOLMOD's memory alive, even after this object is dropped
        self.values = _view(A.contents.x, nnz, np.float64, owner=owned)
        self.values[:] = 0.0
        perm32 = np.ascontiguousarray(perm, dtype=np.int32)
        L = lib.cholmod_analyze_p(A, perm32.ctypes.data, None, 0, self._common)
        if not L:
            raise RuntimeError("CHOLMOD's symbolic analysis failed")
        owned.L = self._L = L
        f = L.contents
        if not (f.is_super == 1 and f.n == n and f.itype == 0 and f.dtype == 0):
            raise RuntimeError("CHOLMOD's factor is not laid out as declared")
        if not np.array_equal(_view(f.Perm, n, np.int32), perm32):
            raise RuntimeError("CHOLMOD did not keep the given permutation")
        self.n = n
        nsuper = int(f.nsuper)
        first = _view(f.super, nsuper + 1, np.int32).astype(np.int64)
        row_start = _view(f.pi, nsuper + 1, np.int32).astype(np.int64)
        value_start = _view(f.px, nsuper + 1, np.int32).astype(np.int64)
        # column k of supernode s (columns first[s]..first[s+1]-1, nrow rows each, column-
        # major from value_start[s]) has its diagonal at value_start[s] + j * (nrow + 1)
        width = np.diff(first)
        nrow = np.diff(row_start)
        owner = np.repeat(np.arange(nsuper), width)
        within = np.arange(n) - first[owner]
        self._diagonal_at = value_start[owner] + within * (nrow[owner] + 1)
        self._xsize = int(f.xsize)

    def factorize(self) -> np.ndarray | None:
        """The factor's diagonal in the permuted order; None when not positive definite."""
        lib, L = self._lib, self._L
        ok = lib.cholmod_factorize(self._A, L, self._common)  # releases the GIL
        f = L.contents
        if not ok or f.minor < self.n or not f.is_ll or not f.x:
            return None
        d = _view(f.x, self._xsize, np.float64)[self._diagonal_at]
        if not np.all(np.isfinite(d)) or not np.all(d > 0.0):
            return None
        return d


class _Owned:
    """One ``cholmod_common`` with the matrix and factor made through it; freed together."""

    def __init__(self, lib) -> None:
        self.lib = lib
        self.common_buffer = ctypes.create_string_buffer(_COMMON_BYTES)
        self.common = ctypes.cast(self.common_buffer, ctypes.c_void_p)
        self.A = None
        self.L = None
        lib.cholmod_start(self.common)

    def __del__(self) -> None:
        lib = self.lib
        try:
            if self.L is not None:
                lib.cholmod_free_factor(ctypes.byref(self.L), self.common)
            if self.A is not None:
                lib.cholmod_free_sparse(ctypes.byref(self.A), self.common)
            lib.cholmod_finish(self.common)
        except Exception:  # pragma: no cover - interpreter shutdown
            pass


def _column_pointers(cols: np.ndarray, n: int) -> np.ndarray:
    """Compressed-column pointers (int32) of entries given column by column."""
    colptr = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(np.bincount(cols, minlength=n), out=colptr[1:])
    return colptr


def _view(address, count: int, dtype, owner=None) -> np.ndarray:
    """A numpy array over ``count`` items of memory owned by CHOLMOD.

    With ``owner``, the array keeps that object (and so the memory) alive.
    """
    ctype: Any = {np.int32: ctypes.c_int32, np.float64: ctypes.c_double}[dtype]
    buffer = (ctype * count).from_address(address)
    if owner is not None:
        buffer.owner = owner  # the array's base is this buffer
    return np.ctypeslib.as_array(buffer)
