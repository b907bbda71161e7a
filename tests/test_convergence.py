"""Convergence checks at an optimum (mixedmodels.convergence: examine and what uses it).

A quadratic deviance ``f(x) = (x - m)' A (x - m)`` has Hessian ``2A``, so the standard errors
are ``sqrt(diag(A^-1))`` and a point ``d`` away from ``m`` has a Newton step ``sqrt(d' A d)``
standard errors long.
"""

from __future__ import annotations

import numpy as np
import pytest

from mixedmodels.convergence import (
    check_convergence,
    convergence_messages,
    examine,
    polish,
)

A = np.array([[4.0, 1.0], [1.0, 2.0]])
M = np.array([1.5, 2.0])
NO_BOUNDS = np.full(2, -np.inf)


def deviance(x):
    d = np.asarray(x) - M
    return float(d @ A @ d) + 100.0


def test_at_the_minimum_there_is_no_message_and_the_standard_errors_are_the_hessians():
    found = examine(deviance, M.copy(), NO_BOUNDS, tolerance=0.01)
    assert found.messages == ()
    assert found.distance < 1e-4
    np.testing.assert_allclose(found.step, 0.0, atol=1e-6)
    np.testing.assert_allclose(found.standard_errors, np.sqrt(np.diag(np.linalg.inv(A))), rtol=1e-5)


@pytest.mark.parametrize("errors", [0.5, 3.0])
def test_the_newton_step_is_measured_in_standard_errors(errors):
    d = np.array([1.0, -0.5])
    d *= errors / np.sqrt(d @ A @ d)
    x = M + d
    found = examine(deviance, x, NO_BOUNDS, tolerance=1.0)
    assert found.distance == pytest.approx(errors, rel=1e-4)
    np.testing.assert_allclose(x + found.step, M, atol=1e-5)
    assert bool(found.messages) == (errors > 1.0)
    if found.messages:
        assert "standard errors long" in found.messages[0]
        assert "tolerance 1" in found.messages[0]


def test_a_saddle_is_found_and_reported_with_a_lower_point():
    def saddle(x):
        return float(x[0] ** 2 - x[1] ** 2)

    found = examine(saddle, np.zeros(2), NO_BOUNDS, tolerance=1.0)
    assert found.step is None
    assert found.descent is not None
    assert found.descent_value < saddle(np.zeros(2))
    assert found.descent_value == saddle(found.descent)
    assert "not positive definite" in found.messages[0]
    assert found.evaluations > 0


def test_a_component_on_its_lower_bound_is_left_out():
    lower = np.array([2.5, -np.inf])  # the minimum's first component is below the bound
    x = np.array([2.5, M[1] - (2.5 - M[0]) * A[0, 1] / A[1, 1]])  # minimum along the bound
    found = examine(deviance, x, lower, tolerance=0.01)
    assert found.messages == ()
    assert found.step[0] == 0.0
    assert np.isnan(found.standard_errors[0])


def test_every_component_on_its_bound_is_converged():
    found = examine(deviance, np.array([3.0, 3.0]), np.array([3.0, 3.0]), tolerance=0.01)
    assert found.messages == ()
    assert found.step.tolist() == [0.0, 0.0]


def test_no_parameters_is_converged():
    found = examine(deviance, np.zeros(0), np.zeros(0), tolerance=0.01)
    assert found.messages == ()
    assert found.step is None


def test_convergence_messages_and_check_convergence_agree_with_examine():
    x = M + np.array([0.8, 0.0])
    found = examine(deviance, x, NO_BOUNDS, tolerance=0.1)
    assert convergence_messages(deviance, x, NO_BOUNDS, 0.1) == found.messages
    messages, step = check_convergence(deviance, x, NO_BOUNDS, 0.1)
    assert messages == found.messages
    np.testing.assert_array_equal(step, found.step)


def test_a_batch_evaluator_gives_the_same_examination():
    x = M + np.array([0.3, -0.2])
    serial = examine(deviance, x, NO_BOUNDS, 0.1)
    batched = examine(
        deviance, x, NO_BOUNDS, 0.1, batch=lambda points: [deviance(p) for p in points]
    )
    assert serial.messages == batched.messages
    np.testing.assert_array_equal(serial.step, batched.step)


def test_check_convergence_with_upper_bounds_leaves_them_out():
    upper = np.array([1.0, np.inf])  # the minimum's first component is above the bound
    x = np.array([1.0, M[1] - (1.0 - M[0]) * A[0, 1] / A[1, 1]])
    messages, _ = check_convergence(deviance, x, NO_BOUNDS, 0.01, upper=upper)
    assert messages == ()


def test_polish_takes_the_step_only_when_it_lowers_the_objective():
    x = M + np.array([0.2, 0.1])
    found = examine(deviance, x, NO_BOUNDS, 0.01)
    point, value, used = polish(deviance, x, deviance(x), found.step, NO_BOUNDS)
    assert used == 1
    assert value < deviance(x)
    np.testing.assert_allclose(point, M, atol=1e-5)
    same, kept, used = polish(deviance, M, deviance(M), -found.step, NO_BOUNDS)
    assert used == 1
    assert kept == deviance(M)
    np.testing.assert_array_equal(same, M)
    point, value, used = polish(deviance, x, 1.0, None, NO_BOUNDS)  # no step: nothing tried
    assert point is x
    assert value == 1.0
    assert used == 0


def test_polish_stays_inside_the_bounds():
    lower, upper = np.array([0.0, 0.0]), np.array([1.0, 1.9])
    x = np.array([0.5, 0.5])
    point, _, _ = polish(deviance, x, deviance(x), np.array([5.0, 5.0]), lower, upper)
    assert point.tolist() == [1.0, 1.9]
