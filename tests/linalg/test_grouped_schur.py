"""The sparse route's compact vector from per-count sums against the dense scatter."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm
from mixedmodels.linalg import grouped_schur, kernels, sparse_rest

pytest.importorskip("cvxopt")


@pytest.fixture
def always_sparse(monkeypatch):
    """Take the sparse route for any rest, however small or dense."""
    monkeypatch.setattr(sparse_rest, "SPARSE_MIN", 1)
    monkeypatch.setattr(sparse_rest, "SPARSE_MAX_DENSITY", 1.0)


def ratings(students: int = 300, teachers: int = 40, depts: int = 5, seed: int = 0):
    """InstEval's shape: 1-6 ratings per student (shared counts), teachers in departments."""
    rng = np.random.default_rng(seed)
    per_student = rng.integers(1, 7, students)
    s = np.repeat(np.arange(students), per_student)
    d = rng.integers(0, teachers, s.size)
    dept = d % depts
    y = (
        rng.normal(size=students)[s] * 0.6
        + rng.normal(size=teachers)[d] * 0.4
        + rng.normal(size=depts)[dept] * 0.3
        + 3.0
        + rng.normal(size=s.size)
    )
    return pd.DataFrame(
        {
            "y": y,
            "x": rng.normal(size=s.size),
            "c": rng.choice(["a", "b", "c"], s.size),
            "s": s,
            "d": d,
            "dept": dept,
            "w": rng.uniform(0.5, 2.0, s.size),
        }
    )


FORMULA = "y ~ x + c + (1|s) + (1|d) + (1|dept:c)"


def dense_compact(workspace, lams) -> np.ndarray:
    """The compact vector by the dense scatter, scaling and gather."""
    S, L11, W = workspace._buffers()
    kernels.first_block(workspace.stats.A11, np.ascontiguousarray(lams[0]), L11, W)
    kernels.schur_lower(
        S,
        workspace.stats.Arr,
        workspace.last_conditioned,
        workspace.ptr,
        workspace.rows,
        workspace.values_conditioned,
        W,
    )
    scale = np.ones(workspace.m)
    for off, lev, lam in zip(workspace.offsets, workspace.rest_levels, lams[1:], strict=True):
        scale[off : off + lev] = lam[0, 0]
    kernels.scale_rest(S, scale, workspace.q_rest)
    return workspace.sparse.gather(S).copy()


@pytest.mark.usefixtures("always_sparse")
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_grouped_compact_equals_dense_gather(seed):
    model = mm.LinearMixedModel(FORMULA, ratings(seed=seed))
    workspace = model.workspace
    grouped = workspace._grouped()
    assert grouped is not None
    assert grouped.counts.size == 6  # one weight per row count, not per student
    rng = np.random.default_rng(seed)
    for _ in range(3):
        lams = model.lambdas(rng.uniform(0.05, 2.0, model.n_theta))
        fast = grouped.compact(lams[0][0, 0], lams[1:]).copy()
        slow = dense_compact(workspace, lams)
        assert np.max(np.abs(fast - slow)) <= 1e-13 * np.abs(slow).max()


@pytest.mark.usefixtures("always_sparse")
def test_grouped_objective_equals_ungrouped(monkeypatch):
    data = ratings(seed=4)
    grouped = mm.LinearMixedModel(FORMULA, data)
    assert grouped.workspace._grouped() is not None
    monkeypatch.setattr(grouped_schur, "MAX_SHARE_OF_LEVELS", 0.0)
    plain = mm.LinearMixedModel(FORMULA, data)
    assert plain.workspace._grouped() is None
    assert plain.workspace.sparse is not None
    rng = np.random.default_rng(5)
    for _ in range(4):
        theta = rng.uniform(0.05, 2.0, grouped.n_theta)
        for reml in (True, False):
            assert grouped.objective(theta, reml) == pytest.approx(
                plain.objective(theta, reml), rel=1e-12
            )


@pytest.mark.usefixtures("always_sparse")
def test_grouped_fit_equals_ungrouped_fit(monkeypatch):
    data = ratings(seed=6)
    fast = mm.lmer(FORMULA, data)
    monkeypatch.setattr(grouped_schur, "MAX_SHARE_OF_LEVELS", 0.0)
    slow = mm.lmer(FORMULA, data)
    assert fast.model.workspace._grouped() is not None
    assert slow.model.workspace._grouped() is None
    assert fast.reml_criterion == pytest.approx(slow.reml_criterion, abs=1e-8)
    assert np.allclose(fast.theta, slow.theta, atol=1e-4)
    assert np.allclose(fast.fixef, slow.fixef, atol=1e-6)


