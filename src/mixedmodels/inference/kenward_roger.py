"""Kenward-Roger adjusted covariance and denominator df, as pbkrtest defines them.

pbkrtest writes the marginal covariance as a linear combination of known matrices,
``Sigma = sum_r gamma_r G_r``: one ``G_r = Z E_r Z'`` per entry of every term's covariance
matrix (``E_r`` picks the entry in every level's block) and ``G = I`` for the residual variance.
With ``Phi = vcov(beta)``, ``P_r = -X' Sigma^-1 G_r Sigma^-1 X``,
``Q_rs = X' Sigma^-1 G_r Sigma^-1 G_s Sigma^-1 X`` and
``K_rs = tr(Sigma^-1 G_r Sigma^-1 G_s)``, the expected information (times 2) is
``I_rs = K_rs - 2 tr(Phi Q_rs) + tr(Phi P_r Phi P_s)``, ``W = 2 I^-1`` and the adjusted
covariance is ``Phi_A = Phi + 2 Phi U Phi`` with ``U = sum_rs W_rs (Q_rs - P_r Phi P_s)``.

A structured term (:mod:`mixedmodels.covariance`) is not linear in its parameters ``psi``
(SAS's: variances and correlations for ``cs``, ``ar1``, ``toep``; ``homdiag`` and ``homcs``
are linear, in a variance and a covariance): its entries ``gamma(psi)``
are, so ``P``, ``Q`` and ``K`` are formed for the entries and carried to ``psi`` by the
Jacobian ``J = d gamma / d psi`` (``P_psi = J' P``, ``Q_psi = J' Q J``, ``K_psi = J' K J``), and
Kenward and Roger's (1997) second-derivative term ``R_rs = X' Sigma^-1 (d^2 Sigma / d psi_r
d psi_s) Sigma^-1 X`` enters the adjustment as ``U = sum_rs W_rs (Q_rs - P_r Phi P_s - R_rs / 4)``
(pbkrtest omits it: it is zero for lme4's linear parameters). That estimator is not invariant
under a nonlinear change of parameters, so its adjusted covariance depends on this choice
(``cs(1 + x | g)``, the unstructured 2 x 2 in other parameters, gives pbkrtest's df but not
quite its adjusted covariance).

pbkrtest forms the dense n x n ``Sigma``. Here every product of the form
``N' Sigma^-k N`` with ``N = [Z X]`` is reduced, by the Woodbury identity, to dense matrices of
size ``q + p`` (q random effects, p fixed effects), so the cost does not grow with n; the limit
is on ``q + p`` (:data:`MAX_DIMENSION`).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp

from mixedmodels.covariance import Unstructured
from mixedmodels.errors import DesignError, InferenceError
from mixedmodels.finite_differences import hessian
from mixedmodels.linalg.statistics import random_effects_matrix

__all__ = ["KenwardRogerInfo", "kenward_roger_info", "MAX_DIMENSION"]

MAX_DIMENSION = 5000  # random effects plus fixed effects: dense (q + p)^2 matrices are formed

_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


@dataclass(frozen=True, eq=False)
class KenwardRogerInfo:
    """pbkrtest's quantities for one REML fit.

    Attributes
    ----------
    vcov
        Unadjusted ``vcov(beta)`` (``Phi``).
    vcov_adjusted
        Kenward-Roger adjusted covariance ``Phi_A``.
    P
        ``(m, p, p)``: the matrices ``P_r`` for the m covariance parameters (residual last).
    W
        ``(m, m)``: twice the inverse expected information of the covariance parameters.
    """

    vcov: np.ndarray
    vcov_adjusted: np.ndarray
    P: np.ndarray
    W: np.ndarray

    def _a1_a2(self, L: np.ndarray) -> tuple[float, float]:
        Phi = self.vcov
        Theta = L.T @ np.linalg.solve(L @ Phi @ L.T, L)
        u = (Theta @ Phi) @ self.P @ Phi  # (m, p, p); a 4-operand einsum here is O(p^5)
        traces = np.einsum("raa->r", u)
        A1 = float(traces @ self.W @ traces)
        A2 = float(np.einsum("rs,rab,sba->", self.W, u, u))
        return A1, A2

    def _adjust(self, L: np.ndarray) -> tuple[float, float]:
        """Denominator df and F scaling of the test of ``L beta`` (pbkrtest's KR_adjust)."""
        q = L.shape[0]
        A1, A2 = self._a1_a2(L)
        B = (A1 + 6.0 * A2) / (2.0 * q)
        g = ((q + 1) * A1 - (q + 4) * A2) / ((q + 2) * A2)
        denom = 3.0 * q + 2.0 * (1.0 - g)
        c1, c2, c3 = g / denom, (q - g) / denom, (q + 2 - g) / denom
        V0 = 1.0 + c1 * B
        V1 = 1.0 - c2 * B
        V2 = 1.0 - c3 * B
        if abs(V0) < 1e-10:
            V0 = 0.0
        x = 1.0 - A2 / q
        ratio = 1.0 if (abs(x) < 1e-14 and abs(V1) < 1e-14) else x / V1
        rho = ratio**2 * V0 / (q * V2)
        df2 = 4.0 + (q + 2.0) / (q * rho - 1.0)
        scaling = 1.0 if abs(df2 - 2.0) < 1e-2 else df2 * x / (df2 - 2.0)
        return float(df2), float(scaling)

    def df(self, L) -> float:
        """Kenward-Roger denominator df for the contrast(s) ``L`` (full row rank)."""
        L = np.atleast_2d(np.asarray(L, dtype=float))
        return self._adjust(L)[0]

    def f_test(self, L, beta) -> tuple[float, float, int, float]:
        """Scaled F, unscaled F, numerator and denominator df of ``L beta = 0``.

        ``L`` must have full row rank.
        """
        L = np.atleast_2d(np.asarray(L, dtype=float))
        q = L.shape[0]
        ddf, scaling = self._adjust(L)
        Lb = L @ np.asarray(beta, dtype=float)
        wald = float(Lb @ np.linalg.solve(L @ self.vcov_adjusted @ L.T, Lb))
        unscaled = wald / q
        return scaling * unscaled, unscaled, q, ddf


def _entries(size: int) -> tuple[np.ndarray, np.ndarray]:
    """A term's covariance entries ``(a, b)``, ``a >= b``, column by column (lme4's order)."""
    return Unstructured(size).theta_positions()


def _parameters(design, starts: list[int]):
    """COO entries (rows, cols, values) of every ``E_r`` in the random-effects coordinates."""
    out = []
    for term in design.terms:
        k, block = next((i, b) for i, b in enumerate(design.blocks) if term in b.terms)
        offset = block.column_offsets[block.terms.index(term)]
        base = starts[k] + np.arange(block.n_levels) * block.size + offset
        rows, cols = _entries(term.size)
        for a, b in zip(rows, cols, strict=True):
            u, v = base + a, base + b
            if a == b:
                out.append((term, a, b, u, v, np.ones(u.size)))
            else:
                out.append(
                    (
                        term,
                        a,
                        b,
                        np.concatenate([u, v]),
                        np.concatenate([v, u]),
                        np.ones(2 * u.size),
                    )
                )
    return out


def _jacobians(terms, theta: np.ndarray, s2: float) -> tuple[np.ndarray, np.ndarray | None]:
    """``d gamma / d psi`` and ``d^2 gamma / d psi^2``.

    From the covariance entries ``gamma`` (every term's lower triangle, then the residual
    variance) to the parameters ``psi``.

    Identity blocks for unstructured terms; exact for the linear structures (the entries of
    ``kr_covariance`` at unit vectors); central differences for the others (steps ``1e-4``
    relative to a variance, ``1e-4`` for a correlation, inside its range). The
    second derivatives are None when every structure is linear.
    """
    sizes = [(len(_entries(t.size)[0]), t.n_theta) for t in terms]
    n_gamma = sum(g for g, _ in sizes) + 1
    n_psi = sum(r for _, r in sizes) + 1
    J = np.zeros((n_gamma, n_psi))
    H = np.zeros((n_gamma, n_psi, n_psi))
    J[-1, -1] = 1.0
    g0 = r0 = 0
    nonlinear = False
    for term, (ng, nr) in zip(terms, sizes, strict=True):
        rows, cols = _entries(term.size)
        structure = term.covariance
        gs, rs = slice(g0, g0 + ng), slice(r0, r0 + nr)
        g0, r0 = g0 + ng, r0 + nr
        if not term.structured:
            J[gs, rs] = np.eye(ng)
            continue
        if structure.kr_linear:
            for r in range(nr):
                J[gs, rs.start + r] = structure.kr_covariance(np.eye(nr)[r])[rows, cols]
            continue
        nonlinear = True
        psi = structure.kr_parameters(theta[term.theta_slice], s2)
        sd = structure.natural_is_sd()
        low, high = structure.natural_bounds()
        room = np.minimum(psi - low, high - psi)
        h = np.where(
            sd,
            1e-4 * np.maximum(np.abs(psi), 1e-8 * max(np.abs(psi[sd]).max(), 1.0)),
            np.minimum(1e-4, 0.5 * room),
        )

        def entries(point: np.ndarray, structure=structure, rows=rows, cols=cols) -> np.ndarray:
            return structure.kr_covariance(point)[rows, cols]

        grad, hess = hessian(entries, psi, h, cross="diagonal-sequential")
        J[gs, rs] = grad.T
        H[gs, rs, rs] = np.moveaxis(hess, 2, 0)
    return J, (H if nonlinear else None)


def _crossproducts(design, model) -> np.ndarray:
    """``N'N`` with ``N = [Z X]``: from the rows when the design has them, else from A."""
    if not design.has_rows:  # an out-of-core fit: the same sums, read off the statistics
        return model.stats.model_crossproducts()
    Z = sp.hstack(
        [random_effects_matrix(b.codes, b.matrix, b.n_levels) for b in design.blocks],
        format="csr",
    )
    N = sp.hstack([Z, sp.csr_matrix(design.X)], format="csr")
    return (N.T @ N).toarray()


def _compute(result) -> KenwardRogerInfo:
    design, model = result.design, result.model
    if not result.reml:
        raise InferenceError("Kenward-Roger's method is only available for REML fits")
    if design.weighted:
        raise InferenceError("Kenward-Roger's method is not available for fits with prior weights")
    n, p = design.n, result.n_fixed
    sizes = [b.n_random_effects for b in design.blocks]
    q = int(sum(sizes))
    if q + p > MAX_DIMENSION:
        raise DesignError(
            f"Kenward-Roger needs dense matrices of size q + p = {q + p} (random plus fixed "
            f"effects); the limit is {MAX_DIMENSION}: use ddf='Satterthwaite'"
        )
    starts = list(np.cumsum([0, *sizes])[:-1])
    G = _crossproducts(design, model)
    lams = model.lambdas(result.theta)
    Lam = sp.block_diag(
        [sp.kron(sp.identity(b.n_levels), lam) for b, lam in zip(design.blocks, lams, strict=True)],
        format="csr",
    )
    s2 = float(result.sigma) ** 2
    # K = Lam' Z'Z Lam + I = L_K L_K';  R = L_K^-1 Lam' N'N restricted to Z rows
    LtG = np.asarray(Lam.T @ G[:q, :])
    K = np.asarray((Lam.T @ LtG[:, :q].T).T) + np.eye(q)
    LK = sla.cholesky(0.5 * (K + K.T), lower=True)

    def left(M_z: np.ndarray) -> np.ndarray:
        """``L_K^-1 Lam' M_z``."""
        return sla.solve_triangular(LK, np.asarray(Lam.T @ M_z), lower=True)

    R = sla.solve_triangular(LK, LtG, lower=True)
    W1 = (G - R.T @ R) / s2  # N' Sigma^-1 N
    W2 = (W1 - R.T @ left(W1[:q, :])) / s2  # N' Sigma^-2 N
    W2 = 0.5 * (W2 + W2.T)
    W3_xx = (W2[q:, q:] - R[:, q:].T @ left(W2[:q, q:])) / s2  # X' Sigma^-3 X
    K_inv = sla.cho_solve((LK, True), np.eye(q))
    trace_s2 = (n - q + float(np.sum(K_inv * K_inv))) / s2**2
    zz1, zx1 = W1[:q, :q], W1[:q, q:]
    zz2, zx2 = W2[:q, :q], W2[:q, q:]
    params = _parameters(design, starts)
    m = len(params) + 1
    P = np.empty((m, p, p))
    left_x = []  # X' Sigma^-1 Z E_r as (p x |r|) columns paired with the rows v of E_r
    for r, (_, _, _, u, v, val) in enumerate(params):
        Lr = zx1[u, :].T * val
        left_x.append(Lr)
        P[r] = -(Lr @ zx1[v, :])
    P[m - 1] = -W2[q:, q:]
    Q = np.empty((m, m, p, p))
    Kt = np.empty((m, m))
    for r, (_, _, _, u_r, v_r, val_r) in enumerate(params):
        Lr = left_x[r]
        for s in range(r, len(params)):
            _, _, _, u_s, v_s, val_s = params[s]
            M1 = zz1[np.ix_(v_r, u_s)]
            Q[r, s] = Lr @ M1 @ (val_s[:, None] * zx1[v_s, :])
            Q[s, r] = Q[r, s].T
            M2 = zz1[np.ix_(v_s, u_r)]
            Kt[r, s] = Kt[s, r] = float(np.sum(np.outer(val_r, val_s) * M1 * M2.T))
        Q[r, m - 1] = Lr @ zx2[v_r, :]
        Q[m - 1, r] = Q[r, m - 1].T
        Kt[r, m - 1] = Kt[m - 1, r] = float(np.sum(val_r * zz2[v_r, u_r]))
    Q[m - 1, m - 1] = W3_xx
    Kt[m - 1, m - 1] = trace_s2
    second = None
    if any(t.structured for t in design.terms):
        J, H = _jacobians(design.terms, result.theta, s2)
        if H is not None:  # R_rs: X' Sigma^-1 G_g Sigma^-1 X is -P_g
            second = -np.einsum("grs,gab->rsab", H, P)
        P = np.einsum("gr,gab->rab", J, P)
        Q = np.einsum("gr,ghab,hs->rsab", J, Q, J)
        Kt = J.T @ Kt @ J
    Phi = np.asarray(result.vcov, dtype=float)
    PhiP = np.einsum("ab,rbc->rac", Phi, P)
    info = Kt - 2.0 * np.einsum("ab,rsab->rs", Phi, Q) + np.einsum("rab,sba->rs", PhiP, PhiP)
    info = 0.5 * (info + info.T)
    condition = np.min(np.abs(np.linalg.eigvalsh(info)))
    W = 2.0 * (np.linalg.inv(info) if condition > 1e-10 else np.linalg.pinv(info))
    W = 0.5 * (W + W.T)
    PPhiP = np.einsum("rab,bc,scd->rsad", P, Phi, P)
    U = np.einsum("rs,rsab->ab", W, Q - PPhiP if second is None else Q - PPhiP - 0.25 * second)
    U = 0.5 * (U + U.T)
    adjusted = Phi + 2.0 * Phi @ U @ Phi
    return KenwardRogerInfo(vcov=Phi, vcov_adjusted=adjusted, P=P, W=W)


def kenward_roger_info(result) -> KenwardRogerInfo:
    """Kenward-Roger adjusted covariance and the pieces its df need, cached per fit.

    Parameters
    ----------
    result
        A REML :class:`~mixedmodels.results.LmerResult` without prior weights.

    Returns
    -------
    KenwardRogerInfo

    Raises
    ------
    InferenceError
        For ML fits and fits with prior weights.
    DesignError
        For models with more than :data:`MAX_DIMENSION` random plus fixed effects.
    """
    info = _CACHE.get(result)
    if info is None:
        info = _compute(result)
        _CACHE[result] = info
    return info
