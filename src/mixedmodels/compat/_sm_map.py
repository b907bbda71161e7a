"""The map between the engine's theta and statsmodels' variance parameters.

statsmodels' profile parameterisation holds ``cov_re / scale`` (``psi``, packed as its lower
triangle row by row) and ``vcomp / scale``; the engine holds theta, the lower triangles of the
relative covariance factors of its terms. ``psi = Lambda Lambda'`` over the ``exog_re``
columns (block diagonal when ``free`` splits them into independent terms) and
``vcomp / scale = theta_vc ** 2``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["ParamMap", "lower_factor"]


def lower_factor(matrix: np.ndarray) -> np.ndarray:
    """Lower-triangular ``L`` with non-negative diagonal and ``L L' = matrix`` (PSD input)."""
    try:
        return np.linalg.cholesky(matrix)
    except np.linalg.LinAlgError:
        w, q = np.linalg.eigh((matrix + matrix.T) / 2)
        root = q * np.sqrt(np.clip(w, 0, None))
        r = np.asarray(np.linalg.qr(root.T, mode="r"))  # mode "r": R alone
        lower = r.T
        return lower * np.where(np.diag(lower) < 0, -1.0, 1.0)[None, :]


@dataclass(frozen=True, eq=False)
class _ReTerm:
    columns: np.ndarray  # exog_re column of each of the term's columns
    offset: int  # first theta index
    rows: np.ndarray  # theta_positions within the term
    cols: np.ndarray


@dataclass(frozen=True, eq=False)
class ParamMap:
    """Engine theta <-> statsmodels' (psi, vcomp / scale) for one engine model.

    Attributes
    ----------
    k_re, k_vc
        Sizes of ``cov_re`` and ``vcomp``.
    n_theta
        Length of theta.
    re_terms
        The engine terms on the group factor.
    vc_theta
        Theta index of every variance component.
    """

    k_re: int
    k_vc: int
    n_theta: int
    re_terms: tuple[_ReTerm, ...]
    vc_theta: np.ndarray

    @classmethod
    def from_terms(cls, terms, k_re: int, k_vc: int) -> ParamMap:
        """Read the engine's terms (group ``g``: columns ``z<k>``; factors ``f<j>``)."""
        re_terms, vc_theta = [], np.zeros(k_vc, dtype=np.intp)
        n_theta = 0
        for term in terms:
            n_theta += term.n_theta
            if term.group_name == "g":
                rows, cols = term.theta_positions()
                columns = np.array([int(c[1:]) for c in term.columns], dtype=np.intp)
                re_terms.append(_ReTerm(columns, term.theta_offset, rows, cols))
            else:
                vc_theta[int(term.group_name[1:])] = term.theta_offset
        return cls(k_re, k_vc, n_theta, tuple(re_terms), vc_theta)

    @property
    def k_re2(self) -> int:
        """Number of packed ``cov_re`` entries."""
        return self.k_re * (self.k_re + 1) // 2

    @property
    def structural(self) -> np.ndarray:
        """``(k_re, k_re)`` True where the covariance is a parameter (same engine term)."""
        out = np.zeros((self.k_re, self.k_re), dtype=bool)
        for term in self.re_terms:
            out[np.ix_(term.columns, term.columns)] = True
        return out

    @property
    def var_mask(self) -> np.ndarray:
        """Which packed variance entries (cov_re lower triangle, vcomp) are parameters."""
        return np.concatenate(
            [self.structural[np.tril_indices(self.k_re)], np.ones(self.k_vc, dtype=bool)]
        )

    def _term_lambda(self, term: _ReTerm, theta: np.ndarray) -> np.ndarray:
        size = term.columns.size
        lam = np.zeros((size, size))
        lam[term.rows, term.cols] = theta[term.offset : term.offset + term.rows.size]
        return lam

    def factor(self, theta: np.ndarray) -> np.ndarray:
        """``Lambda`` over the exog_re columns, so that ``psi = Lambda Lambda'``."""
        out = np.zeros((self.k_re, self.k_re))
        for term in self.re_terms:
            out[np.ix_(term.columns, term.columns)] = self._term_lambda(term, theta)
        return out

    def psi(self, theta: np.ndarray) -> np.ndarray:
        """``cov_re / scale``."""
        lam = self.factor(np.asarray(theta, dtype=float))
        return lam @ lam.T

    def vc_rel(self, theta: np.ndarray) -> np.ndarray:
        """``vcomp / scale``."""
        return np.asarray(theta, dtype=float)[self.vc_theta] ** 2

    def theta_of(self, psi: np.ndarray, vc_rel: np.ndarray) -> np.ndarray:
        """Theta giving ``psi`` on the structural blocks and ``vc_rel``."""
        theta = np.zeros(self.n_theta)
        psi = np.asarray(psi, dtype=float).reshape(self.k_re, self.k_re)
        for term in self.re_terms:
            lam = lower_factor(psi[np.ix_(term.columns, term.columns)])
            theta[term.offset : term.offset + term.rows.size] = lam[term.rows, term.cols]
        theta[self.vc_theta] = np.sqrt(np.clip(np.asarray(vc_rel, dtype=float), 0, None))
        return theta

    def packed_var(self, theta: np.ndarray) -> np.ndarray:
        """statsmodels' packed variance parameters: psi's lower triangle, then vcomp/scale."""
        return np.concatenate([self.psi(theta)[np.tril_indices(self.k_re)], self.vc_rel(theta)])

    def unpack_var(self, packed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(psi, vc_rel)`` from a packed variance vector."""
        packed = np.asarray(packed, dtype=float)
        tri = np.zeros((self.k_re, self.k_re))
        tri[np.tril_indices(self.k_re)] = packed[: self.k_re2]
        return tri + tri.T - np.diag(np.diag(tri)), packed[self.k_re2 :]

    def variance_row(self, k: int) -> np.ndarray:
        """Theta indices of row ``k`` of ``Lambda``: ``psi[k, k]`` is their sum of squares."""
        for term in self.re_terms:
            hit = np.flatnonzero(term.columns == k)
            if hit.size:
                return term.offset + np.flatnonzero(term.rows == hit[0])
        raise IndexError(k)
