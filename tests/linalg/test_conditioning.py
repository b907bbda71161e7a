"""Centring in one place (issue 13, item 4): the engine sums centred columns and a shifted
response, maps everything back exactly, and the objective no longer depends on a shift of y
or of a covariate, nor on the order of the rows. lme4 values in tests/numerics_reference."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from numerics_reference import fit, lme4, problem  # noqa: E402

import mixedmodels as mm  # noqa: E402
from mixedmodels.linalg import (  # noqa: E402
    Workspace,
    compute_statistics,
    solve_at_optimum,
    update_factor,
)
from mixedmodels.linalg.conditioning import (  # noqa: E402
    Conditioning,
    choose_conditioning,
    least_squares_shift,
)
from mixedmodels.linalg.factor import objective_parts  # noqa: E402
from mixedmodels.linalg.rows import RowBlock, row_quadratic  # noqa: E402


def _problem(rng, n=200, levels=15, shift=1e4, mean=1e5):
    g = np.concatenate([np.arange(levels), rng.integers(0, levels, n - levels)])
    x = shift + rng.normal(size=n)
    z = rng.normal(size=n)
    X = np.column_stack([np.ones(n), x, z])
    Z = np.column_stack([np.ones(n), x])
    b = rng.normal(size=(levels, 2)) * [1.0, 0.5]
    y = mean + X @ [1.0, 2.0, -1.0] + np.einsum("na,na->n", Z, b[g]) + rng.normal(size=n)
    return [(g.astype(np.intp), Z, levels)], X, y


@pytest.mark.parametrize("weighted", [False, True])
def test_conditioned_statistics_give_the_plain_factor_estimates_and_objective(weighted):
    rng = np.random.default_rng(1)
    blocks, X, y = _problem(rng, shift=3.0, mean=2.0)  # small shifts: the plain sums are exact
    w = rng.uniform(0.5, 2.0, y.size) if weighted else None
    conditioning = choose_conditioning(blocks, X, y, w, [np.array([True, True])])
    assert conditioning.block_centres[0] is not None
    assert conditioning.x_centres is not None
    plain = compute_statistics(blocks, X, y, w)
    centred = compute_statistics(blocks, X, y, w, conditioning=conditioning)
    lam = np.array([[0.8, 0.0], [0.3, 0.4]])
    plain, centred = Workspace(plain), Workspace(centred)
    a, b = update_factor(plain, lam, []), update_factor(centred, lam, [])
    np.testing.assert_allclose(b.Lrr, a.Lrr, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(b.L11, a.L11, rtol=1e-12)
    np.testing.assert_allclose(objective_parts(centred, lam, []), objective_parts(plain, lam, []))
    sa, sb = solve_at_optimum(plain, a, lam, []), solve_at_optimum(centred, b, lam, [])
    np.testing.assert_allclose(sb.beta, sa.beta, rtol=1e-9)
    np.testing.assert_allclose(sb.u[0], sa.u[0], rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(sb.beta_cov_unscaled, sa.beta_cov_unscaled, rtol=1e-9)
    np.testing.assert_allclose(sb.u_cov_unscaled[0], sa.u_cov_unscaled[0], rtol=1e-9)


@pytest.mark.parametrize("weighted", [False, True])
def test_row_quadratic_forms_of_conditioned_statistics_are_the_plain_ones(weighted):
    """Leverage and prediction variances read Ar1 of the engine's (centred) columns."""
    rng = np.random.default_rng(4)
    blocks, X, y = _problem(rng, shift=3.0, mean=2.0)
    h = rng.integers(0, 6, y.size).astype(np.intp)
    Zh = np.column_stack([np.ones(y.size), rng.normal(size=y.size) + 4.0])
    blocks = [blocks[0], (h, Zh, 6)]
    w = rng.uniform(0.5, 2.0, y.size) if weighted else None
    conditioning = choose_conditioning(blocks, X, y, w, [np.array([True, True])] * 2)
    assert all(c is not None for c in conditioning.block_centres)
    assert conditioning.x_centres is not None
    plain = compute_statistics(blocks, X, y, w)
    centred = compute_statistics(blocks, X, y, w, conditioning=conditioning)
    lams = [np.array([[0.8, 0.0], [0.3, 0.4]]), np.array([[0.5, 0.0], [-0.2, 0.7]])]
    rows = [RowBlock(codes=c, matrix=m) for c, m, _ in blocks]
    scale = None if w is None else np.sqrt(w)
    factor_plain = update_factor(Workspace(plain), lams[0], lams[1:])
    factor_centred = update_factor(Workspace(centred), lams[0], lams[1:])
    expected = row_quadratic(plain, factor_plain, lams, rows, X, scale)
    found = row_quadratic(centred, factor_centred, lams, rows, X, scale)
    np.testing.assert_allclose(found, expected, rtol=1e-9)


