"""Penalised iteratively re-weighted least squares: the conditional modes of a GLMM.

For given lambdas (theta) and fixed effects beta, the conditional mode ``u*`` of the spherical
random effects minimises the penalised deviance ``sum d(y, mu(u)) + |u|^2`` with
``eta = X beta + offset + Z Lambda u``. Every iteration is a weighted linear mixed model on the
blocked engine: working weights ``w = pw mu'^2 / V(mu)`` and working response
``(eta - X beta - offset) + (y - mu) / mu'`` give the sufficient statistics
(:func:`~mixedmodels.linalg.reweight.reweighted_workspace`), the blocked factor of
``Lambda' Z' W Z Lambda + I`` (:func:`~mixedmodels.linalg.update_factor`) and the Newton step
(:func:`~mixedmodels.linalg.solve_at_optimum`). Steps that do not lower the penalised
deviance are halved. With ``joint=True`` beta is updated with u (X in the statistics): the
PIRLS of lme4's ``nAGQ = 0`` and of its first stage.

The loop stops when the step is negligible; the factor of that last iteration is at the
returned mode, so the Laplace objective's log-determinant is exactly the mode's (a smooth
function of the parameters, which the derivative-free optimiser needs).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mixedmodels.errors import FittingError
from mixedmodels.glmm import kernels
from mixedmodels.glmm.blocked_pirls import blocked_mode
from mixedmodels.glmm.families import FAMILIES, Family
from mixedmodels.glmm.mode import STEP_TOLERANCE, Mode
from mixedmodels.linalg import update_factor
from mixedmodels.linalg.factor import BlockedFactor, log_determinants
from mixedmodels.linalg.reweight import ReweightPlan, reweight_plan, reweighted_workspace
from mixedmodels.linalg.solve import solve_at_optimum

__all__ = ["GlmmProblem", "pirls", "laplace_value", "with_engine"]

MAX_ITERATIONS = 100
MAX_HALVINGS = 30


@dataclass(frozen=True, eq=False)
class GlmmProblem:
    """What PIRLS needs of a model: family, response, X, blocks and the engine's plans.

    Build with :meth:`of`.
    """

    family: Family
    y: np.ndarray
    trials: np.ndarray
    prior_weights: np.ndarray
    offset: np.ndarray
    X: np.ndarray
    blocks: tuple[tuple[np.ndarray, np.ndarray, int], ...]
    plan_u: ReweightPlan  # Z only: beta held fixed
    plan_joint: ReweightPlan  # Z and X: beta updated with u
    saturated: float | None = None  # -2 log p(y|mu) minus the deviance, when constant in mu
    codes: tuple[int, int, float] | None = None  # compiled loops' family, link, NB theta

    @classmethod
    def of(cls, family, y, trials, prior_weights, offset, X, blocks, *, plans=None) -> GlmmProblem:
        """The problem with its two reweighting plans (``plans``: reuse those)."""
        blocks = tuple(blocks)
        n = X.shape[0]
        y = np.asarray(y, float)
        trials = np.asarray(trials, float)
        prior_weights = np.asarray(prior_weights, float)
        saturated = None
        if family.saturated_constant(y, prior_weights, trials):
            mu = family.mustart(y, prior_weights)
            dev = float(np.sum(family.dev_resids(y, mu, prior_weights)))
            saturated = family.minus2_loglik(y, mu, prior_weights, trials, dev) - dev
        return cls(
            family=family,
            y=y,
            trials=trials,
            prior_weights=prior_weights,
            offset=np.asarray(offset, float),
            X=np.asarray(X, float),
            blocks=blocks,
            plan_u=plans[0] if plans else reweight_plan(blocks, np.zeros((n, 0))),
            plan_joint=plans[1] if plans else reweight_plan(blocks, X),
            saturated=saturated,
            codes=kernel_codes(family),
        )

    @property
    def n(self) -> int:
        """Number of observations."""
        return self.X.shape[0]

    def random_part(self, u: tuple[np.ndarray, ...], lambdas) -> np.ndarray:
        """``Z Lambda u`` per row."""
        out = np.zeros(self.n)
        for (codes, matrix, _), uk, lam in zip(self.blocks, u, lambdas, strict=True):
            b = uk @ lam.T
            if matrix.shape[1] == 1:
                out += matrix[:, 0] * b[codes, 0]
            else:
                out += np.einsum("nk,nk->n", matrix, b[codes])
        return out

    def deviance_terms(self, eta: np.ndarray):
        """mu, the deviance residuals' sum, or None where mu leaves the family's range."""
        if self.codes is not None:
            mu = np.empty_like(eta)
            fam, link, theta = self.codes
            dev = kernels.means_and_deviance(eta, self.y, self.prior_weights, fam, link, theta, mu)
            return None if not np.isfinite(dev) else (mu, float(dev))
        family = self.family
        if not family.link.valid_eta(eta):
            return None
        mu = family.link.linkinv(eta)
        if not family.valid_mu(mu):
            return None
        dev = float(np.sum(family.dev_resids(self.y, mu, self.prior_weights)))
        if not np.isfinite(dev):
            return None
        return mu, dev

    def working_system(self, eta: np.ndarray, mu: np.ndarray):
        """PIRLS's working weights ``pw mu'^2 / V(mu)`` and residuals ``(y - mu) / mu'``."""
        if self.codes is not None:
            weights, working = np.empty_like(eta), np.empty_like(eta)
            fam, link, theta = self.codes
            kernels.working_system(
                eta, mu, self.y, self.prior_weights, fam, link, theta, weights, working
            )
            return weights, working
        family = self.family
        mu_eta = family.link.mu_eta(eta)
        weights = self.prior_weights * mu_eta * mu_eta / family.variance(mu)
        return weights, (self.y - mu) / mu_eta

    def minus2_loglik(self, mu: np.ndarray, dev: float) -> float:
        """``-2 log p(y | mu)``."""
        if self.saturated is not None:  # the deviance plus the saturated model's -2 log L
            return dev + self.saturated
        return self.family.minus2_loglik(self.y, mu, self.prior_weights, self.trials, dev)


