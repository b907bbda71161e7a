"""The variance parameters' standard errors and profiles of ``MixedLMResults`` (a mixin).

The covariance of ``params`` is the inverse observed information in statsmodels' layout
(:func:`._sm_inference.information`, central differences of the engine's criterion in the
fit's free coordinates), restricted to the parameters the ``free`` mask leaves free; after a
fit holding entries inside a correlated block it is statsmodels' own definition (the inverse
of the analytic Hessian's rows and columns of the free entries). ``profile_re`` is the true
profile log-likelihood of one variance on the data scale.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from mixedmodels.compat._sm_derivatives import derivatives
from mixedmodels.compat._sm_inference import (
    Coordinates,
    Information,
    gls_beta,
    information,
    profile_variance,
    scaled_coordinates,
)
from mixedmodels.errors import DesignError

if TYPE_CHECKING:
    import pandas as pd

    from mixedmodels.compat._sm_constrained import PackedConstraint
    from mixedmodels.compat._sm_map import ParamMap
    from mixedmodels.compat._sm_model import MixedLM
    from mixedmodels.compat._sm_params import MixedLMParams
    from mixedmodels.compat._sm_penalty import Penalties
    from mixedmodels.results import LmerResult

__all__ = ["VarianceInference"]


class VarianceInference:
    """Standard-error internals and ``profile_re``; the host is ``MixedLMResults``."""

    model: MixedLM
    lmer_result: LmerResult
    pmap: ParamMap
    freepat: MixedLMParams | None
    fixed: np.ndarray
    constrained: tuple[PackedConstraint, np.ndarray] | None
    penalties: Penalties | None

    if TYPE_CHECKING:  # the host's properties

        @property
        def k_fe(self) -> int: ...
        @property
        def k_re(self) -> int: ...
        @property
        def k_re2(self) -> int: ...
        @property
        def reml(self) -> bool: ...
        @property
        def scale(self) -> float: ...
        @property
        def _theta(self) -> np.ndarray: ...
        @property
        def params_object(self) -> MixedLMParams: ...
        @property
        def cov_re(self) -> pd.DataFrame: ...
        @property
        def vcomp(self) -> np.ndarray: ...

    @cached_property
    def _estimated(self) -> np.ndarray:
        if self.constrained is not None:  # statsmodels: the entries free in the mask
            return self.pmap.var_mask & self.constrained[0].free
        mask = self.pmap.var_mask.copy()
        rows, cols = np.tril_indices(self.k_re)
        for k in np.flatnonzero(np.isin(np.arange(self.k_re), self._fixed_re)):
            mask[np.flatnonzero((rows == k) & (cols == k))] = False
        mask[self.k_re2 :][self.fixed[self.pmap.vc_theta]] = False
        return mask

    @property
    def _fixed_re(self) -> list[int]:
        out = []
        for k in range(self.k_re):
            if self.constrained is not None:
                if self.constrained[0].held_variance(k):
                    out.append(k)
            elif self.fixed[self.pmap.variance_row(k)].all():
                out.append(k)
        return out

    @cached_property
    def _information(self) -> Information:
        fe_free = (
            np.ones(self.k_fe, dtype=bool)
            if self.freepat is None
            else np.asarray(self.freepat.fe_params, dtype=float) != 0
        )
        info = information(
            self.lmer_result.model,
            self.pmap,
            self._theta,
            self.reml,
            self.scale,
            self.coordinates,
            self._estimated,
            fe_free,
            singular=bool(self.lmer_result.is_singular),
        )
        if self.constrained is None:
            return info
        return Information(pcov=self._pcov_as_statsmodels(fe_free), cov_abs=info.cov_abs)

    @property
    def coordinates(self) -> Coordinates:
        """The free coordinates the variance derivatives and ``profile_re`` are taken in."""
        if self.constrained is None:
            return scaled_coordinates(self.lmer_result.model, self._theta, self.fixed)
        constraint, x = self.constrained
        return Coordinates(x, constraint.theta_at, constraint.lower)

    def _pcov_as_statsmodels(self, fe_free: np.ndarray) -> np.ndarray:
        """statsmodels' covariance: the inverse Hessian of the entries free in the mask.

        statsmodels inverts its Hessian in (fixed effects, ``cov_re / scale`` lower
        triangle, ``vcomp / scale``) restricted to the entries the mask leaves free, with
        zeros for the others (here from the analytic Hessian, exact at the GLS fixed effects).
        """
        pa = self.params_object
        hess = derivatives(
            self.model._stats,
            pa.cov_re,
            pa.vcomp,
            pa.fe_params,
            self.reml,
            hessian=True,
            exact=True,
        ).hessian
        assert hess is not None
        keep = np.flatnonzero(np.concatenate([fe_free, self._estimated]))
        pcov = np.zeros_like(hess)
        pcov[np.ix_(keep, keep)] = np.linalg.inv(-(hess + hess.T)[np.ix_(keep, keep)] / 2)
        if self.lmer_result.is_singular:
            var = self.k_fe + np.flatnonzero(self._estimated)
            pcov[np.ix_(var, var)] = np.nan
        return pcov

    def profile_re(
        self,
        re_ix,
        vtype: str = "re",
        num_low: int = 5,
        dist_low: float = 1.0,
        num_high: int = 5,
        dist_high: float = 1.0,
        **fit_kwargs,
    ) -> np.ndarray:
        """Profile log-likelihood of one variance on the data scale.

        Parameters
        ----------
        re_ix
            Index into ``cov_re`` (``vtype="re"``) or name of a variance component
            (``vtype="vc"``).
        vtype
            ``"re"`` (default, may be omitted as in older statsmodels) or ``"vc"``.
        num_low, dist_low, num_high, dist_high
            ``num_low + 1`` equally spaced values from ``estimate - dist_low`` to the
            estimate and ``num_high`` more up to ``estimate + dist_high``.

        Returns
        -------
        numpy.ndarray
            ``(num_low + num_high + 1, 2)``: the variance and the largest log-likelihood of
            any fit with that variance (every other parameter re-estimated).
        """
        if vtype == "re":
            k = int(re_ix)
            if not 0 <= k < self.k_re:
                raise DesignError(f"re_ix must be in 0..{self.k_re - 1}, got {re_ix!r}")
            if k in self._fixed_re:
                raise DesignError(f"the variance of column {k} was held fixed in the fit")
            rows, estimate = self.pmap.variance_row(k), float(self.cov_re.iloc[k, k])
        elif vtype == "vc":
            names = list(self.model.vc_names)
            if re_ix in names:
                j = names.index(re_ix)
            elif isinstance(re_ix, int | np.integer) and 0 <= re_ix < len(names):
                j = int(re_ix)
            else:
                raise DesignError(f"{re_ix!r} is not a variance component (they are {names})")
            if self._held_vc(j):
                raise DesignError(f"the variance component {names[j]!r} was held fixed in the fit")
            rows, estimate = self.pmap.vc_theta[[j]], float(self.vcomp[j])
        else:
            raise DesignError(f"vtype must be 're' or 'vc', got {vtype!r}")
        if estimate - dist_low <= 0:
            raise DesignError(
                "dist_low is too large and would result in a negative variance. "
                "Try a smaller value."
            )
        grid = np.concatenate(
            [
                np.linspace(estimate - dist_low, estimate, num_low + 1),
                np.linspace(estimate, estimate + dist_high, num_high + 1)[1:],
            ]
        )
        engine = self.lmer_result.model
        penalty = None
        if self.penalties is not None:  # statsmodels refits with the penalty
            penalties, pmap = self.penalties, self.pmap

            def penalty(theta: np.ndarray) -> float:
                return 2.0 * penalties.value(gls_beta(engine, theta), pmap.psi(theta))

        return profile_variance(engine, self.reml, rows, self.coordinates, grid, penalty)

    def _held_vc(self, j: int) -> bool:
        if self.constrained is not None:
            return not bool(self.constrained[0].free[self.k_re2 + j])
        return bool(self.fixed[self.pmap.vc_theta[j]])
