"""An independent arbiter: lme4's REML criterion or ML deviance at a given theta, by plain QR.

Nothing of mixedmodels is used: the model matrices are built from lme4's own description of the
fit (``cnms``: the grouping factor and the column names of each random-effects term, in lme4's
order; the names of the fixed effects), and the profiled criterion comes from one dense
Householder QR of the penalised least-squares system

    [ W^1/2 Z Lambda   W^1/2 X   W^1/2 y ]
    [ I_q              0         0       ]

whose triangular factor holds ``log|L|^2`` (first q diagonal entries), ``log|R_X|^2`` (next p)
and the penalised residual sum of squares (last entry squared). The QR is taken level by level
in the first term (exact for a block-angular matrix, and what keeps n = 20,000 affordable);
the rest is dense. Orthogonal factorisation of the
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


def _dense_columns(codes: np.ndarray, levels: int, scaled: np.ndarray) -> np.ndarray:
    n, k = scaled.shape
    block = np.zeros((n, levels * k))
    for a in range(k):
        block[np.arange(n), codes * k + a] = scaled[:, a]
    return block


def _penalised_r_diagonal(blocks, wX, wy, sw) -> np.ndarray:
    """|diag(R)| of the QR of the penalised system, the first term eliminated level by level.

    The system is block-angular in the first term's columns (a row meets one of its levels), so
    its QR is, exactly, one small QR per level of that level's rows and penalty rows, then one
    QR of what the levels leave in the other columns stacked with the other terms' penalty
    rows. Every other column is dense.
    """
    codes1, levels1, scaled1 = blocks[0]
    k1 = scaled1.shape[1]
    others = [_dense_columns(c, lv, s) for c, lv, s in blocks[1:]]
    q_rest = sum(o.shape[1] for o in others)
    rest = np.hstack([sw * o for o in others] + [wX, wy[:, None]])
    m = rest.shape[1]
    first = sw * scaled1
    order = np.argsort(codes1, kind="stable")
    bounds = np.searchsorted(codes1[order], np.arange(levels1 + 1))
    head, tails = [], []
    for level in range(levels1):
        rows = order[bounds[level] : bounds[level + 1]]
        system = np.vstack(
            [np.hstack([first[rows], rest[rows]]), np.hstack([np.eye(k1), np.zeros((k1, m))])]
        )
        R = np.linalg.qr(system, mode="r")
        head.append(np.abs(np.diag(R)[:k1]))
        tails.append(R[k1:, k1:])
    tails.append(np.hstack([np.eye(q_rest), np.zeros((q_rest, m - q_rest))]))
    R = np.linalg.qr(np.vstack(tails), mode="r")
    return np.concatenate(head + [np.abs(np.diag(R))])


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
        blocks.append((codes, levels, raw @ lam))  # row i of Z Lambda within its level
    if start != theta.size:
        raise ValueError(f"theta has {theta.size} entries, the terms take {start}")
    sw = np.sqrt(w)[:, None]
    diag = _penalised_r_diagonal(blocks, sw * X, sw[:, 0] * y, sw)
    q, p = sum(levels * s.shape[1] for _, levels, s in blocks), X.shape[1]
    ld_l2 = 2.0 * float(np.sum(np.log(diag[:q])))
    ld_rx2 = 2.0 * float(np.sum(np.log(diag[q : q + p])))
    r2 = float(diag[q + p] ** 2)
    ld_w = float(np.sum(np.log(w)))
    if reml:
        dof = n - p
        return ld_l2 - ld_w + ld_rx2 + dof * (1.0 + LOG_2PI + np.log(r2 / dof))
    return ld_l2 - ld_w + n * (1.0 + LOG_2PI + np.log(r2 / n))