def _one_block(problem: GlmmProblem, lam, beta, u0, max_iterations) -> Mode | None:
    """PIRLS for one block with beta fixed in one compiled loop; None where it cannot start.

    See :func:`mixedmodels.glmm.kernels.pirls_one_block`.
    """
    codes, Z, levels = problem.blocks[0]
    s = Z.shape[1]
    fixed = problem.X @ beta + problem.offset if problem.X.shape[1] else problem.offset
    fixed = np.ascontiguousarray(fixed, dtype=float)
    lam = np.ascontiguousarray(lam, dtype=float)
    eta, mu = np.empty(problem.n), np.empty(problem.n)
    L11 = np.zeros((levels, s, s))
    assert problem.codes is not None  # set by GlmmProblem for every family
    fam, link, theta = problem.codes
    for start in ((u0[0] if u0 is not None else None), None):
        u = np.zeros((levels, s)) if start is None else np.array(start, dtype=float)
        iterations, logdet, dev, pen = kernels.pirls_one_block(
            fixed,
            problem.plan_u.codes1,
            problem.plan_u.Z1,
            lam,
            u,
            problem.y,
            problem.prior_weights,
            fam,
            link,
            theta,
            STEP_TOLERANCE,
            max_iterations,
            eta,
            mu,
            L11,
        )
        if iterations > max_iterations:
            raise FittingError(f"PIRLS did not converge in {max_iterations} iterations")
        if iterations > 0:
            return Mode(
                u=(u,),
                beta=np.asarray(beta, dtype=float),
                eta=eta,
                mu=mu,
                deviance=float(dev),
                penalty=float(pen),
                logdet_z=float(logdet),
                logdet_x=0.0,
                factor=BlockedFactor(L11=L11, Lrr=np.zeros((1, 1))),
                stats=None,  # type: ignore[arg-type]  # not formed by the compiled loop
                solution=None,  # type: ignore[arg-type]
                iterations=int(iterations),
            )
        if start is None:
            break
    return None


