"""The chunked second pass: sums of chunks of rows, merged, against the in-memory statistics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm
from mixedmodels.sources.accumulate import PartialStats, chunk_arrays, estimate_bytes

duckdb = pytest.importorskip("duckdb")

FORMULA = "y ~ x + f + (1 + x | g) + (1 | h)"


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    rng = np.random.default_rng(21)
    n = 400
    frame = pd.DataFrame(
        {
            "g": rng.choice([f"g{i:02d}" for i in range(25)], n),
            "h": rng.integers(0, 7, n),
            "f": rng.choice(["a", "b", "c"], n),
            "x": rng.normal(10.0, 2.0, n),
        }
    )
    frame["y"] = 1.0 + 0.3 * frame["x"] + rng.normal(size=n)
    return frame


@pytest.fixture(scope="module")
def plan(data):
    source = mm.sources.DuckDBSource(duckdb.connect().from_df(data), method="chunks")
    return source.plan(FORMULA)


def _sums(plan, frames) -> PartialStats:
    total = PartialStats(plan)
    for frame in frames:
        total.add(chunk_arrays(plan, frame))
    return total


def test_chunked_sums_are_the_in_memory_statistics(data, plan):
    keep = np.arange(plan.p_full)
    stats = _sums(plan, [data]).finish(keep)
    model = mm.LinearMixedModel(FORMULA, data)
    theta = model.start_theta()
    in_memory = model.objective(model.scaling.to_theta(theta))
    streamed = mm.sources.DuckDBSource(duckdb.connect().from_df(data), method="chunks")
    out = streamed.model(FORMULA)
    assert stats.n == len(data)
    assert out.objective(model.scaling.to_theta(theta)) == pytest.approx(in_memory, rel=1e-11)


@pytest.mark.parametrize("pieces", [2, 7])
def test_the_chunking_and_merging_do_not_change_the_sums(data, plan, pieces):
    keep = np.arange(plan.p_full)
    whole = _sums(plan, [data]).finish(keep)
    parts = np.array_split(np.arange(len(data)), pieces)
    chunked = _sums(plan, [data.iloc[p] for p in parts]).finish(keep)
    halves = [_sums(plan, [data.iloc[p]]) for p in np.array_split(np.arange(len(data)), 2)]
    merged = halves[0].merge(halves[1]).finish(keep)
    for got in (chunked, merged):
        assert got.n == whole.n
        np.testing.assert_allclose(got.A11, whole.A11, rtol=1e-12, atol=1e-9)
        np.testing.assert_allclose(got.Arr, whole.Arr, rtol=1e-12, atol=1e-9)
        np.testing.assert_allclose(_dense(got.Ar1), _dense(whole.Ar1), rtol=1e-12, atol=1e-9)


def test_an_empty_chunk_adds_nothing(data, plan):
    keep = np.arange(plan.p_full)
    whole = _sums(plan, [data]).finish(keep)
    again = _sums(plan, [data.iloc[:0], data, data.iloc[:0]]).finish(keep)
    np.testing.assert_array_equal(again.Arr, whole.Arr)


def test_the_memory_estimate_grows_with_the_levels(data):
    def estimate(levels: int) -> int:
        frame = data.assign(g=[f"g{i % levels}" for i in range(len(data))])
        source = mm.sources.DuckDBSource(duckdb.connect().from_df(frame), method="chunks")
        return estimate_bytes(source.plan(FORMULA))

    small, large = estimate(5), estimate(50)
    assert 0 < small < large


def _dense(matrix):
    return matrix.toarray() if hasattr(matrix, "toarray") else np.asarray(matrix)
