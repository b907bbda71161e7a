"""The two-stage fit of a GLMM and its Newton polish (functions of the model).

Stage one optimises theta alone (lme4's ``nAGQ = 0``), beta and the modes from PIRLS; stage
two the Laplace or quadrature objective over theta and beta together, beta whitened by stage
one's covariance; a finite-difference Newton polish then gives the Hessian from which the fixed
effects' covariance is read. :class:`~mixedmodels.glmm.model.GeneralizedLinearMixedModel`
calls :func:`fit_glmm`.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from mixedmodels.errors import (
    CompleteSeparationWarning,
    DesignError,
    FittingError,
)
from mixedmodels.finite_differences import hessian, relative_steps
from mixedmodels.glmm.mode import Mode
from mixedmodels.glmm.optimizer import FD_STEP, bobyqa
from mixedmodels.glmm.pirls import laplace_value, pirls, with_engine
from mixedmodels.glmm.quadrature import agq_value
from mixedmodels.optimize import OptSummary

if TYPE_CHECKING:
    from mixedmodels.glmm.model import GeneralizedLinearMixedModel


DEFAULT_GLMM_CONTROL: dict[str, float | int | bool] = {
    "ftol_abs": 1e-5,  # BOBYQA's tolerance on -2 log L (the Newton polish goes further)
    "xtol_abs": 1e-8,
    "maxeval": 100_000,
    "theta_step": 0.15,  # initial trust region: relative to theta (of scaled columns) ...
    "theta_step_floor": 0.1,
    "beta_step": 0.25,  # ... and in standard errors of stage one's beta
    "gradient_tolerance": 2e-3,  # Newton step (relative gradient) above which we warn
    "check_convergence": True,
}


NEWTON_ACCEPT = 0.02  # a successful Newton step this small (in standard errors) ends the polish

SEPARATION_MU = 1e-8  # GLM means this close to 0 or 1 trigger the separation check


@dataclass
class WarmStart:
    """The last mode, the warm start of the next PIRLS (not shared across threads)."""

    u: tuple[np.ndarray, ...] | None = None
    beta: np.ndarray | None = None


def fit_glmm(model: GeneralizedLinearMixedModel, nAGQ, start, control):
    """The fit of ``model``: both stages, the polish, and the result.

    See :meth:`GeneralizedLinearMixedModel.fit`.
    """
    n_agq = model._check_agq(nAGQ)
    ctl = {**DEFAULT_GLMM_CONTROL, **(control or {})}
    unknown = set(ctl) - set(DEFAULT_GLMM_CONTROL)
    if unknown:
        raise DesignError(f"unknown control setting(s): {', '.join(sorted(unknown))}")
    start = dict(start or {})
    bad = set(start) - {"theta", "fixef"}
    if bad:
        raise DesignError(f"start takes 'theta' and 'fixef', got {', '.join(sorted(bad))}")
    began = time.perf_counter()
    lower = model.lower_bounds
    if start.get("theta") is not None:
        theta0 = np.asarray(start["theta"], dtype=float)
        if theta0.shape != (model.n_theta,):
            raise DesignError(f"start theta must have {model.n_theta} entries, got {theta0.shape}")
        x0 = model.scaling.to_scaled(theta0)
    else:
        x0 = model.start_theta()
    glm_beta = model.glm_beta
    # stage one: theta alone, beta from PIRLS
    warm = WarmStart(beta=glm_beta.copy())
    if start.get("fixef") is not None:
        warm.beta = np.asarray(start["fixef"], dtype=float)

    def stage_one(x: np.ndarray) -> float:
        try:
            mode = model._mode(model.lambdas_scaled(x), None, True, warm)
        except FittingError:
            return np.inf
        return laplace_value(model.problem, mode)

    theta_step = float(ctl["theta_step"]) * np.maximum(np.abs(x0), float(ctl["theta_step_floor"]))
    try:
        x1, f1, evals1, status = bobyqa(
            stage_one,
            x0,
            lower,
            theta_step,
            ftol_abs=1e-4 if n_agq else float(ctl["ftol_abs"]),
            xtol_abs=float(ctl["xtol_abs"]),
            maxeval=int(ctl["maxeval"]),
        )
    except FittingError as exc:
        separated = model.__dict__.get("_separated")
        if separated:
            raise FittingError(
                f"cannot fit: the fixed effect(s) {', '.join(separated)} completely "
                "separate the outcomes (their estimates are infinite)"
            ) from exc
        raise
    mode1 = model._mode_general(
        model.lambdas_scaled(x1), warm.beta, True, WarmStart(u=warm.u, beta=warm.beta)
    )
    beta1 = mode1.beta
    messages: list[str] = []
    if n_agq == 0:
        x, fmin, evaluations, checks = x1, f1, evals1, 0
        warm_u = warm.u
        beta = beta1
        hessian_vcov = None
        theta = model.scaling.to_theta(x)
    else:
        cov1 = mode1.solution.beta_cov_unscaled
        try:
            C = np.linalg.cholesky(cov1) if cov1.size else np.zeros((0, 0))
        except np.linalg.LinAlgError:
            C = np.diag(np.sqrt(np.maximum(np.diag(cov1), 1e-12)))
        k = x1.size
        warm2 = WarmStart(u=mode1.u)

        def stage_two(z: np.ndarray) -> float:
            lams = model.lambdas_scaled(z[:k])
            b = beta1 + C @ z[k:]
            try:
                mode = model._mode(lams, b, False, warm2)
            except FittingError:
                return np.inf
            if n_agq > 1:
                return agq_value(model.problem, mode, float(lams[0][0, 0]), n_agq)
            return laplace_value(model.problem, mode)

        z0 = np.concatenate([x1, np.zeros(model.n_fixed)])
        lower2 = np.concatenate([lower, np.full(model.n_fixed, -np.inf)])
        step2 = np.concatenate(
            [
                float(ctl["theta_step"]) * np.maximum(np.abs(x1), float(ctl["theta_step_floor"])),
                np.full(model.n_fixed, float(ctl["beta_step"])),
            ]
        )
        z, fmin, evals2, status = bobyqa(
            stage_two,
            z0,
            lower2,
            step2,
            ftol_abs=float(ctl["ftol_abs"]),
            xtol_abs=float(ctl["xtol_abs"]),
            maxeval=int(ctl["maxeval"]),
        )
        evaluations = evals1 + evals2
        checks = 0
        hessian_vcov = None
        if ctl["check_convergence"]:
            z, fmin, hessian_vcov, more, messages = _polish(
                model, stage_two, z, fmin, lower2, C, k, float(ctl["gradient_tolerance"])
            )
            checks = more
        x = z[:k]
        beta = beta1 + C @ z[k:]
        warm_u = warm2.u
        theta = model.scaling.to_theta(x)
    seconds = time.perf_counter() - began
    summary = OptSummary(
        initial=tuple(model.scaling.to_theta(x0)),
        final=tuple(theta),
        fmin=float(fmin),
        evaluations=int(evaluations),
        optimizer="bobyqa",
        return_value=status,
        seconds=seconds,
        messages=tuple(messages),
        check_evaluations=int(checks),
    )
    return model._result(theta, beta, n_agq, summary, hessian_vcov, warm_u)


def _polish(model: GeneralizedLinearMixedModel, objective, z, fmin, lower, C, k, tolerance):
    """Newton steps from finite differences; the Hessian's beta covariance."""
    messages: list[str] = []
    total = 0
    hessian_vcov = None
    for _ in range(3):
        free = ~(np.isfinite(lower) & (z - lower < 1e-4))
        # off-diagonal curvature from one corner per pair (error O(h), about 1e-3 of the
        # curvature: ample for the Newton step and the standard errors)
        grad, hess = hessian(objective, z, relative_steps(z, FD_STEP), fmin, free=free)
        total += 2 * grad.size + grad.size * (grad.size - 1) // 2
        try:
            chol = np.linalg.cholesky(hess)
        except np.linalg.LinAlgError:
            eig = np.linalg.eigvalsh(hess)
            messages = [
                "Hessian of the objective is not positive definite at the optimum "
                f"(smallest eigenvalue {eig.min():.3g}): the fit may not have converged"
            ]
            break
        newton = np.linalg.solve(chol.T, np.linalg.solve(chol, grad))
        inverse = np.linalg.inv(hess)
        fixed = np.flatnonzero(free) >= k
        cov_delta = 2.0 * inverse[np.ix_(fixed, fixed)]
        hessian_vcov = C @ cov_delta @ C.T if C.size else np.zeros((0, 0))
        trial = z.copy()
        trial[free] -= newton
        trial = np.maximum(trial, lower)
        value = objective(trial)
        total += 1
        worst = float(np.max(np.abs(newton))) if newton.size else 0.0
        improved = np.isfinite(value) and value < fmin
        if improved:
            z, fmin = trial, value
        # Newton converges quadratically: after a step of at most NEWTON_ACCEPT the
        # remaining relative gradient is of order its square, far below the tolerance
        if worst <= tolerance or (improved and worst <= NEWTON_ACCEPT):
            messages = []
            break
        messages = [
            f"model failed to converge: relative gradient {worst:.3g} > tolerance {tolerance:g}"
        ]
    return z, fmin, hessian_vcov, total, messages


