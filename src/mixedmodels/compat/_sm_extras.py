"""The rest of statsmodels' public ``MixedLM`` / ``MixedLMResults`` surface (two mixins).

Model: the per-group lists (``endog_li``, ``exog_li``, ``exog_re_li``, ``exog_re2_li``,
``group_list``), ``exog_vc`` as a :class:`VCSpec`, ``k_params`` (``k_fe + k_re2``, as
statsmodels counts it), ``re_pen``, ``score_full`` and ``score_sqrt`` (the score's three
parts, not masked by ``free``), ``get_distribution`` (simulated responses), and
``information`` / ``initialize`` as statsmodels has them (``NotImplementedError``; nothing).
Results: ``hessv`` (``model.hessian(params)``, the call statsmodels makes), and
``bootstrap``, ``get_nlfun``, ``initialize`` raising or doing what statsmodels 0.15 does for
MixedLM.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

from mixedmodels.compat._sm_derivatives import derivatives, sqrt_jacobian
from mixedmodels.compat._sm_design import Layout
from mixedmodels.compat._sm_params import MixedLMParams, VCSpec

__all__ = ["ModelExtras", "ResultsExtras", "MixedLMDistribution"]


class MixedLMDistribution:
    """Responses simulated from a mixed model at given parameters (``get_distribution``).

    Parameters
    ----------
    model
        The model (its designs and groups).
    params
        Packed (fixed effects, ``cov_re / scale`` lower triangle, ``vcomp / scale``), not
        square roots (as statsmodels reads them here).
    scale
        Residual variance.
    exog
        Fixed-effects design (default the model's).
    """

    def __init__(self, model, params, scale: float, exog=None) -> None:
        self.model = model
        self.exog = model.exog if exog is None else np.asarray(exog, dtype=float)
        po = MixedLMParams.from_packed(np.asarray(params, float), model.k_fe, model.k_re)
        self.fe_params = po.fe_params
        self.cov_re = scale * po.cov_re
        self.vcomp = scale * po.vcomp
        self.scale = float(scale)

    def rvs(self, n=None, rng=None) -> np.ndarray:
        """One simulated response vector (``n`` is ignored, as in statsmodels)."""
        generator = np.random.default_rng(rng)
        layout: Layout = self.model.layout
        y = self.exog @ self.fe_params + np.sqrt(self.scale) * generator.normal(size=layout.nobs)
        k = layout.k_re
        root = np.linalg.cholesky(self.cov_re) if k else np.zeros((0, 0))
        for i in range(len(layout.group_labels)):
            rows = np.flatnonzero(layout.groups == i)
            if k:
                y[rows] += layout.exog_re[rows] @ (root @ generator.normal(size=k))
            for j, vc in enumerate(layout.vcs):
                z, _ = vc.group_matrix(i, rows)
                y[rows] += z @ (np.sqrt(self.vcomp[j]) * generator.normal(size=z.shape[1]))
        return y


class ModelExtras:
    """Per-group lists, score parts, simulation; the host is ``MixedLM``."""

    layout: Layout
    k_fe: int
    k_re: int
    k_re2: int
    k_vc: int
    reml: bool
    use_sqrt: bool
    re_pen = None

    @property
    def k_params(self) -> int:
        """``k_fe + k_re2``, statsmodels' count (the variance components are not in it)."""
        return self.k_fe + self.k_re2

    @cached_property
    def _group_rows(self) -> list[np.ndarray]:
        return [
            np.flatnonzero(self.layout.groups == i) for i in range(len(self.layout.group_labels))
        ]

    def group_list(self, array) -> list[np.ndarray] | None:
        """``array``'s rows split by group (None for None)."""
        if array is None:
            return None
        values = np.asarray(array)
        return [values[rows] for rows in self._group_rows]

    @property
    def endog_li(self) -> list[np.ndarray]:
        """The response of every group."""
        return self.group_list(self.layout.endog)  # type: ignore[return-value]

    @property
    def exog_li(self) -> list[np.ndarray]:
        """The fixed-effects design of every group."""
        return self.group_list(self.layout.exog)  # type: ignore[return-value]

    @property
    def exog_re_li(self) -> list[np.ndarray]:
        """The random-coefficient design of every group."""
        return self.group_list(self.layout.exog_re)  # type: ignore[return-value]

    @property
    def exog_re2_li(self) -> list[np.ndarray]:
        """``Z'Z`` of every group's random-coefficient design."""
        return [z.T @ z for z in self.exog_re_li]

    @cached_property
    def exog_vc(self) -> VCSpec:
        """The variance components as statsmodels' ``VCSpec`` (names, column names, mats)."""
        names, colnames, mats = [], [], []
        for vc in self.layout.vcs:
            parts = [vc.group_matrix(i, rows) for i, rows in enumerate(self._group_rows)]
            names.append(vc.name)
            mats.append([z for z, _ in parts])
            colnames.append([list(columns) for _, columns in parts])
        return VCSpec(names, colnames, mats)

    def information(self, params):
        """Not implemented, as in statsmodels (use ``hessian``)."""
        raise NotImplementedError

    def initialize(self) -> None:
        """Nothing to do (statsmodels' hook)."""
        return None

    def _score_parts(self, params, calc_fe: bool, use_sqrt: bool):
        if not hasattr(params, "cov_re"):
            params = MixedLMParams.from_packed(
                params,
                self.k_fe,
                self.k_re,
                self.use_sqrt,
                has_fe=False,  # type: ignore[attr-defined]
            )
        fe = np.asarray(params.fe_params, dtype=float)
        cov = np.asarray(params.cov_re, dtype=float).reshape(self.k_re, self.k_re)
        vc = np.asarray(params.vcomp, dtype=float).ravel()
        d = derivatives(self._stats, cov, vc, fe, self.reml)  # type: ignore[attr-defined]
        d_fe, d_var = d.score_fe, d.score_var.copy()
        penalties = self._penalties  # type: ignore[attr-defined]
        if penalties.any:
            pen_fe, pen_re = penalties.gradient(fe, cov)
            d_var[: self.k_re2] -= pen_re
            d_fe = d_fe - pen_fe
        if use_sqrt:
            d_var = sqrt_jacobian(cov, vc)[0].T @ d_var
        d_fe = d_fe if calc_fe else np.zeros(self.k_fe)
        return d_fe, d_var[: self.k_re2], d_var[self.k_re2 :]

    def score_full(self, params, calc_fe: bool):
        """``(score_fe, score_re, score_vc)`` in ``cov_re`` itself (lower triangle).

        ``params`` a MixedLMParams (its fixed effects are used as given) or the packed
        variance parameters; ``score_fe`` is zeros unless ``calc_fe``. Not masked by ``free``.
        """
        return self._score_parts(params, calc_fe, use_sqrt=False)

    def score_sqrt(self, params, calc_fe: bool = True):
        """As :meth:`score_full`, in the square-root parameterisation."""
        return self._score_parts(params, calc_fe, use_sqrt=True)

    def get_distribution(self, params, scale, exog=None) -> MixedLMDistribution:
        """Simulated responses at ``params`` (packed, not square roots) and ``scale``."""
        return MixedLMDistribution(self, params, scale, exog)


class ResultsExtras:
    """``hessv`` and the base-results methods statsmodels has for MixedLM."""

    @cached_property
    def hessv(self):
        """``model.hessian(params)``, the call statsmodels makes.

        The packed ``params`` are read in the model's ``use_sqrt`` parameterisation, as
        statsmodels reads them.
        """
        return self.model.hessian(np.asarray(self.params))  # type: ignore[attr-defined]

    def bootstrap(self, *args, **kwargs):
        """Raises AttributeError, as statsmodels 0.15 does for MixedLM."""
        raise AttributeError("'MixedLMResults' object has no attribute 'exog'")

    def get_nlfun(self, fun):
        """Not implemented, as in statsmodels."""
        raise NotImplementedError

    def initialize(self, model, params, **kwargs) -> None:
        """Nothing to do (statsmodels' hook; the results are set at the fit)."""
        return None
