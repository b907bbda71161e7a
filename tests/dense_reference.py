"""A plain dense implementation of the LMM likelihood, for checking the blocked engine.

Small problems only: it forms the dense n x q Z and the n x n marginal covariance.
"""

from __future__ import annotations

import numpy as np


def dense_z(model) -> np.ndarray:
    """Dense Z of a LinearMixedModel, engine blocks side by side (level-major columns)."""
    parts = []
    for block in model.design.blocks:
        n, size = block.matrix.shape
        Z = np.zeros((n, block.n_levels * size))
        for k in range(size):
            Z[np.arange(n), block.codes * size + k] = block.matrix[:, k]
        parts.append(Z)
    return np.hstack(parts)


def dense_lambda(model, theta) -> np.ndarray:
    """Dense block-diagonal Lambda(theta)."""
    lams = model.lambdas(theta)
    blocks = [np.kron(np.eye(b.n_levels), lam) for b, lam in zip(model.design.blocks, lams)]
    size = sum(b.shape[0] for b in blocks)
    out = np.zeros((size, size))
    i = 0
    for b in blocks:
        out[i : i + b.shape[0], i : i + b.shape[0]] = b
        i += b.shape[0]
    return out


def dense_objective(model, theta, reml: bool) -> float:
    """Profiled deviance / REML criterion from the GLS likelihood with V = Z Lam Lam' Z' + W^-1."""
    design = model.design
    X, y = design.X, design.y.copy()
    if design.offset is not None:
        y = y - design.offset
    n, p = X.shape
    w = design.weights if design.weights is not None else np.ones(n)
    Z = dense_z(model)
    Lam = dense_lambda(model, theta)
    V = Z @ Lam @ Lam.T @ Z.T + np.diag(1.0 / w)
    Vinv = np.linalg.inv(V)
    XtVX = X.T @ Vinv @ X
    beta = np.linalg.solve(XtVX, X.T @ Vinv @ y)
    resid = y - X @ beta
    r2 = resid @ Vinv @ resid
    _, logdet_v = np.linalg.slogdet(V)
    if reml:
        _, logdet_x = np.linalg.slogdet(XtVX)
        return float(logdet_v + logdet_x + (n - p) * (1 + np.log(2 * np.pi * r2 / (n - p))))
    return float(logdet_v + n * (1 + np.log(2 * np.pi * r2 / n)))


def dense_solution(model, theta, reml: bool):
    """beta, stacked conditional modes b, vcov(beta)/sigma^2 and Var(u|y)/sigma^2."""
    design = model.design
    X, y = design.X, design.y.copy()
    if design.offset is not None:
        y = y - design.offset
    n, p = X.shape
    w = design.weights if design.weights is not None else np.ones(n)
    Z = dense_z(model)
    Lam = dense_lambda(model, theta)
    V = Z @ Lam @ Lam.T @ Z.T + np.diag(1.0 / w)
    Vinv = np.linalg.inv(V)
    XtVX = X.T @ Vinv @ X
    beta = np.linalg.solve(XtVX, X.T @ Vinv @ y)
    resid = y - X @ beta
    b = Lam @ Lam.T @ Z.T @ Vinv @ resid
    ZL = Z @ Lam
    u_precision = ZL.T @ (w[:, None] * ZL) + np.eye(ZL.shape[1])
    return beta, b, np.linalg.inv(XtVX), np.linalg.inv(u_precision)
