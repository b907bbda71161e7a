"""CHOLMOD through cvxopt's own Python binding: one of the two bindings of the sparse route.

Used where the ctypes binding is not trusted (another cvxopt or CHOLMOD version, or its
self-test failed). The same library, ordering and options as the ctypes binding, so the same
numbers; but cvxopt's binding holds the GIL for the whole numeric factorisation and builds
its matrix from triplets at every call.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mixedmodels.linalg.cholmod import loader

__all__ = ["CvxoptBinding", "CvxoptFactor", "supernodal"]


class CvxoptBinding:
    """cvxopt's ``amd`` and ``cholmod`` modules behind the binding interface."""

    name = "cvxopt"
    releases_gil = False

    def amd_order(self, rows: np.ndarray, cols: np.ndarray, n: int) -> np.ndarray:
        """AMD's ordering of the pattern (lower triangle, column-major), as ``amd.order``."""
        from cvxopt import amd, matrix, spmatrix

        A = spmatrix(matrix(np.ones(np.asarray(rows).size)), matrix(rows), matrix(cols), (n, n))
        return np.array(list(amd.order(A, uplo="L")), dtype=np.int64)

    def factor(self, rows: np.ndarray, cols: np.ndarray, n: int, perm: np.ndarray) -> CvxoptFactor:
        """A :class:`CvxoptFactor` of the pattern under ``perm``."""
        return CvxoptFactor(rows, cols, n, perm)


class CvxoptFactor:
    """cvxopt's symbolic supernodal factor of a fixed pattern, factored on demand.

    Parameters
    ----------
    rows, cols
        The lower triangle's pattern (``rows >= cols``), column by column, rows ascending.
    n
        Order of the matrix.
    perm
        The fill-reducing permutation to use as it is (no postordering).
    """

    def __init__(self, rows, cols, n: int, perm) -> None:
        from cvxopt import matrix, spmatrix

        self._cholmod: Any = loader.cvxopt_cholmod()  # there: this binding was chosen
        rows = np.asarray(rows, dtype=np.int64)
        self.values = np.zeros(rows.size)
        self._A = spmatrix(matrix(np.ones(rows.size)), matrix(rows), matrix(cols), (n, n))
        order = [int(k) for k in perm]
        with supernodal(self._cholmod):
            self._F = self._cholmod.symbolic(  # type: ignore[union-attr]  # loaded: chosen
                self._A, p=matrix(order), uplo="L"
            )

    def factorize(self) -> np.ndarray | None:
        """The factor's diagonal in the permuted order; None when not positive definite."""
        from cvxopt import matrix

        cholmod = self._cholmod
        self._A.V = matrix(self.values)
        try:
            with supernodal(cholmod):
                cholmod.numeric(self._A, self._F)
        except ArithmeticError:
            return None
        d = np.asarray(cholmod.diag(self._F)).ravel()
        if not np.all(np.isfinite(d)) or not np.all(d > 0.0):
            return None
        return d


class supernodal:  # noqa: N801 - used as a context manager, like a function
    """CHOLMOD's options set to a supernodal factor for the duration of a call.

    cvxopt keeps CHOLMOD's options in one module-level dict; it is restored afterwards so
    that other users of cvxopt see their own settings.
    """

    def __init__(self, cholmod) -> None:
        self.options = cholmod.options

    def __enter__(self) -> None:
        """Set the factor options this binding needs, keeping cvxopt's."""
        self.saved = dict(self.options)
        self.options["supernodal"] = 2  # diag() needs a supernodal factor
        self.options["postorder"] = False  # keep X and y last, where the permutation puts them

    def __exit__(self, *exc) -> None:
        """Restore cvxopt's options."""
        self.options.clear()
        self.options.update(self.saved)
