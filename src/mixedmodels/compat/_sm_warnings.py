"""The warnings of ``MixedLM`` and ``MixedLM.fit``, as statsmodels emits them.

statsmodels 0.15 warns in ``MixedLM.fit`` when

* an argument is not one of its optimiser's (``FutureWarning``: "Argument(s) ... not used by
  MixedLM.fit. Future versions will raise on these arguments.");
* ``niter_sa > 0`` (``ValueWarning``: "niter_sa is currently ignored");
* its optimiser fails (``ConvergenceWarning``: "MixedLM optimization failed, ...");
* the estimate may be on the boundary (``ConvergenceWarning``: "The MLE may be on the
  boundary of the parameter space.");
* the random-effects covariance is singular (``SingularMatrixWarning``: "The random effects
  covariance matrix is singular.");
* its Hessian is not negative definite (``ConvergenceWarning``: "The Hessian matrix at the
  estimated parameter values is not positive definite.");

and ``MixedLM(..., exog_vc=dict)`` emits ``FutureWarning`` ("Using deprecated variance
components format"). The facade emits the same messages under the same conditions, judged
on its own fit: a convergence warning only when the engine's optimiser or its convergence
check (gradient and Hessian at the optimum) fails, not because statsmodels' optimiser would
(it stops short on fits the engine solves); the boundary warning when the fit is singular
(a standard deviation of the random effects at zero, or a correlation at +-1, the engine's
``is_singular``), rather than statsmodels' "a variance below 0.01 in the data's units",
which depends on the units of the response. The classes are statsmodels' own (from
``statsmodels.tools.sm_exceptions``) when statsmodels is installed, combined with the
engine's (:class:`~mixedmodels.errors.ConvergenceWarning`,
:class:`~mixedmodels.errors.SingularFitWarning`), so that a filter on either silences them.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from functools import cache

import numpy as np

from mixedmodels._warn import warn
from mixedmodels.control import SINGULAR_TOLERANCE
from mixedmodels.errors import ArgumentError, ConvergenceWarning, SingularFitWarning

__all__ = [
    "FIT_KWARGS",
    "BOUNDARY",
    "SINGULAR_COV_RE",
    "HESSIAN",
    "warning_class",
    "check_fit_arguments",
    "deprecated_vc_format",
    "reissue_engine_warnings",
]

FIT_KWARGS = ("gtol", "maxiter", "eps", "maxcor", "ftol", "tol", "disp", "maxls")
"""The optimiser arguments statsmodels' ``MixedLM.fit`` accepts (the facade ignores them)."""

BOUNDARY = "The MLE may be on the boundary of the parameter space."
SINGULAR_COV_RE = "The random effects covariance matrix is singular."
HESSIAN = "The Hessian matrix at the estimated parameter values is not positive definite."

_OURS: dict[str, type[Warning]] = {
    "ConvergenceWarning": ConvergenceWarning,
    "BoundaryWarning": SingularFitWarning,
    "SingularMatrixWarning": SingularFitWarning,
    "ValueWarning": UserWarning,
}
_THEIRS = {
    "ConvergenceWarning": "ConvergenceWarning",
    "BoundaryWarning": "ConvergenceWarning",
    "SingularMatrixWarning": "SingularMatrixWarning",
    "ValueWarning": "ValueWarning",
}


@cache
def warning_class(kind: str) -> type[Warning]:
    """The class of a facade warning: statsmodels' and ours when statsmodels is importable.

    ``kind`` is ``"ConvergenceWarning"``, ``"BoundaryWarning"`` (statsmodels'
    ConvergenceWarning and our SingularFitWarning), ``"SingularMatrixWarning"`` or
    ``"ValueWarning"``. statsmodels is imported at the first warning, not with the facade.
    """
    ours = _OURS[kind]
    try:
        from statsmodels.tools import sm_exceptions
    except ImportError:
        return ours
    theirs = getattr(sm_exceptions, _THEIRS[kind])
    name = "ConvergenceWarning" if kind == "BoundaryWarning" else kind
    bases = (theirs,) if issubclass(theirs, ours) else (theirs, ours)
    return type(name, bases, {"__module__": __name__, "__doc__": f"statsmodels' {name}."})


def check_fit_arguments(method, niter_sa: int, do_cg: bool, fit_kwargs: dict) -> None:
    """statsmodels' checks of ``fit``'s arguments: an error for a Newton method, warnings."""
    methods = [method] if isinstance(method, str) else list(method or [])
    for name in methods:
        if str(name).lower() in ("newton", "ncg"):
            raise ArgumentError(f"method {name} not available for MixedLM")
    unused = sorted(set(fit_kwargs) - set(FIT_KWARGS))
    if unused:
        ending = "s" if len(unused) > 1 else ""
        warn(
            f"Argument{ending} {', '.join(unused)} not used by MixedLM.fit. Future versions "
            "will raise on these arguments.",
            FutureWarning,
        )
    if do_cg and niter_sa > 0:
        warn("niter_sa is currently ignored", warning_class("ValueWarning"))


def deprecated_vc_format() -> None:
    """statsmodels' FutureWarning for ``exog_vc`` given as a dict of dicts."""
    warn("Using deprecated variance components format", FutureWarning)


def cov_re_singular(pmap, theta: np.ndarray) -> bool:
    """Whether ``cov_re`` is singular: a diagonal entry of its factor Lambda (nearly) zero."""
    theta = np.asarray(theta, dtype=float)
    for term in pmap.re_terms:
        diagonal = term.offset + np.flatnonzero(term.rows == term.cols)
        if np.any(np.abs(theta[diagonal]) < SINGULAR_TOLERANCE):
            return True
    return False


def reissue_engine_warnings(caught: Sequence[warnings.WarningMessage], fit, pmap) -> None:
    """The engine's warnings of a facade fit as statsmodels' (others pass through as they are).

    ``caught`` are the warnings recorded while the engine fitted; ``fit`` is its LmerResult.
    """
    for item in caught:
        message = str(item.message)
        category = item.category
        if issubclass(category, SingularFitWarning):
            continue  # judged below from the fit itself
        if issubclass(category, ConvergenceWarning):
            convergence = warning_class("ConvergenceWarning")
            if "not positive definite" in message:
                warn(f"{HESSIAN} ({message})", convergence)
            else:
                warn(f"MixedLM optimization failed: {message}", convergence)
            continue
        warn(message, category)
    if fit.is_singular:  # statsmodels' order: the singular matrix, then the boundary
        if pmap.k_re and cov_re_singular(pmap, fit.theta):
            warn(SINGULAR_COV_RE, warning_class("SingularMatrixWarning"))
        warn(BOUNDARY, warning_class("BoundaryWarning"))
