"""Finite differences against analytic derivatives; steps inside bounds; batch == serial."""

from __future__ import annotations

import numpy as np
import pytest

from mixedmodels.finite_differences import gradient, hessian, jacobian, relative_steps

RULES = ["corner", "diagonal", "diagonal-sequential", "four"]

A = np.array([[4.0, 1.0, -0.5], [1.0, 3.0, 0.25], [-0.5, 0.25, 2.0]])
B = np.array([1.0, -2.0, 0.5])


def quadratic(x):
    return float(0.5 * x @ A @ x + B @ x + 3.0)


def cubic(x):
    """f = x0^3 + x0 x1^2 - 2 x1 x2 + x2^4."""
    return float(x[0] ** 3 + x[0] * x[1] ** 2 - 2.0 * x[1] * x[2] + x[2] ** 4)


def cubic_gradient(x):
    return np.array(
        [3 * x[0] ** 2 + x[1] ** 2, 2 * x[0] * x[1] - 2 * x[2], -2 * x[1] + 4 * x[2] ** 3]
    )


def cubic_hessian(x):
    return np.array(
        [
            [6 * x[0], 2 * x[1], 0.0],
            [2 * x[1], 2 * x[0], -2.0],
            [0.0, -2.0, 12 * x[2] ** 2],
        ]
    )


X = np.array([0.7, -1.3, 0.4])


@pytest.mark.parametrize("cross", RULES)
def test_a_quadratic_is_differentiated_to_rounding(cross):
    h = relative_steps(X, 1e-4)
    grad, hess = hessian(quadratic, X, h, cross=cross)
    np.testing.assert_allclose(grad, A @ X + B, rtol=1e-7)
    # second differences of a quadratic are exact but for rounding (f ~ 1, h^2 ~ 1e-8);
    # the corner rule's O(h) error term vanishes for a quadratic too
    np.testing.assert_allclose(hess, A, atol=1e-5)


@pytest.mark.parametrize("cross", RULES)
def test_a_cubic_has_the_rules_error_order(cross):
    h = relative_steps(X, 1e-3)
    grad, hess = hessian(cubic, X, h, cross=cross)
    np.testing.assert_allclose(grad, cubic_gradient(X), atol=1e-5)
    error = np.abs(hess - cubic_hessian(X)).max()
    # the corner rule's off-diagonal error is O(h); the symmetric rules' O(h^2)
    assert error < (1e-2 if cross == "corner" else 1e-5)


def test_corner_rule_off_diagonal_error_is_first_order():
    """Halving h halves the corner rule's error on a cubic cross term (x0^2 x1)."""

    def f(x):
        return float(x[0] ** 2 * x[1])

    x = np.array([1.0, 2.0])
    errors = []
    for step in (1e-2, 5e-3):
        _, hess = hessian(f, x, np.full(2, step), cross="corner")
        errors.append(hess[1, 0] - 2 * x[0])
    assert errors[1] == pytest.approx(errors[0] / 2, rel=1e-3)


def test_free_components_only():
    free = np.array([True, False, True])
    grad, hess = hessian(cubic, X, relative_steps(X, 1e-4), free=free)
    np.testing.assert_allclose(grad, cubic_gradient(X)[free], atol=1e-6)
    np.testing.assert_allclose(hess, cubic_hessian(X)[np.ix_(free, free)], atol=1e-3)
    # indices mean the same as a mask
    by_index = hessian(cubic, X, relative_steps(X, 1e-4), free=np.array([0, 2]))
    assert np.array_equal(by_index[0], grad)
    assert np.array_equal(by_index[1], hess)


def test_no_free_component_evaluates_only_f0():
    calls = []

    def f(x):
        calls.append(x)
        return 1.0

    grad, hess = hessian(f, X, relative_steps(X, 1e-4), free=np.zeros(3, dtype=bool))
    assert grad.shape == (0,)
    assert hess.shape == (0, 0)
    assert len(calls) == 1


