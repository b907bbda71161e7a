"""The tiled dense Cholesky and the row-wise scatter against plain references."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

try:
    import mixedmodels  # noqa: F401
except ImportError:  # not installed: run from the source tree
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gls_reference import dense_fit, random_lambdas, random_problem  # noqa: E402

from mixedmodels.linalg import (  # noqa: E402
    Workspace,
    compute_statistics,
    evaluate_objective,
    tiled,
)


def _spd(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    B = rng.normal(size=(n, n))
    return B @ B.T / n + np.eye(n)


@pytest.mark.parametrize(("n", "nb"), [(1, 4), (9, 4), (50, 7), (64, 16), (130, 256)])
def test_cholesky_lower_matches_numpy(monkeypatch, n, nb):
    monkeypatch.setattr(tiled, "tile_size", lambda size: nb)
    A = _spd(n, n)
    S = A.copy()
    S[np.triu_indices(n, 1)] = np.nan  # the strict upper triangle is never read
    assert tiled.cholesky_lower(S) == 0
    np.testing.assert_allclose(np.tril(S), np.linalg.cholesky(A), rtol=1e-12, atol=1e-12)


def test_cholesky_lower_reports_the_failing_column(monkeypatch):
    monkeypatch.setattr(tiled, "tile_size", lambda size: 5)
    A = _spd(20, 3)
    A[12, 12] = -1.0
    assert tiled.cholesky_lower(A.copy()) == 13


def test_cholesky_lower_rejects_fortran_order():
    with pytest.raises(ValueError, match="C-contiguous"):
        tiled.cholesky_lower(np.asfortranarray(_spd(4, 1)))


def test_cholesky_lower_is_the_same_for_any_number_of_threads(monkeypatch):
    """Fixed tiles, single-threaded tile calls: bitwise equal results with 1 or 3 threads."""
    monkeypatch.setattr(tiled, "tile_size", lambda size: 16)
    A = _spd(150, 5)
    out = []
    for workers in (1, 3):
        monkeypatch.setattr(tiled, "_workers", lambda w=workers: w)
        monkeypatch.setitem(tiled._pool_state, "pool", None)
        S = A.copy()
        tiled.cholesky_lower(S)
        out.append(np.tril(S))
    np.testing.assert_array_equal(out[0], out[1])


def test_run_tasks_keeps_order_and_runs_nested_calls_inline():
    def nested(i):
        return sum(tiled.run_tasks([lambda j=j: i * j for j in range(4)]))

    got = tiled.run_tasks([lambda i=i: nested(i) for i in range(10)])
    assert got == [6 * i for i in range(10)]


@pytest.mark.parametrize("layout", [[(40, 1), (12, 1)], [(30, 2), (9, 1)], [(25, 3)]])
def test_row_scatter_and_tiles_give_the_serial_objective(monkeypatch, layout):
    """Row-wise scatter and tiled Cholesky against the serial scatter and LAPACK."""
    from mixedmodels.linalg import workspace

    rng = np.random.default_rng(len(layout) * 10 + layout[0][1])
    problem = random_problem(rng, 400, layout, p=2)
    lam_sets = [random_lambdas(rng, problem) for _ in range(3)]

    def objectives():
        stats = compute_statistics(problem.blocks, problem.X, problem.y, problem.weights)
        engine = Workspace(stats)
        return [evaluate_objective(engine, lams[0], lams[1:], True) for lams in lam_sets]

    monkeypatch.setattr(workspace, "SMALL_CHOLESKY", 0)
    monkeypatch.setattr(workspace, "BY_ROWS_MIN", 10**12)
    serial = objectives()
    monkeypatch.setattr(workspace, "BY_ROWS_MIN", 0)
    by_rows = objectives()
    monkeypatch.setattr(tiled, "TILED_MIN", 0)
    monkeypatch.setattr(tiled, "tile_size", lambda size: 6)
    both = objectives()
    np.testing.assert_array_equal(serial, by_rows)  # the same sums in the same order
    expected = [dense_fit(problem, lams, True)["objective"] for lams in lam_sets]
    np.testing.assert_allclose(both, expected, rtol=1e-10)
