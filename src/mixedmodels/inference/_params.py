"""Variance parameters on lme4's standard-deviation/correlation scale, and back to theta.

lme4 reports (and profiles, and bootstraps) the random-effects covariance as standard
deviations and correlations (``sd_(Intercept)|Subject``, ``cor_Days.(Intercept)|Subject``,
``sigma``); the engine works with theta. Each term's covariance structure
(:mod:`mixedmodels.covariance`) gives its natural parameters, one per theta entry and in
theta's order: for lme4's unstructured terms a diagonal position of lambda holds a standard
deviation and an off-diagonal position ``(i, j)`` the correlation of columns i and j; a
structured term lists its standard deviations, then its correlation parameters (``rho_ar1``,
``rho_cs``, ``cor_lag1_toep``). Sigma comes last.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mixedmodels.terms import ReTerm

__all__ = ["SdCorMap"]


@dataclass(frozen=True)
class _TermMap:
    term: ReTerm
    start: int
    stop: int
    sd: np.ndarray  # which natural parameters are standard deviations


@dataclass(frozen=True, eq=False)
class SdCorMap:
    """The maps between theta and (sd, cor, sigma) for a model's random-effect terms."""

    terms: tuple[ReTerm, ...]

    @property
    def _maps(self) -> tuple[_TermMap, ...]:
        cached = self.__dict__.get("_cached_maps")
        if cached is None:
            cached = tuple(
                _TermMap(
                    term,
                    term.theta_offset,
                    term.theta_offset + term.n_theta,
                    term.covariance.natural_is_sd(),
                )
                for term in self.terms
            )
            object.__setattr__(self, "_cached_maps", cached)
        return cached

    @property
    def names(self) -> tuple[str, ...]:
        """lme4's names (``sd_(Intercept)|Subject``, ``cor_Days.(Intercept)|Subject``, sigma).

        A name that would repeat (two terms of one structure on one factor) gets ``.2``,
        ``.3``... after the factor.
        """
        names: list[str] = []
        seen: dict[str, int] = {}
        for term in self.terms:
            for base in term.covariance.natural_names(term.columns):
                name = f"{base}|{term.group_name}"
                count = seen.get(name, 0) + 1
                seen[name] = count
                names.append(name if count == 1 else f"{name}.{count}")
        names.append("sigma")
        return tuple(names)

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper bounds: [0, inf) for sds and sigma, each correlation's range."""
        pairs = [m.term.covariance.natural_bounds() for m in self._maps]
        lower = np.concatenate([p[0] for p in pairs] + [np.zeros(1)])
        upper = np.concatenate([p[1] for p in pairs] + [np.full(1, np.inf)])
        return lower, upper

    def to_sdcor(self, theta: np.ndarray, sigma: float) -> np.ndarray:
        """Standard deviations and correlations (theta's order) followed by sigma."""
        theta = np.asarray(theta, dtype=float)
        out = np.empty(theta.size + 1)
        for m in self._maps:
            natural = m.term.covariance.natural(theta[m.start : m.stop])
            out[m.start : m.stop] = np.where(m.sd, sigma * natural, natural)
        out[-1] = sigma
        return out

    def to_theta(self, pars: np.ndarray) -> np.ndarray | None:
        """Theta from standard deviations, correlations and sigma (the last entry).

        Returns None when sigma is not positive or a term's correlations do not give a
        positive semi-definite covariance.
        """
        sigma = pars[-1]
        if not sigma > 0:
            return None
        theta = np.empty(pars.size - 1)
        for m in self._maps:
            values = pars[m.start : m.stop]
            relative = np.where(m.sd, values / sigma, values)
            part = m.term.covariance.from_natural(relative)
            if part is None:
                return None
            theta[m.start : m.stop] = part
        return theta
