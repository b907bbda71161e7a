"""PIRLS for several random-effect blocks in one compiled loop ("first block + dense rest").

The same iteration as :func:`mixedmodels.glmm.pirls.pirls` (working weights and response, the
Newton step from the reweighted system, step halving on the penalised deviance, the stop on
a negligible step), with the system solved by
:func:`mixedmodels.glmm.rest_system.rest_system` and no Python between iterations. Used for
models with more than one grouping factor whose rest is small enough for a dense factor
(crossed or nested intercepts such as VerbAgg's ``(1 | id) + (1 | item)``); the others take
the engine's general path.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from mixedmodels.errors import FittingError
from mixedmodels.glmm.kernels import means_and_deviance, working_system
from mixedmodels.glmm.mode import STEP_TOLERANCE, Mode
from mixedmodels.glmm.rest_system import RestPlan, rest_lambdas, rest_plan, rest_system
from mixedmodels.linalg.factor import BlockedFactor

__all__ = ["blocked_mode", "plans_of"]


@njit(cache=True)
def _predictor(  # pragma: no cover - compiled
    fixed,
    codes1,
    Z1,
    lam1,
    u1,
    rest_codes,
    rest_Z,
    zoff,
    sizes,
    roff,
    row_block,
    row_start,
    lams,
    ur,
    b1,
    br,
    eta,
):
    """``eta = fixed + Z1 lam1 u1 + Z_rest Lambda_rest u_rest``."""
    levels1, s1 = u1.shape
    for g in range(levels1):
        for a in range(s1):
            acc = 0.0
            for k in range(a + 1):
                acc += lam1[a, k] * u1[g, k]
            b1[g, a] = acc
    for row in range(ur.size):
        start = row_start[row]
        lam = lams[row_block[row]]
        a = row - start
        acc = 0.0
        for k in range(a + 1):
            acc += lam[a, k] * ur[start + k]
        br[row] = acc
    nb = sizes.size
    for j in range(codes1.size):
        g = codes1[j]
        acc = fixed[j]
        for a in range(s1):
            acc += Z1[j, a] * b1[g, a]
        for i in range(nb):
            r0 = roff[i] + rest_codes[i, j] * sizes[i]
            for b in range(sizes[i]):
                acc += rest_Z[j, zoff[i] + b] * br[r0 + b]
        eta[j] = acc


@njit(cache=True)
def pirls_blocked(  # pragma: no cover - compiled
    offset,
    joint,
    X_full,
    beta,
    codes1,
    Z1,
    rest_codes,
    rest_Z,
    zoff,
    sizes,
    roff,
    entry_k,
    level_k,
    ptr,
    rows,
    row_block,
    row_start,
    diagonal,
    X_system,
    lam1,
    lams,
    u1,
    ur,
    y,
    wt,
    family,
    link,
    theta,
    tolerance,
    max_iterations,
    eta,
    mu,
    L11,
):
    """The conditional modes (and beta, when ``joint``) for several blocks.

    ``offset``: the offset (joint) or ``X beta + offset`` (beta fixed; ``X_system`` then has
    no columns). Updates ``u1``, ``ur`` and ``beta`` in place and fills ``eta``, ``mu`` and
    ``L11`` at the mode; returns (iterations, log|L_Z|^2, log|R_X|^2, deviance, |u|^2),
    iterations -1 where the start is outside the family's range, 0 where the system is not
    positive definite.
    """
    n = codes1.size
    levels1, s1 = u1.shape
    q_rest = ur.size
    p = X_full.shape[1] if joint else 0
    fixed = np.empty(n)
    trial_fixed = np.empty(n)
    for j in range(n):
        acc = offset[j]
        for c in range(p):
            acc += X_full[j, c] * beta[c]
        fixed[j] = acc
    b1 = np.empty((levels1, s1))
    br = np.empty(q_rest)
    _predictor(
        fixed,
        codes1,
        Z1,
        lam1,
        u1,
        rest_codes,
        rest_Z,
        zoff,
        sizes,
        roff,
        row_block,
        row_start,
        lams,
        ur,
        b1,
        br,
        eta,
    )
    dev = means_and_deviance(eta, y, wt, family, link, theta, mu)
    if not math.isfinite(dev):
        return -1, 0.0, 0.0, 0.0, 0.0
    pen = 0.0
    for g in range(levels1):
        for a in range(s1):
            pen += u1[g, a] * u1[g, a]
    for row in range(q_rest):
        pen += ur[row] * ur[row]
    pdev = dev + pen
    weights = np.empty(n)
    working = np.empty(n)
    response = np.empty(n)
    new_u1 = np.empty((levels1, s1))
    xr = np.empty(q_rest + X_system.shape[1])
    trial_u1 = np.empty((levels1, s1))
    trial_ur = np.empty(q_rest)
    trial_beta = np.empty(p)
    trial_eta = np.empty(n)
    trial_mu = np.empty(n)
    logdet_z = 0.0
    logdet_x = 0.0
    for iteration in range(1, max_iterations + 1):
        working_system(eta, mu, y, wt, family, link, theta, weights, working)
        base = offset if joint else fixed
        for j in range(n):
            response[j] = eta[j] - base[j] + working[j]
        logdet_z, logdet_x, ok = rest_system(
            weights,
            response,
            codes1,
            Z1,
            rest_codes,
            rest_Z,
            zoff,
            sizes,
            roff,
            entry_k,
            level_k,
            ptr,
            rows,
            row_block,
            row_start,
            diagonal,
            X_system,
            lam1,
            lams,
            L11,
            new_u1,
            xr,
        )
        if not ok:
            return 0, 0.0, 0.0, 0.0, 0.0
        step = 0.0
        scale = 0.0
        for g in range(levels1):
            for a in range(s1):
                step = max(step, abs(new_u1[g, a] - u1[g, a]))
                scale = max(scale, abs(u1[g, a]))
        for row in range(q_rest):
            step = max(step, abs(xr[row] - ur[row]))
            scale = max(scale, abs(ur[row]))
        scale += 1.0
        for c in range(p):
            step = max(step, abs(xr[q_rest + c] - beta[c]))
            scale = max(scale, 1.0 + abs(beta[c]))
        if step <= tolerance * scale:
            return iteration, logdet_z, logdet_x, dev, pen
        t = 1.0
        accepted = False
        trial_dev = 0.0
        trial_pen = 0.0
        for _ in range(30):
            trial_pen = 0.0
            for g in range(levels1):
                for a in range(s1):
                    v = u1[g, a] + t * (new_u1[g, a] - u1[g, a])
                    trial_u1[g, a] = v
                    trial_pen += v * v
            for row in range(q_rest):
                v = ur[row] + t * (xr[row] - ur[row])
                trial_ur[row] = v
                trial_pen += v * v
            if joint:
                for c in range(p):
                    trial_beta[c] = beta[c] + t * (xr[q_rest + c] - beta[c])
                for j in range(n):
                    acc = offset[j]
                    for c in range(p):
                        acc += X_full[j, c] * trial_beta[c]
                    trial_fixed[j] = acc
            else:
                trial_fixed[:] = fixed
            _predictor(
                trial_fixed,
                codes1,
                Z1,
                lam1,
                trial_u1,
                rest_codes,
                rest_Z,
                zoff,
                sizes,
                roff,
                row_block,
                row_start,
                lams,
                trial_ur,
                b1,
                br,
                trial_eta,
            )
            trial_dev = means_and_deviance(trial_eta, y, wt, family, link, theta, trial_mu)
            if math.isfinite(trial_dev) and trial_dev + trial_pen <= pdev + 1e-10 * (
                1.0 + abs(pdev)
            ):
                accepted = True
                break
            t *= 0.5
        if not accepted:  # no decrease along the step: the mode up to rounding
            return iteration, logdet_z, logdet_x, dev, pen
        u1[:] = trial_u1
        ur[:] = trial_ur
        if joint:
            beta[:] = trial_beta
            fixed[:] = trial_fixed
        eta[:] = trial_eta
        mu[:] = trial_mu
        dev = trial_dev
        pen = trial_pen
        pdev = dev + pen
    return max_iterations + 1, logdet_z, logdet_x, dev, pen


def plans_of(problem) -> tuple[RestPlan | None, RestPlan | None]:
    """The problem's two rest plans (beta fixed, beta joint), built once per problem."""
    cached = problem.__dict__.get("_rest_plans")
    if cached is None:
        fixed = rest_plan(problem.blocks, np.zeros((problem.n, 0)))
        joint = rest_plan(problem.blocks, problem.X) if fixed is not None else None
        cached = problem.__dict__["_rest_plans"] = (fixed, joint)
    return cached