@pytest.mark.usefixtures("always_sparse")
def test_same_bits_for_any_partition(monkeypatch):
    model = mm.LinearMixedModel(FORMULA, ratings(seed=7))
    lams = model.lambdas(np.array([0.8, 0.5, 0.3]))
    shared = model.workspace._grouped().compact(lams[0][0, 0], lams[1:]).copy()
    monkeypatch.setattr(grouped_schur, "RANGES", 1)
    whole = mm.LinearMixedModel(FORMULA, ratings(seed=7))
    one = whole.workspace._grouped()
    assert len(one.ranges) == 1
    assert np.array_equal(one.compact(lams[0][0, 0], lams[1:]), shared)


@pytest.mark.usefixtures("always_sparse")
@pytest.mark.parametrize(
    ("formula", "weights"),
    [
        (FORMULA, "w"),  # prior weights: every student's weight is its own
        ("y ~ x + (1 + x|s) + (1|d)", None),  # a vector first block
        ("y ~ x + (1|s) + (1 + x|d)", None),  # a vector rest block
    ],
)
def test_not_grouped_where_it_does_not_apply(formula, weights):
    model = mm.LinearMixedModel(formula, ratings(seed=8), weights=weights)
    workspace = model.workspace
    assert workspace.sparse is not None
    assert workspace._grouped() is None


def test_insteval_shape_takes_the_grouped_route():
    data = ratings(students=3000, teachers=700, depts=14, seed=9)
    workspace = mm.LinearMixedModel(FORMULA, data).workspace
    assert workspace.sparse is not None
    grouped = workspace._grouped()
    assert grouped is not None
    assert grouped.n_entries < workspace.pairs


def one_pass_csr(workspace, order, key_of_level, position, n_compact):
    """``G`` in CSR form from one count pass and one store pass over all levels."""
    from mixedmodels.linalg import sparse_kernels

    c = np.ascontiguousarray(workspace.values_conditioned[:, 0])
    args = (workspace.ptr, workspace.rows, c, order, key_of_level, position)
    count = sparse_kernels.count_grouped(*args, n_compact)
    assert count.size == n_compact  # every pair has a position
    indptr = np.concatenate([[0], np.cumsum(count)])
    keys = np.empty(indptr[-1], dtype=np.int32)
    values = np.empty(indptr[-1])
    sparse_kernels.store_grouped(*args, indptr[:-1].copy(), keys, values)
    return indptr, keys, values


@pytest.mark.usefixtures("always_sparse")
def test_halves_joined_equal_one_pass_and_slices_equal_rows():
    model = mm.LinearMixedModel(FORMULA, ratings(seed=10))
    workspace = model.workspace
    grouped = workspace._grouped()
    sparse = workspace.sparse
    a11 = np.asarray(model.stats.A11).reshape(-1)
    _, key_of_level = np.unique(a11, return_inverse=True)
    order = np.argsort(key_of_level, kind="stable").astype(np.int64)
    position = np.full((workspace.m, workspace.m), -1, dtype=np.int32)
    position[sparse.I, sparse.J] = np.arange(sparse.size)
    args = (order, key_of_level.astype(np.int64), position, sparse.size)
    one_pass = one_pass_csr(workspace, *args)
    halves = grouped_schur._build(workspace, *args)
    for a, b in zip(one_pass, halves, strict=True):
        assert np.array_equal(a, b)
    # the sliced layout sums every position in CSR order: the row-by-row kernel's bits
    indptr, keys, values = one_pass
    assert grouped.n_entries == values.size
    used = grouped.position >= 0
    at = grouped.position[used]
    base, pair_class, diagonal = (np.empty(sparse.size) for _ in range(3))
    base[at], pair_class[at], diagonal[at] = (
        grouped.base[used],
        grouped.pair_class[used],
        grouped.on_diagonal[used],
    )
    lams = model.lambdas(np.array([0.9, 0.6, 0.4]))
    t2 = lams[0][0, 0] ** 2
    weights = t2 / (t2 * grouped.counts + 1.0)
    scales = np.array([lams[1][0, 0], lams[2][0, 0], 1.0])
    factors = np.multiply.outer(scales, scales).reshape(-1)
    by_rows = np.empty(sparse.size)
    for e in range(sparse.size):  # row by row, each sum in CSR order
        acc = 0.0
        for t in range(indptr[e], indptr[e + 1]):
            acc += values[t] * weights[keys[t]]
        by_rows[e] = (base[e] - acc) * factors[int(pair_class[e])] + diagonal[e]
    assert np.array_equal(grouped.compact(lams[0][0, 0], lams[1:]), by_rows)
