"""An independent arbiter: lme4's REML criterion or ML deviance at a given theta, by plain QR.

Nothing of mixedmodels is used: the model matrices are built from lme4's own description of the
fit (``cnms``: the grouping factor and the column names of each random-effects term, in lme4's
order; the names of the fixed effects), and the profiled criterion comes from one dense
Householder QR of the penalised least-squares system

    [ W^1/2 Z Lambda   W^1/2 X   W^1/2 y ]
    [ I_q              0         0       ]

whose triangular factor holds ``log|L|^2`` (first q diagonal entries), ``log|R_X|^2`` (next p)
and the penalised residual sum of squares (last entry squared). Orthogonal factorisation of the
raw columns: no normal equations, no centring, so a large mean or a shifted covariate costs the
arbiter nothing in accuracy. Rows: those with a missing value are dropped, and so are rows of
prior weight 0 (lm's rule), as the reference did.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

LOG_2PI = float(np.log(2 * np.pi))


def usable_rows(frame: pd.DataFrame, weights: str | None) -> pd.DataFrame:
    """Complete rows with a positive weight."""
    kept = frame.dropna()
    if weights is not None:
        kept = kept[kept[weights] > 0]
    return kept.reset_index(drop=True)


def _column(frame: pd.DataFrame, name: str) -> np.ndarray:
    if name == "(Intercept)":
        return np.ones(len(frame))
    if name in frame.columns:
        return frame[name].to_numpy(dtype=float)
    for factor in ("f",):  # treatment or indicator column of a categorical variable: fB
        if name.startswith(factor) and factor in frame.columns:
            return (frame[factor] == name[len(factor) :]).to_numpy(dtype=float)
    raise KeyError(f"arbiter: no column for {name!r}")


def _group_codes(frame: pd.DataFrame, group: str) -> tuple[np.ndarray, int]:
    parts = group.split(":")
    key = frame[parts[0]].astype(str)
    for part in parts[1:]:
        key = key + "\x1f" + frame[part].astype(str)
    codes, uniques = pd.factorize(key, sort=True)
    return codes, len(uniques)


def term_lambda(theta: np.ndarray, k: int) -> np.ndarray:
    """lme4's relative covariance factor of one term: theta fills the lower triangle by columns."""
    lam = np.zeros((k, k))
    rows, cols = np.tril_indices(k)
    order = np.lexsort((rows, cols))  # column-major
    lam[rows[order], cols[order]] = theta
    return lam


def criterion(
    frame: pd.DataFrame,
    *,
    cnms: list[dict],
    fixed: list[str],
    theta: np.ndarray,
    reml: bool,
    weights: str | None = None,
    offset: str | None = None,
) -> float:
    """lme4's profiled criterion at ``theta`` (REML criterion or ML deviance)."""
    data = usable_rows(frame, weights)
    n = len(data)
    y = data["y"].to_numpy(dtype=float)
    if offset is not None:
        y = y - data[offset].to_numpy(dtype=float)
    w = np.ones(n) if weights is None else data[weights].to_numpy(dtype=float)
    X = np.column_stack([_column(data, name) for name in fixed])
    blocks = []
    start = 0
    theta = np.asarray(theta, dtype=float)
    for term in cnms:
        columns = term["columns"]
        k = len(columns)
        lam = term_lambda(theta[start : start + k * (k + 1) // 2], k)
        start += k * (k + 1) // 2
        codes, levels = _group_codes(data, term["group"])
        raw = np.column_stack([_column(data, c) for c in columns])  # n x k
        scaled = raw @ lam  # row i of Z Lambda within its level: raw_i' lam
        block = np.zeros((n, levels * k))
        for a in range(k):
            block[np.arange(n), codes * k + a] = scaled[:, a]
        blocks.append(block)
    if start != theta.size:
        raise ValueError(f"theta has {theta.size} entries, the terms take {start}")
    ZL = np.hstack(blocks)
    q, p = ZL.shape[1], X.shape[1]
    sw = np.sqrt(w)[:, None]
    top = np.hstack([sw * ZL, sw * X, sw * y[:, None]])
    bottom = np.hstack([np.eye(q), np.zeros((q, p + 1))])
    R = np.linalg.qr(np.vstack([top, bottom]), mode="r")
    diag = np.abs(np.diag(R))
    ld_l2 = 2.0 * float(np.sum(np.log(diag[:q])))
    ld_rx2 = 2.0 * float(np.sum(np.log(diag[q : q + p])))
    r2 = float(diag[q + p] ** 2)
    ld_w = float(np.sum(np.log(w)))
    if reml:
        dof = n - p
        return ld_l2 - ld_w + ld_rx2 + dof * (1.0 + LOG_2PI + np.log(r2 / dof))
    return ld_l2 - ld_w + n * (1.0 + LOG_2PI + np.log(r2 / n))