def blocked_mode(problem, lambdas, beta, u0, joint: bool, max_iterations: int):
    """The PIRLS mode by :func:`pirls_blocked`, or None where this path does not apply.

    It does not apply with no plan for the model, a start outside the range twice, or a
    system that is not positive definite: the general path then decides.
    """
    plan_fixed, plan_joint = plans_of(problem)
    plan = plan_joint if joint else plan_fixed
    if plan is None:
        return None
    blocks = problem.blocks
    levels1, s1 = blocks[0][2], blocks[0][1].shape[1]
    q_rest = plan.q_rest
    beta = np.asarray(beta, dtype=float)
    if joint:
        offset = problem.offset
    else:
        offset = problem.X @ beta + problem.offset if problem.X.shape[1] else problem.offset
    offset = np.ascontiguousarray(offset, dtype=float)
    lam1 = np.ascontiguousarray(lambdas[0], dtype=float)
    lams = rest_lambdas(lambdas)
    fam, link, theta = problem.codes
    eta, mu = np.empty(problem.n), np.empty(problem.n)
    L11 = np.zeros((levels1, s1, s1))
    for start in (u0, None):
        if start is None:
            u1, ur = np.zeros((levels1, s1)), np.zeros(q_rest)
        else:
            u1 = np.array(start[0], dtype=float).reshape(levels1, s1)
            ur = np.concatenate([np.ravel(uk) for uk in start[1:]]).astype(float)
        b = beta.copy()
        try:
            iterations, logdet_z, logdet_x, dev, pen = pirls_blocked(
                offset, joint, problem.X, b, plan.codes1, plan.Z1, plan.rest_codes, plan.rest_Z,
                plan.rest_zoff, plan.rest_sizes, plan.rest_roff, plan.entry_k, plan.level_k,
                plan.ptr, plan.rows, plan.row_block, plan.row_start, plan.diagonal, plan.X, lam1,
                lams, u1, ur, problem.y, problem.prior_weights, fam, link, theta, STEP_TOLERANCE,
                max_iterations, eta, mu, L11,
            )  # fmt: skip
        except np.linalg.LinAlgError:
            return None
        if iterations > max_iterations:
            raise FittingError(f"PIRLS did not converge in {max_iterations} iterations")
        if iterations == 0:
            return None
        if iterations > 0:
            u = [u1]
            for i, (_, matrix, levels) in enumerate(blocks[1:]):
                lo = int(plan.rest_roff[i])
                u.append(ur[lo : lo + levels * matrix.shape[1]].reshape(levels, matrix.shape[1]))
            return Mode(
                u=tuple(u),
                beta=b,
                eta=eta,
                mu=mu,
                deviance=float(dev),
                penalty=float(pen),
                logdet_z=float(logdet_z),
                logdet_x=float(logdet_x) if joint else 0.0,
                factor=BlockedFactor(L11=L11, Lrr=np.zeros((1, 1))),
                stats=None,  # type: ignore[arg-type]  # not formed by the compiled loop
                solution=None,  # type: ignore[arg-type]
                iterations=int(iterations),
            )
        if start is None:
            break
    return None