def _one_block_joint(problem: GlmmProblem, lam, beta, u0, max_iterations) -> Mode | None:
    """Joint (u, beta) PIRLS for one block in one compiled loop; None where it cannot start.

    See :func:`mixedmodels.glmm.kernels.pirls_one_block_joint`.
    """
    codes, Z, levels = problem.blocks[0]
    s = Z.shape[1]
    lam = np.ascontiguousarray(lam, dtype=float)
    X = problem.plan_joint.X
    eta, mu = np.empty(problem.n), np.empty(problem.n)
    L11 = np.zeros((levels, s, s))
    assert problem.codes is not None  # set by GlmmProblem for every family
    fam, link, theta = problem.codes
    for start in ((u0[0] if u0 is not None else None), None):
        u = np.zeros((levels, s)) if start is None else np.array(start, dtype=float)
        b = np.array(beta, dtype=float)
        iterations, logdet_z, logdet_x, dev, pen = kernels.pirls_one_block_joint(
            problem.offset,
            problem.plan_u.codes1,
            problem.plan_u.Z1,
            X,
            lam,
            u,
            b,
            problem.y,
            problem.prior_weights,
            fam,
            link,
            theta,
            STEP_TOLERANCE,
            max_iterations,
            eta,
            mu,
            L11,
        )
        if iterations > max_iterations:
            raise FittingError(f"PIRLS did not converge in {max_iterations} iterations")
        if iterations == 0:
            raise FittingError("PIRLS: the weighted system is singular")
        if iterations > 0:
            return Mode(
                u=(u,),
                beta=b,
                eta=eta,
                mu=mu,
                deviance=float(dev),
                penalty=float(pen),
                logdet_z=float(logdet_z),
                logdet_x=float(logdet_x),
                factor=BlockedFactor(L11=L11, Lrr=np.zeros((1, 1))),
                stats=None,  # type: ignore[arg-type]  # not formed by the compiled loop
                solution=None,  # type: ignore[arg-type]
                iterations=int(iterations),
            )
        if start is None:
            break
    return None


def kernel_codes(family: Family) -> tuple[int, int, float] | None:
    """The compiled loops' codes of a family and link (None: use the numpy methods)."""
    fam = kernels.FAMILY_CODES.get(family.name)
    link = kernels.LINK_CODES.get(family.link.name)
    known = type(family) in set(FAMILIES.values())
    if fam is None or link is None or not known:
        return None
    return fam, link, float(getattr(family, "theta", 1.0))


def _norm2(u) -> float:
    return float(sum(np.sum(uk * uk) for uk in u))


