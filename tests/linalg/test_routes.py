"""The evaluation routes: chosen by shape, the bound hot path equal to the route's evaluation
to the last bit, and every route's objective equal to a plain dense GLS fit."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gls_reference import dense_fit, random_lambdas, random_problem  # noqa: E402

from mixedmodels.linalg import compute_statistics, objective_from_parts, routes  # noqa: E402
from mixedmodels.linalg import workspace as workspace_module  # noqa: E402
from mixedmodels.linalg.workspace import Workspace  # noqa: E402

CASES = {  # (levels, size) per block -> the route taken
    "one_scalar": ([(9, 1)], routes.FusedOneBlock),
    "one_slope": ([(7, 2)], routes.FusedOneBlock),
    "crossed_scalar": ([(11, 1), (5, 1), (3, 1)], routes.SmallRest),
    "slope_then_scalar": ([(8, 2), (4, 1)], routes.SmallRest),
    "scalar_then_slopes": ([(10, 1), (6, 2), (3, 3)], routes.DenseRest),
    "large_second_factor": ([(80, 1), (60, 1)], routes.DenseRest),
}


def _setup(specs, seed=0, n=200):
    rng = np.random.default_rng(seed)
    problem = random_problem(rng, n, specs)
    stats = compute_statistics(problem.blocks, problem.X, problem.y)
    return rng, problem, stats


def _objective(ev, stats, reml=True) -> float:
    return objective_from_parts(ev.logdet_z, ev.logdet_x, ev.r2, stats, reml)


@pytest.mark.parametrize("name", list(CASES))
def test_the_route_is_chosen_by_shape(name):
    specs, expected = CASES[name]
    _, _, stats = _setup(specs)
    ws = Workspace(stats)
    assert type(ws.route) is expected
    assert type(ws.dense_route) is expected  # no sparse route at these sizes


@pytest.mark.parametrize("name", list(CASES))
def test_a_route_matches_the_dense_fit(name):
    specs, _ = CASES[name]
    rng, problem, stats = _setup(specs)
    ws = Workspace(stats)
    for _ in range(3):
        lams = random_lambdas(rng, problem)
        want = dense_fit(problem, lams, reml=True)["objective"]
        for conditioned in (False, True):
            ev = ws.route.evaluate(ws, np.ascontiguousarray(lams[0]), lams[1:], conditioned)
            assert _objective(ev, stats) == pytest.approx(want, rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("name", list(CASES))
def test_the_bound_route_gives_the_evaluation_to_the_last_bit(name):
    specs, _ = CASES[name]
    rng, problem, stats = _setup(specs, seed=1)
    ws = Workspace(stats)
    first = np.zeros_like(random_lambdas(rng, problem)[0])
    rest = [np.zeros((m.shape[1], m.shape[1])) for _, m, _ in problem.blocks[1:]]
    bound = ws.route.bind(ws, first, rest)
    for _ in range(3):
        lams = random_lambdas(rng, problem)
        first[...] = lams[0]
        for held, lam in zip(rest, lams[1:], strict=True):
            held[...] = lam
        got = bound()
        ev = ws.evaluate(lams[0], lams[1:], conditioned=True)
        assert got == (ev.logdet_z, ev.logdet_x, ev.r2)


def test_level_chunks_give_the_fused_numbers(monkeypatch):
    """A one-block model cut in level ranges: the same objective as in one compiled call."""
    rng, problem, stats = _setup([(40, 2)], seed=2, n=400)
    whole = Workspace(stats)
    monkeypatch.setattr(workspace_module, "CHUNKED_MIN_WORK", 1)
    chunked = Workspace(stats)
    assert type(whole.route) is routes.FusedOneBlock
    assert type(chunked.route) is routes.LevelChunks
    for _ in range(3):
        lams = random_lambdas(rng, problem)
        a = whole.evaluate(lams[0], [], conditioned=True)
        b = chunked.evaluate(lams[0], [], conditioned=True)
        assert _objective(b, stats) == pytest.approx(_objective(a, stats), rel=1e-12)
        want = dense_fit(problem, lams, reml=True)["objective"]
        assert _objective(b, stats) == pytest.approx(want, rel=1e-9)


def test_a_rest_that_is_not_positive_definite_gives_none():
    _, problem, stats = _setup([(11, 1), (5, 1)], seed=3)
    ws = Workspace(stats)
    bad = [np.full((1, 1), np.nan), np.full((1, 1), 1.0)]
    assert ws.evaluate(bad[0], bad[1:], conditioned=True) is None
