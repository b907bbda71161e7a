"""BOBYQA wrapper and the convergence checks on functions with known minima."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

try:
    import mixedmodels  # noqa: F401
except ImportError:  # not installed: run from the source tree
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import nlopt  # noqa: E402

from mixedmodels.convergence import (  # noqa: E402
    check_convergence,
    convergence_messages,
    polish,
    positive_definite_step,
)
from mixedmodels.optimize import minimize, run_nlopt  # noqa: E402

H = np.array([[2.0, 0.5, 0.0], [0.5, 1.0, 0.2], [0.0, 0.2, 3.0]])
OPT = np.array([0.7, -0.3, 1.2])


def quadratic(x):
    d = x - OPT
    return float(d @ H @ d) + 5.0


def test_minimize_finds_interior_minimum():
    lower = np.array([0.0, -np.inf, 0.0])
    x, fmin, evaluations, status = minimize(quadratic, np.array([1.0, 0.0, 1.0]), lower)
    np.testing.assert_allclose(x, OPT, atol=1e-4)
    assert fmin == pytest.approx(5.0, abs=1e-8)
    assert evaluations > 0
    assert status != "FAILURE"


def test_minimize_stops_on_the_bound():
    lower = np.zeros(3)
    shifted = OPT.copy()
    shifted[1] = -1.0  # below its bound: the constrained minimum has x[1] = 0

    def f(x):
        d = x - shifted
        return float(d @ d)

    x, _, _, _ = minimize(f, np.array([0.5, 0.5, 0.5]), lower)
    assert x[1] == pytest.approx(0.0, abs=1e-6)
    np.testing.assert_allclose(x[[0, 2]], shifted[[0, 2]], atol=1e-4)


def test_checks_pass_at_the_minimum():
    lower = np.full(3, -np.inf)
    assert convergence_messages(quadratic, OPT, lower, 2e-3) == ()


def test_checks_flag_a_point_away_from_the_minimum():
    lower = np.full(3, -np.inf)
    messages = convergence_messages(quadratic, OPT + 0.05, lower, 2e-3)
    assert any("Newton step" in m and "standard errors" in m for m in messages)


def test_checks_flag_a_saddle():
    lower = np.full(2, -np.inf)
    messages = convergence_messages(lambda x: x[0] ** 2 - x[1] ** 2, np.zeros(2), lower, 2e-3)
    assert any("not positive definite" in m for m in messages)


def test_known_minimum_value_saves_an_evaluation():
    calls = []

    def f(x):
        calls.append(1)
        return quadratic(x)

    lower = np.full(3, -np.inf)
    convergence_messages(f, OPT, lower, 2e-3)
    without = len(calls)
    calls.clear()
    convergence_messages(f, OPT, lower, 2e-3, fmin=quadratic(OPT))
    assert len(calls) == without - 1 == 2 * 3 + 3


def test_newton_polish_lands_on_the_minimum():
    lower = np.array([0.0, -np.inf, 0.0])
    x = OPT + np.array([2e-3, -1e-3, 1e-3])
    messages, step = check_convergence(quadratic, x, lower, 1.0)
    assert messages == ()
    polished, value, used = polish(quadratic, x, quadratic(x), step, lower)
    assert used == 1
    np.testing.assert_allclose(polished, OPT, atol=1e-6)
    assert value < quadratic(x)


def test_polish_keeps_a_worse_trial_out():
    x = OPT.copy()
    polished, value, used = polish(quadratic, x, quadratic(x), np.array([0.1, 0, 0]), np.zeros(3))
    assert used == 1
    assert polished is x
    assert value == quadratic(OPT)


def test_a_start_flagged_near_its_bound_reaches_the_bound_sooner():
    def f(x):  # minimum on the bound x = 0
        return float((x[0] + 1.0) ** 2 + (x[1] - 0.5) ** 2)

    lower = np.zeros(2)
    x0 = np.array([0.01, 0.4])
    plain = minimize(f, x0, lower)
    flagged = minimize(f, x0, lower, near_bound=np.array([True, False]))
    for x, fmin, _, _ in (plain, flagged):
        assert x[0] == pytest.approx(0.0, abs=1e-8)
        assert fmin == pytest.approx(1.0, abs=1e-10)
    assert flagged[2] < plain[2]


def test_zero_variance_fit_needs_no_more_evaluations_than_lme4():
    import mixedmodels as mm
    from mixedmodels.errors import SingularFitWarning

    with pytest.warns(SingularFitWarning):  # honest: the batch variance is zero
        fit = mm.lmer("Yield ~ 1 + (1|Batch)", mm.datasets.load("dyestuff2"))
    assert fit.theta[0] == 0.0
    assert fit.optsum.evaluations <= 10  # lme4 1.1-31 (bobyqa) takes 10 on this model


@pytest.mark.parametrize(
    ("formula", "dataset"),
    [
        ("Reaction ~ Days + (Days | Subject)", "sleepstudy"),
        ("diameter ~ 1 + (1|plate) + (1|sample)", "penicillin"),
        ("size ~ Time + (Time | tree)", "sitka"),
    ],
)
def test_coarse_stop_and_newton_step_reach_the_tight_optimum(formula, dataset):
    import mixedmodels as mm

    data = mm.datasets.load(dataset)
    coarse = mm.lmer(formula, data)
    tight = mm.lmer(formula, data, control={"ftol_abs": 1e-8})
    assert coarse.objective <= tight.objective + 1e-9
    assert coarse.optsum.evaluations <= tight.optsum.evaluations


def test_without_a_newton_step_the_optimiser_goes_on_at_full_tolerance(monkeypatch):
    from dataclasses import replace

    import mixedmodels as mm
    from mixedmodels import optimum

    data = mm.datasets.load("sleepstudy")
    formula = "Reaction ~ Days + (Days | Subject)"
    plain = mm.lmer(formula, data)
    real_examine = optimum.examine
    calls = []

    def no_step_first(*args, **kwargs):
        calls.append(1)
        found = real_examine(*args, **kwargs)
        return replace(found, step=None) if len(calls) == 1 else found

    monkeypatch.setattr(optimum, "examine", no_step_first)
    refined = mm.lmer(formula, data)
    assert len(calls) == 2
    assert refined.optsum.evaluations > plain.optsum.evaluations
    assert refined.objective == pytest.approx(plain.objective, abs=1e-9)


def test_a_stop_just_inside_the_bound_is_moved_onto_it_when_better(monkeypatch):
    from mixedmodels import optimize

    def f(x):  # flat towards the bound x[0] = 0, where the minimum is
        return float(1e-3 * x[0] + (x[1] - 1.0) ** 2)

    stuck = np.array([4e-5, 1.0])
    monkeypatch.setattr(optimize, "_bobyqa", lambda *args, **kwargs: (stuck, f(stuck), "SUCCESS"))
    x, fmin, _, _ = minimize(f, np.array([0.5, 0.5]), np.array([0.0, -np.inf]))
    assert x[0] == 0.0
    assert fmin == pytest.approx(0.0, abs=1e-15)


def test_a_stop_near_the_bound_stays_when_the_bound_is_worse(monkeypatch):
    from mixedmodels import optimize

    def f(x):  # minimum just inside the bound
        return float((x[0] - 5e-4) ** 2)

    inside = np.array([5e-4])
    monkeypatch.setattr(optimize, "_bobyqa", lambda *args, **kwargs: (inside, f(inside), "SUCCESS"))
    x, fmin, _, _ = minimize(f, np.array([0.5]), np.array([0.0]))
    assert x[0] == 5e-4


def test_a_batch_evaluator_gives_the_same_check_as_one_point_at_a_time():
    lower = np.array([0.0, -np.inf, 0.0])
    x = OPT + np.array([2e-3, -1e-3, 1e-3])
    batches = []

    def batch(points):
        batches.append(len(points))
        return [quadratic(p) for p in reversed(points)][::-1]

    serial = check_convergence(quadratic, x, lower, 2e-3, fmin=quadratic(x))
    batched = check_convergence(quadratic, x, lower, 2e-3, fmin=quadratic(x), batch=batch)
    assert batches == [2 * 3 + 3]  # every point of the check in one batch
    assert serial[0] == batched[0]
    np.testing.assert_array_equal(serial[1], batched[1])


def test_the_cholesky_shortcut_leaves_nearly_flat_hessians_to_the_eigendecomposition():
    """Pivots of 1 and an eigenvalue of 1e-12: the shortcut declines, the flat direction is
    then probed as the eigendecomposition finds it."""
    strongly_coupled = np.array([[1.0, 0.0, 0.0], [1e3, 1.0, 0.0], [0.0, 1e3, 1.0]])
    hessian = strongly_coupled @ strongly_coupled.T
    assert np.linalg.eigvalsh(hessian)[0] < 1e-11
    args = (np.ones(3), np.full(3, -np.inf), np.zeros(3), np.ones(3))
    assert positive_definite_step(hessian, *args, 1e-10) is None
    step, inverse_diagonal = positive_definite_step(np.diag([2.0, 4.0, 8.0]), *args, 1e-10)
    np.testing.assert_allclose(step, [-0.5, -0.25, -0.125])
    np.testing.assert_allclose(inverse_diagonal, [0.5, 0.25, 0.125])


@pytest.mark.parametrize("optimizer", ["bobyqa", "neldermead", "cobyla"])
def test_run_nlopt_finds_a_quadratics_minimum_inside_its_bounds(optimizer):
    lower, upper = np.array([0.0, -1.0, 1.5]), np.full(3, 2.0)
    seen = []

    def f(x):
        seen.append(x.copy())
        return quadratic(x)

    x, value, status = run_nlopt(
        f,
        np.array([1.0, 0.0, 1.8]),
        lower,
        0.1,
        upper=upper,
        optimizer=optimizer,
        ftol_abs=1e-10,
        xtol_abs=1e-8,
        maxeval=20_000,
    )
    assert status in ("FTOL_REACHED", "XTOL_REACHED", "SUCCESS")
    # the third component's optimum (1.2) is below its bound: the minimum is on it, the
    # others where the gradient in them vanishes with d_2 = 0.3
    d = -np.linalg.solve(H[:2, :2], H[:2, 2] * 0.3)
    np.testing.assert_allclose(x, [*(OPT[:2] + d), 1.5], atol=2e-3)
    assert value == pytest.approx(min(quadratic(p) for p in seen))
    points = np.array(seen)
    assert (points >= lower).all()
    assert (points <= upper).all()


def test_run_nlopt_reports_a_forced_stop_and_stops_at_maxeval():
    def stop(x):
        raise nlopt.ForcedStop("enough")

    assert run_nlopt(stop, np.zeros(2), np.full(2, -1.0), 0.1)[::2] == (None, "FORCED_STOP")
    calls = []
    x, _, status = run_nlopt(
        lambda x: calls.append(1) or quadratic(x), np.zeros(3), np.full(3, -5.0), 0.5, maxeval=7
    )
    assert status == "MAXEVAL_REACHED"
    assert len(calls) == 7