def pirls(
    problem: GlmmProblem,
    lambdas: list[np.ndarray],
    beta: np.ndarray,
    u0: tuple[np.ndarray, ...] | None = None,
    *,
    joint: bool = False,
    max_iterations: int = MAX_ITERATIONS,
    strict: bool = True,
    general: bool = False,
) -> Mode:
    """The conditional modes at ``lambdas`` and ``beta`` (and beta too when ``joint``).

    Raises
    ------
    FittingError
        When no step keeps the means in the family's range or the factorisation fails.
    """
    X, offset = problem.X, problem.offset
    one_block = len(problem.blocks) == 1 and problem.codes is not None
    if one_block and not general and strict and (not joint or X.shape[1]):
        if joint:
            mode = _one_block_joint(problem, lambdas[0], beta, u0, max_iterations)
        else:
            mode = _one_block(problem, lambdas[0], beta, u0, max_iterations)
        if mode is not None:
            return mode
    if len(problem.blocks) > 1 and problem.codes is not None and not general and strict:
        mode = blocked_mode(problem, lambdas, beta, u0, joint, max_iterations)
        if mode is not None:
            return mode
    shapes = [(k, m.shape[1]) for _, m, k in problem.blocks]
    u = tuple(np.zeros(s) for s in shapes) if u0 is None else tuple(np.array(v, float) for v in u0)
    beta = np.asarray(beta, dtype=float).copy()
    fixed = X @ beta + offset if X.shape[1] else offset.copy()
    eta = fixed + problem.random_part(u, lambdas)
    terms = problem.deviance_terms(eta)
    if terms is None and u0 is not None:  # the warm start is out of range here: from zero
        u = tuple(np.zeros(s) for s in shapes)
        eta = fixed.copy()
        terms = problem.deviance_terms(eta)
    if terms is None:
        raise FittingError("the starting linear predictor gives means outside the family's range")
    mu, dev = terms
    pdev = dev + _norm2(u)
    plan = problem.plan_joint if joint else problem.plan_u
    lam1, rest = lambdas[0], lambdas[1:]
    p = X.shape[1]
    for iteration in range(1, max_iterations + 1):
        weights, working = problem.working_system(eta, mu)
        response = eta - (offset if joint else fixed) + working
        with np.errstate(divide="ignore"):
            workspace = reweighted_workspace(plan, response, weights)
        stats = workspace.stats
        try:
            factor = update_factor(workspace, lam1, rest)
            solution = solve_at_optimum(workspace, factor, lam1, rest, conditional_variances=True)
        except np.linalg.LinAlgError as exc:
            raise FittingError(f"PIRLS: the weighted system is singular ({exc})") from exc
        new_u = solution.u
        new_beta = solution.beta if joint else beta
        step = max(float(np.max(np.abs(a - b))) if a.size else 0.0 for a, b in zip(new_u, u))
        if joint and p:
            step = max(step, float(np.max(np.abs(new_beta - beta))))
        scale = 1.0 + max(float(np.max(np.abs(a))) if a.size else 0.0 for a in u)
        if joint and p:
            scale = max(scale, 1.0 + float(np.max(np.abs(beta))))
        if step <= STEP_TOLERANCE * scale:
            logdet_z, logdet_x = log_determinants(factor, stats)
            return Mode(
                u=u,
                beta=beta,
                eta=eta,
                mu=mu,
                deviance=dev,
                penalty=_norm2(u),
                logdet_z=logdet_z,
                logdet_x=logdet_x if joint else 0.0,
                factor=factor,
                stats=stats,
                solution=solution,
                iterations=iteration,
            )
        # the Newton step, halved until the penalised deviance does not increase
        t = 1.0
        for _ in range(MAX_HALVINGS):
            trial_u = tuple(a + t * (b - a) for a, b in zip(u, new_u))
            trial_beta = beta + t * (new_beta - beta) if joint else beta
            trial_fixed = (X @ trial_beta + offset if p else offset) if joint else fixed
            trial_eta = trial_fixed + problem.random_part(trial_u, lambdas)
            trial = problem.deviance_terms(trial_eta)
            if trial is not None:
                trial_pdev = trial[1] + _norm2(trial_u)
                if trial_pdev <= pdev + 1e-10 * (1.0 + abs(pdev)):
                    break
            t *= 0.5
        else:  # no decrease along the step: the mode up to rounding
            logdet_z, logdet_x = log_determinants(factor, stats)
            return Mode(
                u=u,
                beta=beta,
                eta=eta,
                mu=mu,
                deviance=dev,
                penalty=_norm2(u),
                logdet_z=logdet_z,
                logdet_x=logdet_x if joint else 0.0,
                factor=factor,
                stats=stats,
                solution=solution,
                iterations=iteration,
            )
        u, beta, fixed, eta = trial_u, trial_beta, trial_fixed, trial_eta
        mu, dev = trial
        pdev = trial_pdev
        if iteration == max_iterations and not strict:  # the last state, as it is
            break
    if strict:
        raise FittingError(f"PIRLS did not converge in {max_iterations} iterations")
    logdet_z, logdet_x = log_determinants(factor, stats)
    return Mode(
        u=u,
        beta=beta,
        eta=eta,
        mu=mu,
        deviance=dev,
        penalty=_norm2(u),
        logdet_z=logdet_z,
        logdet_x=logdet_x if joint else 0.0,
        factor=factor,
        stats=stats,
        solution=solution,
        iterations=max_iterations,
    )


def with_engine(problem: GlmmProblem, mode: Mode, lambdas, joint: bool) -> Mode:
    """``mode`` with the engine's statistics, factor and solution at its weights.

    At its weights and working response: what the general path keeps from its last
    iteration; the compiled loops leave them out.
    """
    if mode.stats is not None:
        return mode
    from dataclasses import replace

    weights, working = problem.working_system(mode.eta, mode.mu)
    if joint:
        fixed = problem.offset
    else:
        X = problem.X
        fixed = X @ mode.beta + problem.offset if X.shape[1] else problem.offset
    plan = problem.plan_joint if joint else problem.plan_u
    with np.errstate(divide="ignore"):
        workspace = reweighted_workspace(plan, mode.eta - fixed + working, weights)
    lam1, rest = lambdas[0], lambdas[1:]
    try:
        factor = update_factor(workspace, lam1, rest)
        solution = solve_at_optimum(workspace, factor, lam1, rest, conditional_variances=True)
    except np.linalg.LinAlgError as exc:
        raise FittingError(f"PIRLS: the weighted system is singular ({exc})") from exc
    return replace(mode, factor=factor, stats=workspace.stats, solution=solution)


def laplace_value(problem: GlmmProblem, mode: Mode) -> float:
    """The Laplace approximation of ``-2 log L``: ``-2 log p(y|u*) + |u*|^2 + log|L|^2``."""
    return problem.minus2_loglik(mode.mu, mode.deviance) + mode.penalty + mode.logdet_z
