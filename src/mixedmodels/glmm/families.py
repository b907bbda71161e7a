"""Response distributions of a GLMM: variance, deviance, log-likelihood, start and checks.

The formulas are R's ``binomial()``, ``poisson()``, ``Gamma()``, ``inverse.gaussian()`` and
MASS's ``negative.binomial(theta)``, so that the Laplace objective is lme4's. Every family
is a frozen object holding its :class:`~mixedmodels.glmm.links.Link`; get one by name with
:func:`get_family` (``"binomial"``, ``"poisson"``, ...) or build it, e.g.
``Binomial(link="probit")``.

Arguments throughout: ``y`` the response (a proportion for binomial), ``mu`` the mean,
``wt`` the prior weights (for binomial the numbers of trials times any user weights) and
``n`` R's binomial ``n`` (trials for a two-column response, else 1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
from scipy import special

from mixedmodels.errors import DesignError
from mixedmodels.glmm.links import Link, get_link

__all__ = [
    "Family",
    "Binomial",
    "Poisson",
    "Gamma",
    "InverseGaussian",
    "NegativeBinomial",
    "FAMILIES",
    "get_family",
]

_LOG_2PI = float(np.log(2.0 * np.pi))


@dataclass(frozen=True)
class Family:
    """Base class: a response distribution with a link. Subclasses set the formulas."""

    link: Link = field(default=None)  # type: ignore[assignment]

    name: ClassVar[str] = "family"
    canonical: ClassVar[str] = "identity"
    links: ClassVar[tuple[str, ...]] = ()
    has_dispersion: ClassVar[bool] = False
    """Whether the family has a scale parameter that lme4 estimates (Gamma, inverse Gaussian)."""

    def __post_init__(self) -> None:
        """Resolve the link (the family's canonical one by default) and check the family has it."""
        link = get_link(self.canonical if self.link is None else self.link)
        if link.name not in self.links:
            raise DesignError(
                f"link {link.name!r} is not available for the {self.name} family; "
                f"links: {', '.join(self.links)}"
            )
        object.__setattr__(self, "link", link)

    # -- formulas (subclasses) ------------------------------------------------------------
    def variance(self, mu: np.ndarray) -> np.ndarray:
        """Variance function ``V(mu)``."""
        raise NotImplementedError

    def dev_resids(self, y, mu, wt) -> np.ndarray:
        """Squared deviance residuals per observation."""
        raise NotImplementedError

    def minus2_loglik(self, y, mu, wt, n, dev: float) -> float:
        """``-2 log p(y | mu)`` as R's ``family$aic(y, n, mu, wt, dev)``."""
        raise NotImplementedError

    def mustart(self, y, wt) -> np.ndarray:
        """Starting means (R's ``initialize``)."""
        raise NotImplementedError

    def check_response(self, y, wt, what: str) -> None:
        """Raise :class:`~mixedmodels.errors.DesignError` naming ``what`` for invalid y."""

    def simulate(self, rng: np.random.Generator, mu, wt, n, dispersion: float) -> np.ndarray:
        """One response drawn at the means ``mu`` (proportions for binomial)."""
        raise NotImplementedError

    def saturated_constant(self, y, wt, n) -> bool:
        """Whether ``-2 log p(y|mu)`` is the deviance plus a constant (then computed once)."""
        return False

    def valid_mu(self, mu: np.ndarray) -> bool:
        """Whether every mean is inside the family's range."""
        return bool(np.all(np.isfinite(mu)) and np.all(mu > 0))

    @property
    def is_canonical(self) -> bool:
        """Whether the link is the family's canonical one."""
        return self.link.name == self.canonical

    def __str__(self) -> str:
        """R's display of the family, ``family(link)``."""
        return f"{self.name}({self.link.name})"


@dataclass(frozen=True)
class Binomial(Family):
    """Binomial: successes out of trials, or 0/1 outcomes."""

    name = "binomial"
    canonical = "logit"
    links = ("logit", "probit", "cloglog", "cauchit", "log")

    def variance(self, mu):
        """``mu (1 - mu)``."""
        return mu * (1.0 - mu)

    def dev_resids(self, y, mu, wt):
        """``2 wt (y log(y / mu) + (1 - y) log((1 - y) / (1 - mu)))``."""
        return (
            2.0 * wt * (special.xlogy(y, y / mu) + special.xlogy(1.0 - y, (1.0 - y) / (1.0 - mu)))
        )

    def minus2_loglik(self, y, mu, wt, n, dev):
        """``-2`` times the binomial log-probability of ``round(m y)`` successes in ``m`` trials.

        ``m`` is the trials ``n`` where given, else the weights; each row is scaled by ``wt / m``.
        """
        m = n if np.any(n > 1) else wt
        k = np.round(m * y)
        size = np.round(m)
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.where(m > 0, wt / m, 0.0)
            log_choose = (
                special.gammaln(size + 1) - special.gammaln(k + 1) - special.gammaln(size - k + 1)
            )
            terms = log_choose + special.xlogy(k, mu) + special.xlog1py(size - k, -mu)
        return float(-2.0 * np.sum(scale * terms))

    def mustart(self, y, wt):
        """``(wt y + 1/2) / (wt + 1)``, as R's ``binomial()$initialize``."""
        return (wt * y + 0.5) / (wt + 1.0)

    def saturated_constant(self, y, wt, n):
        """True when every count of successes is a whole number and the weights are the trials."""
        m = n if np.any(n > 1) else wt
        k = m * y
        return bool(np.all(np.abs(k - np.round(k)) < 1e-8) and np.allclose(wt, m))

    def check_response(self, y, wt, what):
        """Proportions must lie in ``[0, 1]``."""
        if np.any(y < 0) or np.any(y > 1):
            raise DesignError(
                f"binomial response {what} must be in [0, 1] (0/1 outcomes, proportions with "
                "weights= trials, or cbind(successes, failures)); got values outside it"
            )

    def simulate(self, rng, mu, wt, n, dispersion):
        """Successes drawn out of the trials (at least one), as proportions."""
        trials = np.round(np.where(np.any(n > 1), n, wt)).astype(np.int64)
        trials = np.maximum(trials, 1)
        return rng.binomial(trials, mu) / trials

    def valid_mu(self, mu):
        """Every mean strictly inside ``(0, 1)``."""
        return bool(np.all(np.isfinite(mu)) and np.all(mu > 0) and np.all(mu < 1))


@dataclass(frozen=True)
class Poisson(Family):
    """Poisson counts."""

    name = "poisson"
    canonical = "log"
    links = ("log", "identity", "sqrt")

    def variance(self, mu):
        """``mu``."""
        return mu

    def dev_resids(self, y, mu, wt):
        """``2 wt (y log(y / mu) - (y - mu))``."""
        return 2.0 * wt * (special.xlogy(y, y / mu) - (y - mu))

    def minus2_loglik(self, y, mu, wt, n, dev):
        """``-2 sum wt (y log mu - mu - log y!)``."""
        return float(-2.0 * np.sum(wt * (special.xlogy(y, mu) - mu - special.gammaln(y + 1))))

    def mustart(self, y, wt):
        """``y + 0.1``, as R's ``poisson()$initialize``."""
        return y + 0.1

    def saturated_constant(self, y, wt, n):
        """Always: the saturated log-likelihood does not depend on ``mu``."""
        return True

    def check_response(self, y, wt, what):
        """Counts must not be negative."""
        if np.any(y < 0):
            raise DesignError(f"{self.name} response {what} has negative values")

    def simulate(self, rng, mu, wt, n, dispersion):
        """Poisson counts at the means."""
        return rng.poisson(mu).astype(float)


@dataclass(frozen=True)
class Gamma(Family):
    """Gamma: positive continuous responses with constant coefficient of variation."""

    name = "Gamma"
    canonical = "inverse"
    links = ("inverse", "identity", "log")
    has_dispersion = True

    def variance(self, mu):
        """``mu^2``."""
        return mu * mu

    def dev_resids(self, y, mu, wt):
        """``-2 wt (log(y / mu) - (y - mu) / mu)``."""
        return -2.0 * wt * (np.log(y / mu) - (y - mu) / mu)

    def minus2_loglik(self, y, mu, wt, n, dev):
        """``-2`` times the Gamma log-density with the dispersion ``dev / sum(wt)``, plus 2.

        As R's ``Gamma()$aic``, which counts the dispersion as a parameter.
        """
        disp = dev / np.sum(wt)
        shape = 1.0 / disp
        scale = mu * disp
        logpdf = (
            (shape - 1.0) * np.log(y) - y / scale - special.gammaln(shape) - shape * np.log(scale)
        )
        return float(-2.0 * np.sum(logpdf * wt) + 2.0)

    def mustart(self, y, wt):
        """The response itself."""
        return np.asarray(y, dtype=float).copy()

    def check_response(self, y, wt, what):
        """Responses must be positive."""
        if np.any(y <= 0):
            raise DesignError(f"Gamma response {what} must be positive; it has values <= 0")

    def simulate(self, rng, mu, wt, n, dispersion):
        """Gamma draws of shape ``wt / dispersion`` and mean ``mu``."""
        shape = wt / dispersion
        return rng.gamma(shape, mu / shape)


@dataclass(frozen=True)
class InverseGaussian(Family):
    """Inverse Gaussian: positive continuous responses, variance proportional to mu^3."""

    name = "inverse_gaussian"
    canonical = "1/mu^2"
    links = ("1/mu^2", "inverse", "identity", "log")
    has_dispersion = True

    def variance(self, mu):
        """``mu^3``."""
        return mu**3

    def dev_resids(self, y, mu, wt):
        """``wt (y - mu)^2 / (y mu^2)``."""
        return wt * ((y - mu) ** 2) / (y * mu * mu)

    def minus2_loglik(self, y, mu, wt, n, dev):
        """R's ``inverse.gaussian()$aic``.

        ``sum(wt) (log(2 pi dispersion) + 1) + 3 sum(wt log y) + 2``.
        """
        total = float(np.sum(wt))
        disp = dev / total
        return float(
            total * (np.log(disp * 2.0 * np.pi) + 1.0) + 3.0 * np.sum(np.log(y) * wt) + 2.0
        )

    def mustart(self, y, wt):
        """The response itself."""
        return np.asarray(y, dtype=float).copy()

    def check_response(self, y, wt, what):
        """Responses must be positive."""
        if np.any(y <= 0):
            raise DesignError(
                f"inverse Gaussian response {what} must be positive; it has values <= 0"
            )

    def simulate(self, rng, mu, wt, n, dispersion):
        """Wald draws of mean ``mu`` and shape ``wt / dispersion``."""
        return rng.wald(mu, wt / dispersion)


@dataclass(frozen=True)
class NegativeBinomial(Family):
    """Negative binomial counts with shape ``theta`` (variance ``mu + mu^2 / theta``)."""

    theta: float = 1.0
    name = "negative_binomial"
    canonical = "log"
    links = ("log", "identity", "sqrt")

    def __post_init__(self) -> None:
        """Check the link, and that ``theta`` is finite and positive."""
        super().__post_init__()
        if not (np.isfinite(self.theta) and self.theta > 0):
            raise DesignError(f"negative binomial theta must be positive, got {self.theta!r}")

    def variance(self, mu):
        """``mu + mu^2 / theta``."""
        return mu + mu * mu / self.theta

    def dev_resids(self, y, mu, wt):
        """``2 wt (y log(max(y, 1) / mu) - (y + theta) log((y + theta) / (mu + theta)))``."""
        t = self.theta
        return (
            2.0
            * wt
            * (special.xlogy(y, np.maximum(y, 1.0) / mu) - (y + t) * np.log((y + t) / (mu + t)))
        )

    def minus2_loglik(self, y, mu, wt, n, dev):
        """``-2`` times the negative binomial log-probability with shape ``theta``."""
        t = self.theta
        term = (
            (y + t) * np.log(mu + t)
            - special.xlogy(y, mu)
            + special.gammaln(y + 1.0)
            - t * np.log(t)
            + special.gammaln(t)
            - special.gammaln(t + y)
        )
        return float(2.0 * np.sum(term * wt))

    def mustart(self, y, wt):
        """``y``, with ``1/6`` for zero counts (R's ``MASS::negative.binomial``)."""
        return y + (y == 0) / 6.0

    def saturated_constant(self, y, wt, n):
        """Always: for fixed ``theta`` the saturated term does not depend on ``mu``."""
        return True

    def check_response(self, y, wt, what):
        """Counts must not be negative."""
        if np.any(y < 0):
            raise DesignError(f"negative binomial response {what} has negative values")

    def simulate(self, rng, mu, wt, n, dispersion):
        """Negative binomial counts of shape ``theta`` at the means."""
        t = self.theta
        return rng.negative_binomial(t, t / (t + mu)).astype(float)

    def __str__(self) -> str:
        """R's display, ``Negative Binomial(theta)(link)``."""
        return f"Negative Binomial({self.theta:.4g})({self.link.name})"


FAMILIES = {
    "binomial": Binomial,
    "poisson": Poisson,
    "gamma": Gamma,
    "inverse_gaussian": InverseGaussian,
    "inverse.gaussian": InverseGaussian,
    "negative_binomial": NegativeBinomial,
}


def get_family(family: str | Family, link: str | Link | None = None) -> Family:
    """A :class:`Family` from a name and an optional link, or a family object as it is.

    Names: ``"binomial"``, ``"poisson"``, ``"Gamma"``, ``"inverse_gaussian"``,
    ``"negative_binomial"``.

    Raises
    ------
    DesignError
        For an unknown family or a link the family does not have.
    """
    if isinstance(family, Family):
        if link is not None and get_link(link) != family.link:
            raise DesignError(
                f"link={link!r} given with the family object {family}: set the link on it"
            )
        return family
    if isinstance(family, type) and issubclass(family, Family):
        return family(link=link)
    key = str(family).lower()
    if key not in FAMILIES:
        raise DesignError(
            f"unknown family {family!r}; families: binomial, poisson, Gamma, inverse_gaussian, "
            "or a family object (mixedmodels.glmm.families)"
        )
    return FAMILIES[key](link=link)  # type: ignore[arg-type]  # a name: __post_init__ resolves it
