"""Link functions: ``eta = g(mu)``, its inverse and ``d mu / d eta``, as R's ``make.link``.

Each link is a small frozen object with vectorised numpy methods. The inverse links clamp
where R's do (logit keeps mu inside ``(eps, 1 - eps)``, log keeps mu above the smallest
positive double), so PIRLS never sees mu on the boundary of its family's range.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from mixedmodels.errors import DesignError

__all__ = ["Link", "LINKS", "get_link"]

_EPS = float(np.finfo(float).eps)
_THRESH = -float(np.log(_EPS))  # 36.04: logit's eta beyond which mu is clamped


@dataclass(frozen=True)
class Link:
    """A link function by name; ``linkfun``, ``linkinv``, ``mu_eta`` as R's ``make.link``."""

    name: str

    def linkfun(self, mu: np.ndarray) -> np.ndarray:
        """``eta = g(mu)``."""
        mu = np.asarray(mu, dtype=float)
        name = self.name
        if name == "logit":
            return special.logit(mu)
        if name == "probit":
            return special.ndtri(mu)
        if name == "cloglog":
            return np.log(-np.log1p(-mu))
        if name == "cauchit":
            return np.tan(np.pi * (mu - 0.5))
        if name == "log":
            return np.log(mu)
        if name == "identity":
            return mu.copy()
        if name == "sqrt":
            return np.sqrt(mu)
        if name == "inverse":
            return 1.0 / mu
        return 1.0 / (mu * mu)  # "1/mu^2"

    def linkinv(self, eta: np.ndarray) -> np.ndarray:
        """``mu = g^-1(eta)``."""
        eta = np.asarray(eta, dtype=float)
        name = self.name
        if name == "logit":
            return special.expit(np.clip(eta, -_THRESH, _THRESH))
        if name == "probit":
            bound = -special.ndtri(_EPS)
            return special.ndtr(np.clip(eta, -bound, bound))
        if name == "cloglog":
            return np.clip(-np.expm1(-np.exp(eta)), _EPS, 1.0 - _EPS)
        if name == "cauchit":
            bound = -np.tan(np.pi * (_EPS - 0.5))
            return 0.5 + np.arctan(np.clip(eta, -bound, bound)) / np.pi
        if name == "log":
            return np.maximum(np.exp(eta), _EPS)
        if name == "identity":
            return eta.copy()
        if name == "sqrt":
            return eta * eta
        if name == "inverse":
            return 1.0 / eta
        return 1.0 / np.sqrt(eta)

    def mu_eta(self, eta: np.ndarray) -> np.ndarray:
        """``d mu / d eta`` at ``eta``."""
        eta = np.asarray(eta, dtype=float)
        name = self.name
        if name == "logit":
            e = np.exp(-np.abs(eta))
            return np.maximum(e / (1.0 + e) ** 2, _EPS)
        if name == "probit":
            return np.maximum(np.exp(-0.5 * eta * eta) / np.sqrt(2.0 * np.pi), _EPS)
        if name == "cloglog":
            eta = np.minimum(eta, 700.0)
            return np.maximum(np.exp(eta) * np.exp(-np.exp(eta)), _EPS)
        if name == "cauchit":
            return np.maximum(1.0 / (np.pi * (1.0 + eta * eta)), _EPS)
        if name == "log":
            return np.maximum(np.exp(eta), _EPS)
        if name == "identity":
            return np.ones_like(eta)
        if name == "sqrt":
            return 2.0 * eta
        if name == "inverse":
            return -1.0 / (eta * eta)
        return -1.0 / (2.0 * eta**1.5)

    def valid_eta(self, eta: np.ndarray) -> bool:
        """Whether every ``eta`` is in the link's domain."""
        if self.name in ("inverse", "1/mu^2"):
            return bool(np.all(eta != 0) and np.all(np.isfinite(eta)))
        if self.name == "sqrt":
            return bool(np.all(eta > 0))
        return bool(np.all(np.isfinite(eta)))

    def __str__(self) -> str:
        """The link's R name."""
        return self.name


LINKS: tuple[str, ...] = (
    "logit",
    "probit",
    "cloglog",
    "cauchit",
    "log",
    "identity",
    "sqrt",
    "inverse",
    "1/mu^2",
)
_ALIASES = {"inverse_squared": "1/mu^2", "inverse_square": "1/mu^2"}


def get_link(link: str | Link) -> Link:
    """The :class:`Link` of a name (``"logit"``, ``"log"``, ...) or the link itself."""
    if isinstance(link, Link):
        return link
    key = _ALIASES.get(str(link), str(link))
    if key not in LINKS:
        raise DesignError(f"unknown link {link!r}; links: {', '.join(LINKS)}")
    return Link(key)