def test_the_shift_is_least_squares_and_never_along_an_aliased_column():
    rng = np.random.default_rng(2)
    X = np.column_stack([np.ones(50), 7.0 + rng.normal(size=50)])
    y = X @ [3.0, -2.0] + rng.normal(size=50)
    plain = Conditioning((), (), None, -1, np.zeros(2))
    ols = np.linalg.lstsq(X, y, rcond=None)[0]
    np.testing.assert_allclose(least_squares_shift(plain, X, y, None), ols, rtol=1e-10)
    aliased = np.column_stack([X, 2.0 * X[:, 1]])
    shift = least_squares_shift(Conditioning((), (), None, -1, np.zeros(3)), aliased, y, None)
    assert shift[2] == 0.0
    np.testing.assert_allclose(shift[:2], ols, rtol=1e-10)
    # in the centred columns' coordinates: y - X~ s is the same residual
    centred = choose_conditioning([], X, y, None, [])
    assert centred.x_centres is not None
    residual = centred.response(centred.fixed_columns(X), y)
    np.testing.assert_allclose(residual, y - X @ ols, atol=1e-10)


def test_a_response_at_1e6_gives_lme4s_deviance_as_the_response_minus_1e6_does():
    """Before the fix: 905.2339 for y, 905.2874 for y - 1e6 (lme4: 905.2874 for both)."""
    shifted, _ = fit("bigmean")
    plain, _ = fit("bigmean-minus")
    assert shifted.objective == pytest.approx(plain.objective, abs=1e-8)  # 1e-11 relative
    assert shifted.objective == pytest.approx(lme4()["bigmean"]["objective"], abs=1e-6)
    assert shifted.fixef["x"] == pytest.approx(plain.fixef["x"], rel=1e-9)
    assert shifted.fixef["(Intercept)"] - 1e6 == pytest.approx(plain.fixef["(Intercept)"], abs=1e-7)
    np.testing.assert_allclose(shifted.theta, plain.theta, rtol=1e-8)


@pytest.mark.parametrize("slope", [False, True])
def test_a_covariate_at_1e4_does_not_make_the_fit_depend_on_row_order(slope):
    """x = 1e4 + N(0, 1), residual SD 0.01. Before the fix the deviance was -1789.05 and, with
    the rows shuffled, -1789.65 (lme4: -1789.2908 both). With x in a random slope too, lme4's
    bobyqa stops on a false boundary (-1789.27); its Nelder-Mead and we reach -1790.7131."""
    suffix = "-slope" if slope else ""
    a, alarms_a = fit(f"shifted{suffix}")
    b, alarms_b = fit(f"shifted-rows{suffix}")
    ref = lme4()[f"shifted{suffix}"]
    assert a.objective == pytest.approx(b.objective, abs=1e-8)
    assert a.objective <= ref["objective"] + 1e-6 * abs(ref["objective"])
    assert a.objective == pytest.approx(ref["objective"], abs=2e-3)
    np.testing.assert_allclose(a.fixef.to_numpy(), b.fixef.to_numpy(), rtol=1e-9)
    assert alarms_a == alarms_b == ()


def test_a_refit_with_the_same_response_is_the_same_fit():
    """Sitka's random slope: the refit moved theta by 6.6e-8 when the two paths centred the
    response differently; one rule gives the same sums and so the same fit, to the bit."""
    data = mm.datasets.load("sitka")
    model = mm.LinearMixedModel("size ~ Time + (Time | tree)", data)
    first = model.fit()
    again = model.refit(model.design.y)
    np.testing.assert_array_equal(again.theta, first.theta)
    assert again.objective == first.objective
    np.testing.assert_array_equal(again.fixef.to_numpy(), first.fixef.to_numpy())


