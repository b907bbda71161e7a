"""Memory-saving paths of the set-up give the same design and fit as the plain paths."""

from __future__ import annotations

import warnings

import formulaic
import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm
from mixedmodels import aliasing, design, fastmatrix, levels
from mixedmodels.design import build_design


def _slopes_frame(seed: int, n: int = 60_000, levels: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    g = rng.integers(0, levels, n)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    b = rng.normal(size=(levels, 3)) * [0.8, 0.4, 0.3]
    y = 2.0 + 0.5 * x1 - 0.3 * x2 + b[g, 0] + b[g, 1] * x1 + b[g, 2] * x2 + rng.normal(size=n)
    return pd.DataFrame({"y": y, "x1": x1, "x2": x2, "g": pd.Categorical(g)})


def _plain_paths(monkeypatch) -> None:
    """The paths before the memory work: copies everywhere, Gram-Schmidt for every X."""
    monkeypatch.setattr(aliasing, "clearly_full_rank", lambda X: False)
    monkeypatch.setattr(design, "shared_columns", lambda matrix, *args: matrix)
    monkeypatch.setattr(design, "shared_response", lambda y, *args: y)


def _fit(formula: str, data: pd.DataFrame):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mm.lmer(formula, data)


@pytest.mark.parametrize(
    "formula", ["y ~ x1 + x2 + (1 + x1 + x2 | g)", "y ~ x1 + (1 | g)", "y ~ x2 + (0 + x1 | g)"]
)
def test_fit_equals_the_plain_paths(formula, monkeypatch):
    data = _slopes_frame(11)
    shared = _fit(formula, data)
    assert shared.design.X.size >= aliasing.SMALL_X
    with monkeypatch.context() as patch:
        _plain_paths(patch)
        plain = _fit(formula, data.copy())
    np.testing.assert_array_equal(shared.design.X, plain.design.X)
    np.testing.assert_array_equal(shared.design.y, plain.design.y)
    for a, b in zip(shared.design.blocks, plain.design.blocks, strict=True):
        np.testing.assert_array_equal(a.matrix, b.matrix)
        np.testing.assert_array_equal(a.codes, b.codes)
        assert a.levels == b.levels
    np.testing.assert_allclose(shared.theta, plain.theta, rtol=1e-10, atol=1e-12)
    assert shared.objective == pytest.approx(plain.objective, rel=1e-13)
    np.testing.assert_allclose(shared.fitted, plain.fitted, rtol=1e-10)
    np.testing.assert_allclose(shared.residuals, plain.residuals, rtol=1e-8, atol=1e-10)


def test_term_matrix_is_a_view_of_x_and_y_of_the_data():
    data = _slopes_frame(12)
    d = build_design("y ~ x1 + x2 + (1 + x1 + x2 | g)", data)
    assert np.shares_memory(d.blocks[0].matrix, d.X)
    assert np.shares_memory(d.y, data["y"].to_numpy())


def test_shared_columns_only_for_equal_runs_of_x():
    rng = np.random.default_rng(3)
    n = aliasing.SMALL_X
    X = np.asfortranarray(np.column_stack([np.ones(n), rng.normal(size=n), rng.normal(size=n)]))
    names = ("(Intercept)", "x1", "x2")
    same = X[:, 1:3].copy()
    view = design.shared_columns(same, ("x1", "x2"), X, names)
    assert np.shares_memory(view, X)
    np.testing.assert_array_equal(view, same)
    other = same.copy()
    other[-1, 1] += 1.0
    assert design.shared_columns(other, ("x1", "x2"), X, names) is other  # values differ
    assert design.shared_columns(same, ("x2", "x1"), X, names) is same  # not a run
    small = X[:10, :1].copy()
    assert design.shared_columns(small, ("(Intercept)",), X[:10], names) is small


def test_shared_response_needs_a_float_column_with_equal_values():
    n = aliasing.SMALL_X
    rng = np.random.default_rng(4)
    frame = pd.DataFrame({"y": rng.normal(size=n), "k": np.arange(n)})
    view = fastmatrix.ColumnCache(frame)
    y = frame["y"].to_numpy().copy()
    assert np.shares_memory(design.shared_response(y, view, "y"), frame["y"].to_numpy())
    changed = y.copy()
    changed[0] += 1.0
    assert design.shared_response(changed, view, "y") is changed
    k = np.arange(n, dtype=float)
    assert design.shared_response(k, view, "k") is k  # integer column: no float view
    assert design.shared_response(y, view, "log(y)") is y


@pytest.mark.parametrize("seed", range(6))
def test_clearly_full_rank_keeps_what_gram_schmidt_keeps(seed, monkeypatch):
    rng = np.random.default_rng(seed)
    n = aliasing.SMALL_X // 4 + 10
    cols = [np.ones(n), rng.normal(size=n), rng.integers(0, 2, n).astype(float)]
    if seed % 3 == 1:
        cols.append(cols[1] * 2.0 - cols[2])  # exactly aliased
    if seed % 3 == 2:
        cols.append(cols[1] + 1e-9 * rng.normal(size=n))  # aliased within the tolerance
        cols.append(np.zeros(n))
    if seed >= 3:
        cols.append(cols[1] + 1e-5 * rng.normal(size=n))  # close but not aliased
    X = np.asfortranarray(np.column_stack(cols))
    names = tuple(f"c{j}" for j in range(X.shape[1]))
    keep = aliasing.drop_aliased(X, names)
    with monkeypatch.context() as patch:
        patch.setattr(aliasing, "clearly_full_rank", lambda X: False)
        plain = aliasing.drop_aliased(X, names)
    np.testing.assert_array_equal(keep, plain)
    if aliasing.clearly_full_rank(X):
        assert keep.size == X.shape[1]


def test_categorical_codes_equal_remove_unused_categories():
    rng = np.random.default_rng(5)
    for used in (["a", "b", "c", "d"], ["b", "d"], ["d"]):
        values = pd.Series(
            pd.Categorical(rng.choice(used, 500), categories=["d", "a", "c", "b", "e"])
        )
        codes, labels = levels.sort_levels(values)
        cat = values.cat.remove_unused_categories()
        np.testing.assert_array_equal(codes, cat.cat.codes.to_numpy(np.intp))
        assert labels == [str(c) for c in cat.cat.categories]
        assert codes.dtype == np.intp


@pytest.mark.parametrize("spec", ["y ~ x + f", "y ~ f:g + x", "0 + f"])
def test_plan_check_in_chunks_accepts_and_rejects_as_a_whole(spec, monkeypatch):
    rng = np.random.default_rng(6)
    n = 50
    frame = pd.DataFrame(
        {
            "y": rng.normal(size=n),
            "x": rng.normal(size=n),
            "f": pd.Categorical(rng.choice(list("abc"), n)),
            "g": rng.choice(["u", "v"], n),
        }
    )
    monkeypatch.setattr(fastmatrix, "VERIFY_ROWS", 7)  # several chunks and a short last one
    result = formulaic.model_matrix(spec, frame)
    has_lhs = hasattr(result, "rhs")
    rhs = result.rhs if has_lhs else result
    plan = fastmatrix.make_plan(rhs.model_spec, result.lhs.model_spec if has_lhs else None)
    assert plan is not None
    assert fastmatrix.plan_matches(plan, frame, result, has_lhs)
    rhs.iloc[n - 1, rhs.shape[1] - 1] += 1.0  # a difference in the last chunk only
    assert not fastmatrix.plan_matches(plan, frame, result, has_lhs)
    if has_lhs:
        rhs.iloc[n - 1, rhs.shape[1] - 1] -= 1.0
        assert fastmatrix.plan_matches(plan, frame, result, has_lhs)
        result.lhs.iloc[3, 0] += 1e-9  # the response must match exactly
        assert not fastmatrix.plan_matches(plan, frame, result, has_lhs)


def test_plan_matrix_is_column_major_and_equal_to_formulaic():
    frame = _slopes_frame(7, n=200, levels=5)
    result = formulaic.model_matrix("y ~ x1 + x2 + g", frame)
    fastmatrix.remember("y ~ x1 + x2 + g", frame, result)
    fast = fastmatrix.cached_model_matrix("y ~ x1 + x2 + g", frame)
    assert fast is not None
    values = np.asarray(fast.rhs)
    assert values.flags.f_contiguous
    np.testing.assert_array_equal(values, np.asarray(result.rhs, dtype=float))
