"""The ray to sigma -> 0 of structured fits (mixedmodels.residual_boundary), on toy objectives."""

from __future__ import annotations

import numpy as np
import pytest

import mixedmodels as mm
from mixedmodels.convergence import check_convergence
from mixedmodels.residual_boundary import (
    PROBE_FROM,
    RESIDUAL_BOUNDARY,
    RayProbe,
    newton_refine,
    reopened_start,
    scale_mask,
)


def test_scale_mask_takes_standard_deviations_not_correlations():
    sleep = mm.datasets.load("sleepstudy")
    model = mm.LinearMixedModel("Reaction ~ Days + (Days | Subject)", sleep)
    assert scale_mask(model.design.terms, model.n_theta).tolist() == [True, True, True]
    ar1 = mm.LinearMixedModel("Reaction ~ Days + ar1(0 + C(Days) | Subject)", sleep)
    mask = scale_mask(ar1.design.terms, ar1.n_theta)
    assert mask.tolist() == [True, False]  # one SD, one correlation parameter
    assert np.isfinite(ar1.upper_bounds[~mask]).all()


def test_reopened_start_puts_collapsed_sds_back():
    x0 = np.array([1.0, 2.0, 0.5])
    mask = np.array([True, True, False])
    assert reopened_start(np.array([0.9, 2.0, 0.0]), x0, mask) is None  # no SD collapsed
    np.testing.assert_array_equal(
        reopened_start(np.array([0.1, 2.0, 0.0]), x0, mask), [1.0, 2.0, 0.0]
    )


def ray_objective(x):
    """Falls along the ray x[0] -> infinity (like sigma -> 0), flat in x[1]."""
    return 1.0 / (1.0 + abs(x[0])) + (x[1] - 0.3) ** 2


def test_the_probe_walks_while_the_objective_falls_and_restarts_there():
    sd = mm.LinearMixedModel(
        "Reaction ~ Days + ar1(0 + C(Days) | Subject)", mm.datasets.load("sleepstudy")
    ).design.terms
    restarts = []

    def restart(x):
        restarts.append(x.copy())
        return x, ray_objective(x), 3, "RESTARTED"

    probe = RayProbe(sd, 2, ray_objective, restart)
    x = np.array([2.0, 0.3])
    point, value, used, status = probe(x, ray_objective(x))
    assert status == "RESTARTED"
    assert len(restarts) == 1
    assert point[0] > RESIDUAL_BOUNDARY  # far along the ray, the correlation kept
    assert point[1] == 0.3
    assert value < ray_objective(x)
    assert used > 3
    np.testing.assert_array_equal(probe.along(point), [point[0], 0.0])


def test_the_probe_does_nothing_below_its_threshold_or_where_the_ray_rises():
    terms = mm.LinearMixedModel(
        "Reaction ~ Days + ar1(0 + C(Days) | Subject)", mm.datasets.load("sleepstudy")
    ).design.terms

    def never(x):  # pragma: no cover - must not be called
        raise AssertionError("no restart expected")

    probe = RayProbe(terms, 2, ray_objective, never)
    small = np.array([0.5 * PROBE_FROM, 0.3])
    assert probe(small, ray_objective(small)) == (small, ray_objective(small), 0, None)
    rising = RayProbe(terms, 2, lambda x: float(x[0] ** 2), never)
    x = np.array([2.0, 0.3])
    point, value, used, status = rising(x, 4.0)
    assert point is x
    assert (value, used, status) == (4.0, 1, None)
    assert rising.along(x) is None


def test_newton_refine_steps_until_the_check_passes():
    A = np.array([[3.0, 1.0], [1.0, 2.0]])

    def f(x):
        return float(x @ A @ x)

    lower = np.full(2, -np.inf)

    def check(x, fmin):
        return check_convergence(f, x, lower, 1e-3, fmin)

    x0 = np.array([0.2, -0.1])
    x, fmin, messages, _ = newton_refine(f, x0, f(x0), check, lower, None)
    assert messages == ()
    assert fmin < f(x0)
    np.testing.assert_allclose(x, 0.0, atol=1e-5)


def test_newton_refine_keeps_the_bounds():
    def f(x):
        return float((x[0] - 2.0) ** 2 + (x[1] - 0.5) ** 2)

    lower, upper = np.array([-np.inf, -np.inf]), np.array([1.0, np.inf])

    def check(x, fmin):
        return check_convergence(f, x, lower, 1e-3, fmin, upper=upper)

    x, _, _, _ = newton_refine(f, np.array([0.0, 0.0]), f(np.zeros(2)), check, lower, upper)
    assert x[0] <= 1.0
    assert x[1] == pytest.approx(0.5, abs=1e-4)