def test_a_refit_to_another_response_uses_the_rule_for_that_response():
    data, formula, reml = problem("bigmean-minus")
    model = mm.LinearMixedModel(formula, data)
    lifted = model.refit(model.design.y + 1e6, REML=reml)
    assert lifted.objective == pytest.approx(lme4()["bigmean"]["objective"], abs=1e-6)
    shift = model.stats.conditioning.shift
    assert abs(lifted.model.stats.conditioning.shift[0] - shift[0] - 1e6) < 1e-6


def test_the_engine_holds_its_digits_at_a_large_theta_and_a_small_residual():
    """slope20-140 at lme4's theta (about 1e3, residual SD 0.01): the Schur complement of a
    vector-valued first block formed from lam M^-1 lam' lost log|R_X|^2 to 1e-5 and r^2 to
    8e-7; with its factor lam L^-T it agrees with a dense Cholesky of [Z Lambda X y] to 1e-9."""
    data, formula, _ = problem("slope20-140")
    model = mm.LinearMixedModel(formula, data)
    theta = np.asarray(lme4()["slope20-140"]["theta"])
    lams = model.lambdas(theta)
    logdet_z, logdet_x, r2 = objective_parts(model.workspace, lams[0], lams[1:])
    block = model.design.blocks[0]
    n = model.design.n
    ZL = np.zeros((n, block.n_levels * block.size))
    rows = block.matrix @ lams[0]
    for a in range(block.size):
        ZL[np.arange(n), block.codes * block.size + a] = rows[:, a]
    C = np.column_stack([ZL, model.design.X, model.design.y])
    q = ZL.shape[1]
    G = C.T @ C
    G[:q, :q] += np.eye(q)
    d = np.diag(np.linalg.cholesky(G))
    assert logdet_z == pytest.approx(2 * np.log(d[:q]).sum(), abs=1e-9)
    assert logdet_x == pytest.approx(2 * np.log(d[q:-1]).sum(), abs=1e-8)
    assert r2 == pytest.approx(d[-1] ** 2, rel=1e-8)


def test_streamed_sums_use_the_same_rule():
    duckdb = pytest.importorskip("duckdb")
    data, formula, reml = problem("bigmean")
    frame = data.drop(columns=["problem", "y0"])
    expected, _ = fit("bigmean")
    for method in ("chunks", "sql"):
        relation = duckdb.connect().from_df(frame)
        source = mm.sources.DuckDBSource(relation, chunk_size=64, method=method)
        streamed = mm.lmer(formula, source, REML=reml)
        assert streamed.objective == pytest.approx(expected.objective, abs=1e-8)
        np.testing.assert_allclose(streamed.fixef.to_numpy(), expected.fixef.to_numpy(), rtol=1e-9)
        conditioning = streamed.model.stats.conditioning
        assert conditioning.shift[0] == pytest.approx(1e6, rel=1e-5)  # from the first rows
        assert conditioning.x_centres is None  # x ~ N(0, 1): no digits to win by centring


def test_plain_columns_where_nothing_is_centred():
    data = pd.DataFrame({"y": [1.0, 2.0, 3.5, 2.5, 4.0, 3.0], "g": list("aabbcc")})
    model = mm.LinearMixedModel("y ~ 0 + (1 | g)", data)
    assert model.stats.conditioning.is_identity


def test_a_slope_covariate_shifted_by_1e6_fits_as_the_unshifted_one():
    """Issue 13 item 7: before the centring, "the objective is not finite at the starting
    values". Same criterion and slope; the shifted intercept's correlation with the slope is
    -1 to rounding, so the fit is singular there (as lme4's theta diagonal says too)."""
    data = mm.datasets.load("sleepstudy")
    plain = mm.lmer("Reaction ~ Days + (Days | Subject)", data)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        shifted = mm.lmer("Reaction ~ Days + (Days | Subject)", data.assign(Days=data.Days + 1e6))
    alarms = [
        w
        for w in caught
        if issubclass(w.category, mm.errors.ConvergenceWarning)
        and not issubclass(w.category, mm.errors.SingularFitWarning)
    ]
    assert alarms == []
    assert shifted.objective == pytest.approx(plain.objective, abs=1e-8)
    assert shifted.fixef["Days"] == pytest.approx(plain.fixef["Days"], rel=1e-9)
