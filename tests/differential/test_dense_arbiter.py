"""The arbiter is itself checked: against the marginal-covariance GLS of tests/linalg and
against lme4's stored criterion at lme4's theta (same data, same criterion; 6e-10 relative at
most, on badly scaled problems, and 1e-15 typically)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "linalg"))

import dense_arbiter  # noqa: E402
from checks import reference  # noqa: E402
from gls_reference import Problem as GlsProblem  # noqa: E402
from gls_reference import dense_fit  # noqa: E402
from problem_families import make_problem, problem_ids  # noqa: E402

SMALL = [pid for pid in problem_ids() if reference()[pid].get("nobs", 10**9) <= 120][::4]


def _gls_problem(problem, ref) -> tuple[GlsProblem, list[np.ndarray]]:
    data = dense_arbiter.usable_rows(problem.frame(), problem.weights)
    blocks, lams, start = [], [], 0
    theta = np.asarray(ref["theta"], dtype=float)
    for term in ref["cnms"]:
        codes, levels = dense_arbiter._group_codes(data, term["group"])
        matrix = np.column_stack([dense_arbiter._column(data, c) for c in term["columns"]])
        k = matrix.shape[1]
        lams.append(dense_arbiter.term_lambda(theta[start : start + k * (k + 1) // 2], k))
        start += k * (k + 1) // 2
        blocks.append((codes.astype(np.intp), matrix, levels))
    X = np.column_stack([dense_arbiter._column(data, c) for c in ref["fixef"]])
    y = data["y"].to_numpy(dtype=float)
    if problem.offset is not None:
        y = y - data[problem.offset].to_numpy(dtype=float)
    w = None if problem.weights is None else data[problem.weights].to_numpy(dtype=float)
    return GlsProblem(blocks=blocks, X=X, y=y, weights=w), lams


@pytest.mark.parametrize("pid", SMALL)
def test_arbiter_matches_marginal_gls(pid):
    problem, ref = make_problem(pid), reference()[pid]
    gls, lams = _gls_problem(problem, ref)
    want = dense_fit(gls, lams, reml=ref["REML"])["objective"]
    got = dense_arbiter.criterion(
        problem.frame(),
        cnms=ref["cnms"],
        fixed=list(ref["fixef"]),
        theta=ref["theta"],
        reml=ref["REML"],
        weights=problem.weights,
        offset=problem.offset,
    )
    assert got == pytest.approx(want, rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("pid", SMALL)
def test_arbiter_reproduces_lme4_at_its_theta(pid):
    problem, ref = make_problem(pid), reference()[pid]
    got = dense_arbiter.criterion(
        problem.frame(),
        cnms=ref["cnms"],
        fixed=list(ref["fixef"]),
        theta=ref["theta"],
        reml=ref["REML"],
        weights=problem.weights,
        offset=problem.offset,
    )
    # measured: at most 6e-10 relative (scale-004)
    assert got == pytest.approx(ref["objective"], rel=2e-9, abs=1e-9)