def separation_check(model: GeneralizedLinearMixedModel, force: bool = False) -> bool:
    """Warn, naming the fixed effects, when they separate a binomial outcome.

    Run when the GLM's means come within :data:`SEPARATION_MU` of 0 or 1 (or, with
    ``force``, when the GLM did not converge); returns whether separation was found.
    """
    from mixedmodels.glmm.separation import separating_effects

    if model.family.name != "binomial":
        return False
    glm = model.__dict__.get("_glm")
    if not force:
        if glm is None:
            return False
        mu = glm.mu
        if not (np.any(mu < SEPARATION_MU) or np.any(mu > 1 - SEPARATION_MU)):
            return False
    names = separating_effects(model.problem.X, model.problem.y, model.problem.prior_weights)
    found = names is not None and len(names) > 0
    if found:
        labels = [model.design.fixed_names[j] for j in names]  # type: ignore[union-attr]
        model.__dict__["_separated"] = labels
        warnings.warn(
            "complete separation: the fixed effect(s) "
            f"{', '.join(labels)} separate the outcomes, so their estimates run off to "
            "+-infinity (and their standard errors are meaningless); remove or merge them, "
            "or use a penalised fit",
            CompleteSeparationWarning,
            stacklevel=5,
        )
    return found


def glm_fit(model: GeneralizedLinearMixedModel) -> Mode:
    """The GLM without random effects (theta = 0) by IRLS: the fixed effects PIRLS starts from.

    Where IRLS fails, a separation check (estimates running off) or a restart from the mean;
    the mode is remembered on the model (``glm_beta``).
    """
    problem = model.problem
    fam = model.family
    mustart = fam.mustart(problem.y, problem.prior_weights)
    eta0 = fam.link.linkfun(mustart) - problem.offset
    X = problem.X
    beta0 = np.linalg.lstsq(X, eta0, rcond=None)[0] if X.shape[1] else np.zeros(0)
    zero = [np.zeros((b.size, b.size)) for b in model.design.blocks]
    try:
        glm = with_engine(problem, pirls(problem, zero, beta0, joint=True), zero, True)
    except FittingError:
        if separation_check(model, force=True):  # estimates running off: a start anyway
            return pirls(
                problem, zero, beta0, joint=True, max_iterations=25, strict=False, general=True
            )
        glm = None
    if glm is not None:
        model.__dict__["_glm"] = glm
        separation_check(
            model,
        )
        return glm
    try:
        return pirls(problem, zero, beta0, joint=True, general=True)
    except FittingError:
        mean = np.full(problem.n, float(np.average(mustart, weights=problem.prior_weights)))
        beta0 = np.linalg.lstsq(X, fam.link.linkfun(mean) - problem.offset, rcond=None)[0]
        return pirls(problem, zero, beta0, joint=True, general=True)
