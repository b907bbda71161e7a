"""Variance parameters on lme4's standard-deviation/correlation scale, and back to theta.

lme4 reports (and profiles, and bootstraps) the random-effects covariance as standard
deviations and correlations (``sd_(Intercept)|Subject``, ``cor_Days.(Intercept)|Subject``,
``sigma``); the engine works with theta, the lower triangles of the relative covariance
factors lambda. Both vectors share one order: term after term, each term's lower triangle
column by column, a diagonal position holding a standard deviation and an off-diagonal
position ``(i, j)`` the correlation of columns i and j. Sigma comes last.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mixedmodels.terms import ReTerm

__all__ = ["SdCorMap"]


@dataclass(frozen=True)
class _TermMap:
    size: int
    start: int
    stop: int
    rows: np.ndarray
    cols: np.ndarray
    diagonal: np.ndarray


@dataclass(frozen=True, eq=False)
class SdCorMap:
    """The maps between theta and (sd, cor, sigma) for a model's random-effect terms."""

    terms: tuple[ReTerm, ...]

    @property
    def _maps(self) -> tuple[_TermMap, ...]:
        cached = self.__dict__.get("_cached_maps")
        if cached is None:
            out = []
            for term in self.terms:
                rows, cols = term.theta_positions()
                out.append(
                    _TermMap(
                        term.size,
                        term.theta_offset,
                        term.theta_offset + term.n_theta,
                        rows,
                        cols,
                        rows == cols,
                    )
                )
            cached = tuple(out)
            object.__setattr__(self, "_cached_maps", cached)
        return cached

    @property
    def names(self) -> tuple[str, ...]:
        """lme4's names (``sd_(Intercept)|Subject``, ``cor_Days.(Intercept)|Subject``, sigma)."""
        names = []
        for term in self.terms:
            rows, cols = term.theta_positions()
            for r, c in zip(rows, cols, strict=True):
                if r == c:
                    names.append(f"sd_{term.columns[r]}|{term.group_name}")
                else:
                    names.append(f"cor_{term.columns[r]}.{term.columns[c]}|{term.group_name}")
        names.append("sigma")
        return tuple(names)

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper bounds: [0, inf) for sds and sigma, [-1, 1] for correlations."""
        diagonal = np.concatenate([m.diagonal for m in self._maps] + [np.ones(1, bool)])
        return np.where(diagonal, 0.0, -1.0), np.where(diagonal, np.inf, 1.0)

    def to_sdcor(self, theta: np.ndarray, sigma: float) -> np.ndarray:
        """Standard deviations and correlations (theta's order) followed by sigma."""
        theta = np.asarray(theta, dtype=float)
        out = np.empty(theta.size + 1)
        for m in self._maps:
            values = theta[m.start : m.stop]
            if m.size == 1:
                out[m.start] = sigma * abs(values[0])
                continue
            lam = np.zeros((m.size, m.size))
            lam[m.rows, m.cols] = values
            cov = lam @ lam.T
            sd = np.sqrt(np.diag(cov))
            with np.errstate(invalid="ignore", divide="ignore"):
                cor = cov / np.outer(sd, sd)
            out[m.start : m.stop] = np.where(m.diagonal, sigma * sd[m.rows], cor[m.rows, m.cols])
        out[-1] = sigma
        return out

    def to_theta(self, pars: np.ndarray) -> np.ndarray | None:
        """Theta from standard deviations, correlations and sigma (the last entry).

        Returns None when sigma is not positive or a term's correlations do not form a
        positive-definite matrix.
        """
        sigma = pars[-1]
        if not sigma > 0:
            return None
        theta = np.empty(pars.size - 1)
        for m in self._maps:
            values = pars[m.start : m.stop]
            if m.size == 1:
                theta[m.start] = values[0] / sigma
            elif m.size == 2:
                s0, r, s1 = values / np.array([sigma, 1.0, sigma])
                if not -1.0 < r < 1.0:
                    return None
                theta[m.start : m.stop] = (s0, s1 * r, s1 * np.sqrt(1.0 - r * r))
            else:
                off = ~m.diagonal
                corr = np.eye(m.size)
                corr[m.rows[off], m.cols[off]] = values[off]
                corr[m.cols[off], m.rows[off]] = values[off]
                try:
                    chol = np.linalg.cholesky(corr)
                except np.linalg.LinAlgError:
                    return None
                sd = np.empty(m.size)
                sd[m.rows[m.diagonal]] = values[m.diagonal] / sigma
                theta[m.start : m.stop] = (sd[:, None] * chol)[m.rows, m.cols]
        return theta
