"""statsmodels' parameter containers: ``MixedLMParams`` (old and new forms) and ``VCSpec``.

``MixedLMParams`` holds one parameter state in statsmodels' *profile* parameterisation: the
fixed effects, the random-effects covariance and the variance components, both divided by
the residual variance (``scale``). It doubles as the ``free`` mask of ``MixedLM.fit``: a zero
marks a parameter held at its starting value. Both the current constructor
``MixedLMParams(k_fe, k_re, k_vc)`` and the older ``MixedLMParams(k_fe, k_re)`` with
``set_fe_params`` / ``set_cov_re`` are accepted.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["MixedLMParams", "VCSpec"]


class MixedLMParams:
    """A parameter state (or ``free`` mask) of a mixed linear model, statsmodels' layout.

    Parameters
    ----------
    k_fe
        Number of fixed effects.
    k_re
        Number of correlated random coefficients per group (columns of ``exog_re``).
    k_vc
        Number of variance components (default 0, statsmodels before 0.8 had no ``k_vc``).

    Attributes
    ----------
    fe_params
        Fixed effects, ``(k_fe,)``.
    cov_re
        Random-effects covariance relative to the scale, ``(k_re, k_re)``.
    vcomp
        Variance components relative to the scale, ``(k_vc,)``.

    Examples
    --------
    Independent random intercept and slope (the old and the new spelling):

    >>> free = MixedLMParams(2, 2)
    >>> free.set_fe_params(np.ones(2))
    >>> free.set_cov_re(np.eye(2))
    >>> free2 = MixedLMParams.from_components(np.ones(2), np.eye(2))
    >>> bool(np.all(free.get_packed(use_sqrt=False) == free2.get_packed(use_sqrt=False)))
    True
    """

    def __init__(self, k_fe: int, k_re: int, k_vc: int = 0) -> None:
        self.k_fe = int(k_fe)
        self.k_re = int(k_re)
        self.k_re2 = self.k_re * (self.k_re + 1) // 2
        self.k_vc = int(k_vc)
        self.k_tot = self.k_fe + self.k_re2 + self.k_vc
        self._ix = np.tril_indices(self.k_re)
        # fixed effects are profiled out, so as a ``free`` mask they default to "free"
        self.fe_params = np.ones(self.k_fe)
        self.cov_re = np.zeros((self.k_re, self.k_re))
        self.vcomp = np.zeros(self.k_vc)

    # -- the older statsmodels setters and getters -----------------------------------------
    def set_fe_params(self, fe_params) -> None:
        """Set the fixed effects (statsmodels < 0.8 API)."""
        fe = np.asarray(fe_params, dtype=float).ravel()
        if fe.size != self.k_fe:
            raise ValueError(f"fe_params must have {self.k_fe} entries, got {fe.size}")
        self.fe_params = fe

    def get_fe_params(self) -> np.ndarray:
        """The fixed effects (statsmodels < 0.8 API)."""
        return self.fe_params

    def set_cov_re(self, cov_re=None, cov_re_sqrt=None) -> None:
        """Set the random-effects covariance, directly or by a square root ``L`` (``L L'``)."""
        if cov_re is None and cov_re_sqrt is None:
            raise ValueError("give cov_re or cov_re_sqrt")
        if cov_re_sqrt is not None:
            root = np.atleast_2d(np.asarray(cov_re_sqrt, dtype=float))
            matrix = root @ root.T
        else:
            matrix = np.atleast_2d(np.asarray(cov_re, dtype=float))
        if matrix.shape != (self.k_re, self.k_re):
            raise ValueError(f"cov_re must be {self.k_re} x {self.k_re}, got {matrix.shape}")
        self.cov_re = matrix

    def get_cov_re(self) -> np.ndarray:
        """The random-effects covariance (statsmodels < 0.8 API)."""
        return self.cov_re

    def set_vcomp(self, vcomp) -> None:
        """Set the variance components."""
        values = np.asarray(vcomp, dtype=float).ravel()
        if values.size != self.k_vc:
            raise ValueError(f"vcomp must have {self.k_vc} entries, got {values.size}")
        self.vcomp = values

    # -- the current API -------------------------------------------------------------------
    @staticmethod
    def from_packed(params, k_fe: int, k_re: int, use_sqrt: bool = False, has_fe: bool = True):
        """Build from a packed vector: [fixed effects,] lower triangle of cov_re, vcomp.

        The lower triangle is row by row (numpy's ``tril_indices``); with ``use_sqrt`` it is
        the lower Cholesky factor of ``cov_re`` and the variance components are square roots.
        """
        params = np.asarray(params, dtype=float).ravel()
        k_re2 = k_re * (k_re + 1) // 2
        k_vc = params.size - k_re2 - (k_fe if has_fe else 0)
        if k_vc < 0:
            raise ValueError(f"packed parameters too short: {params.size} entries")
        out = MixedLMParams(k_fe, k_re, k_vc)
        start = k_fe if has_fe else 0
        out.fe_params = params[:k_fe].copy() if has_fe else np.zeros(k_fe)
        tri = np.zeros((k_re, k_re))
        tri[out._ix] = params[start : start + k_re2]
        if use_sqrt:
            out.cov_re = tri @ tri.T
        else:
            out.cov_re = tri + tri.T - np.diag(np.diag(tri))
        vc = params[start + k_re2 :]
        out.vcomp = vc**2 if use_sqrt else vc.copy()
        return out

    @staticmethod
    def from_components(fe_params=None, cov_re=None, cov_re_sqrt=None, vcomp=None):
        """Build from the fixed effects, ``cov_re`` (or its square root) and ``vcomp``."""
        fe = np.zeros(0) if fe_params is None else np.asarray(fe_params, dtype=float).ravel()
        vc = np.zeros(0) if vcomp is None else np.asarray(vcomp, dtype=float).ravel()
        if cov_re_sqrt is not None:
            root = np.atleast_2d(np.asarray(cov_re_sqrt, dtype=float))
            cov = root @ root.T
        elif cov_re is not None:
            cov = np.atleast_2d(np.asarray(cov_re, dtype=float))
        else:
            cov = np.zeros((0, 0))
        out = MixedLMParams(fe.size, cov.shape[0], vc.size)
        out.fe_params, out.cov_re, out.vcomp = fe, cov, vc
        return out

    def copy(self) -> MixedLMParams:
        """A deep copy."""
        out = MixedLMParams(self.k_fe, self.k_re, self.k_vc)
        out.fe_params = np.array(self.fe_params, dtype=float, copy=True)
        out.cov_re = np.array(self.cov_re, dtype=float, copy=True)
        out.vcomp = np.array(self.vcomp, dtype=float, copy=True)
        return out

    def get_packed(self, use_sqrt: bool = False, has_fe: bool = False) -> np.ndarray:
        """The packed vector (see :meth:`from_packed`)."""
        cov = np.asarray(self.cov_re, dtype=float)
        if self.k_re == 0:
            tri = np.zeros(0)
        elif use_sqrt:
            try:
                tri = np.linalg.cholesky(cov)[self._ix]
            except np.linalg.LinAlgError:
                tri = np.diag(np.sqrt(np.clip(np.diag(cov), 0, None)))[self._ix]
        else:
            tri = cov[self._ix]
        vc = np.asarray(self.vcomp, dtype=float)
        vc = np.sqrt(vc) if use_sqrt else vc
        parts = [np.asarray(self.fe_params, dtype=float)] if has_fe else []
        return np.concatenate([*parts, tri, vc])

    def __repr__(self) -> str:
        return f"MixedLMParams(k_fe={self.k_fe}, k_re={self.k_re}, k_vc={self.k_vc})"


class VCSpec:
    """Variance-component design as statsmodels defines it.

    Parameters
    ----------
    names
        Name of every variance component.
    colnames
        ``colnames[j][i]``: column names of component ``j``'s matrix in group ``i``.
    mats
        ``mats[j][i]``: the matrix of component ``j`` for the rows of group ``i`` (groups
        in sorted order, rows in data order); each column gets an independent random
        coefficient with the component's variance.
    """

    def __init__(self, names: Sequence[str], colnames, mats) -> None:
        self.names = list(names)
        self.colnames = colnames
        self.mats = mats

    def __repr__(self) -> str:
        return f"VCSpec(names={self.names!r})"