@pytest.mark.parametrize("cross", RULES)
def test_evaluation_count_and_order(cross):
    seen = []

    def f(x):
        seen.append(x.copy())
        return cubic(x)

    h = relative_steps(X, 1e-3)
    hessian(f, X, h, f0=cubic(X), cross=cross)
    per_pair = {"corner": 1, "diagonal": 2, "diagonal-sequential": 2, "four": 4}[cross]
    assert len(seen) == 2 * 3 + per_pair * 3
    moved = [tuple(np.flatnonzero(p != X)) for p in seen[:6]]
    if cross == "corner":  # x + h_i e_i, x - h_i e_i in pairs
        assert moved == [(0,), (0,), (1,), (1,), (2,), (2,)]
        assert seen[0][0] > X[0] > seen[1][0]
    else:  # every plus point, then every minus point
        assert moved == [(0,), (1,), (2,), (0,), (1,), (2,)]
        assert seen[0][0] > X[0] > seen[3][0]
    # the pairs in the order (1, 0), (2, 0), (2, 1)
    assert tuple(np.flatnonzero(seen[6] != X)) == (0, 1)
    assert tuple(np.flatnonzero(seen[6 + 2 * per_pair] != X)) == (1, 2)


def test_steps_stay_inside_a_finite_box():
    x = np.array([0.5, 0.99995, 3.0])
    lower = np.array([0.0, -1.0, 0.0])
    upper = np.array([np.inf, 1.0, np.inf])
    h = relative_steps(x, 1e-4, lower, upper)
    assert h[1] == pytest.approx(0.5 * (upper[1] - x[1]))
    assert h[0] == 1e-4
    assert h[2] == pytest.approx(3e-4)
    seen = []

    def f(p):
        seen.append(p.copy())
        return cubic(p)

    hessian(f, x, h, cross="corner")
    points = np.array(seen)
    assert (points >= lower).all()
    assert (points <= upper).all()
    # only lower given: no clipping (the unbounded rule)
    assert np.array_equal(relative_steps(x, 1e-4, lower), relative_steps(x, 1e-4))


@pytest.mark.parametrize("cross", RULES)
def test_batch_gives_the_serial_numbers(cross):
    batches = []

    def batch(points):
        batches.append(len(points))
        return [cubic(p) for p in reversed(points)][::-1]

    h = relative_steps(X, 1e-3)
    serial = hessian(cubic, X, h, cubic(X), cross=cross)
    batched = hessian(cubic, X, h, cubic(X), batch=batch, cross=cross)
    assert np.array_equal(serial[0], batched[0])
    assert np.array_equal(serial[1], batched[1])
    per_pair = {"corner": 1, "diagonal": 2, "diagonal-sequential": 2, "four": 4}[cross]
    assert batches == [6 + 3 * per_pair]  # one call with every point
    assert np.array_equal(gradient(cubic, X, h), gradient(cubic, X, h, batch=batch))


def test_vector_function_and_leading_entries():
    def f(x):
        return np.array([cubic(x), quadratic(x), x[0] * x[1]])

    def first_two(x):
        return f(x)[:2]

    h = relative_steps(X, 1e-4)
    grad, hess = hessian(f, X, h, cross="diagonal", leading=2, cross_f=first_two)
    assert grad.shape == (3, 3)
    assert hess.shape == (3, 3, 2)
    np.testing.assert_allclose(grad[:, 0], cubic_gradient(X), atol=1e-6)
    np.testing.assert_allclose(grad[:, 2], [X[1], X[0], 0.0], atol=1e-8)
    np.testing.assert_allclose(hess[:, :, 0], cubic_hessian(X), atol=1e-4)
    np.testing.assert_allclose(hess[:, :, 1], A, atol=1e-4)
    full = hessian(f, X, h, cross="diagonal")[1]
    assert np.array_equal(full[:, :, :2], hess)


def test_jacobian_of_a_linear_map_and_of_no_variables():
    M = np.array([[1.0, 2.0, 0.0], [0.0, -1.0, 3.0]])
    J = jacobian(lambda x: M @ x, X, relative_steps(X, 1e-4))
    np.testing.assert_allclose(J, M, atol=1e-9)
    assert jacobian(lambda x: np.ones(4), np.zeros(0), np.zeros(0)).shape == (4, 0)


def test_an_unknown_rule_is_refused():
    with pytest.raises(ValueError, match="'corner'"):
        hessian(cubic, X, relative_steps(X, 1e-4), cross="forward")  # type: ignore[arg-type]


def test_batch_and_cross_f_together_are_refused():
    with pytest.raises(ValueError, match="cross_f"):
        hessian(cubic, X, relative_steps(X, 1e-4), batch=list, cross_f=cubic)
