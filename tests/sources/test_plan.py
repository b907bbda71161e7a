"""First pass: levels, transforms, checks and the statistics it leads to, against pandas."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm
from mixedmodels.errors import DesignError, MissingColumnError, RankDeficiencyWarning

duckdb = pytest.importorskip("duckdb")


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    """Crossed factors with string and integer levels, weights, an offset, a few NaNs."""
    rng = np.random.default_rng(7)
    n = 600
    frame = pd.DataFrame(
        {
            "g": rng.choice([f"s{i:02d}" for i in range(30)], n),
            "h": rng.integers(0, 12, n),
            "f": rng.choice(["lo", "mid", "hi"], n),
            "x": rng.normal(50.0, 5.0, n),
            "w": rng.uniform(0.5, 2.0, n),
            "off": rng.normal(size=n),
        }
    )
    g_effect = dict(zip(sorted(frame["g"].unique()), rng.normal(size=30), strict=True))
    frame["y"] = (
        1.0 + 0.1 * frame["x"] + frame["g"].map(g_effect) + rng.normal(size=n) + frame["off"]
    )
    frame.loc[[3, 17, 40], "x"] = np.nan
    frame.loc[[5], "f"] = None
    return frame


def streamed(formula, frame, **kwargs):
    options = {k: kwargs.pop(k) for k in ("method", "factors", "chunk_size") if k in kwargs}
    source = mm.sources.DuckDBSource(duckdb.connect().from_df(frame), **options)
    return source.model(formula, **kwargs)


def assert_same_statistics(model, expected) -> None:
    """Same design metadata and the same objective at a few thetas."""
    assert model.design.fixed_names == expected.design.fixed_names
    assert model.design.n == expected.design.n
    assert model.design.n_dropped == expected.design.n_dropped
    assert [b.levels for b in model.design.blocks] == [b.levels for b in expected.design.blocks]
    assert model.theta_names == expected.theta_names
    rng = np.random.default_rng(1)
    for _ in range(3):
        theta = expected.start_theta() + 0.3 * rng.random(expected.n_theta)
        for reml in (True, False):
            assert model.objective(theta, reml) == pytest.approx(
                expected.objective(theta, reml), rel=1e-11
            )
    for mine, theirs in zip(model.scaling.transforms, expected.scaling.transforms, strict=True):
        np.testing.assert_allclose(mine, theirs, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("method", ["chunks", "sql"])
@pytest.mark.parametrize(
    ("formula", "kwargs"),
    [
        ("y ~ x + f + (1 + x | g) + (1 | h)", {}),
        ("y ~ x * f + (1 | g:h) + (0 + x | g)", {}),
        ("y ~ x + (1 | g) + (1 | h)", {"weights": "w", "offset": "off"}),
        ("y ~ x + (1 | h) + (0 + x | g) + (1 | g)", {}),  # a block of two terms, not first
    ],
)
def test_statistics_match_pandas(data, formula, kwargs, method):
    expected = mm.LinearMixedModel(formula, data, **kwargs)
    assert_same_statistics(
        streamed(formula, data, chunk_size=97, method=method, **kwargs), expected
    )


def test_stateful_transforms_use_the_whole_data(data):
    formula = "y ~ scale(x) + (1 | g) + (0 + center(x) | h) + (0 + x | h)"
    expected = mm.LinearMixedModel(formula, data)
    assert_same_statistics(streamed(formula, data, chunk_size=50), expected)


def test_factors_argument_makes_integer_codes_a_factor(data):
    frame = data.assign(hf=data["h"].astype("category"))
    expected = mm.LinearMixedModel("y ~ hf + (1 | g)", frame)
    model = streamed("y ~ h + (1 | g)", data, factors=["h"])
    assert model.design.fixed_names == tuple(
        n.replace("hf", "h") for n in expected.design.fixed_names
    )
    theta = np.array([0.7])
    assert model.objective(theta) == pytest.approx(expected.objective(theta), rel=1e-11)


def test_aliased_columns_are_dropped_as_in_memory(data):
    frame = data.assign(x2=2.0 * data["x"] + 1.0)
    formula = "y ~ x + x2 + (1 | g)"
    with pytest.warns(RankDeficiencyWarning):
        expected = mm.LinearMixedModel(formula, frame)
    for method in ("chunks", "sql"):
        with pytest.warns(RankDeficiencyWarning, match="x2"):
            model = streamed(formula, frame, method=method)
        assert model.design.dropped_names == expected.design.dropped_names


def test_sql_refuses_what_it_cannot_translate_and_auto_falls_back(data):
    formula = "y ~ np.log(x) + (1 | g)"
    with pytest.raises(DesignError, match="method='chunks'"):
        streamed(formula, data, method="sql")
    expected = mm.LinearMixedModel(formula, data)
    assert_same_statistics(streamed(formula, data, method="auto"), expected)


def test_unsupported_stateful_transform_is_refused(data):
    with pytest.raises(DesignError, match="poly"):
        streamed("y ~ poly(x, 2) + (0 + x | g)", data)


def test_missing_column_and_bad_weights(data):
    with pytest.raises(MissingColumnError, match="nope"):
        streamed("y ~ nope + (1 | g)", data)
    with pytest.raises(DesignError, match="positive"):
        streamed("y ~ x + (1 | g)", data.assign(w=data["w"] - 1.0), weights="w")
    with pytest.raises(DesignError, match="column name"):
        streamed("y ~ x + (1 | g)", data, weights=np.ones(len(data)))


def test_memory_limit_is_checked_before_the_second_pass(data):
    source = mm.sources.DuckDBSource(duckdb.connect().from_df(data), max_memory=10_000)
    with pytest.raises(DesignError, match="max_memory"):
        source.model("y ~ x + (1 | g) + (1 | h)")


def test_unused_data_types_do_not_matter_but_used_ones_do(data):
    frame = data.assign(when=pd.Timestamp("2024-01-01"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        streamed("y ~ x + (1 | g)", frame)
    with pytest.raises(DesignError, match="when"):
        streamed("y ~ when + (1 | g)", frame)


def test_decimal_columns_are_numeric(data):
    expected = mm.LinearMixedModel("y ~ x + (1 | g)", data)
    relation = (
        duckdb.connect()
        .from_df(data)
        .project("CAST(x AS DECIMAL(18, 6)) AS x, CAST(y AS DECIMAL(18, 6)) AS y, g")
    )
    for method in ("chunks", "sql"):
        model = mm.sources.DuckDBSource(relation, method=method).model("y ~ x + (1 | g)")
        assert model.design.fixed_names == expected.design.fixed_names
        theta = np.array([0.8])
        assert model.objective(theta) == pytest.approx(expected.objective(theta), rel=1e-6)


def _pairs_data() -> pd.DataFrame:
    """Two rows per level of ``pair``: ``(1 + x | pair)`` has as many random effects as rows."""
    rng = np.random.default_rng(1)
    n = 60
    frame = pd.DataFrame({"pair": [f"p{i // 2:02d}" for i in range(n)], "x": rng.normal(size=n)})
    frame["y"] = frame["x"] + rng.normal(size=n)
    frame["one"] = "a"
    frame["row"] = [f"r{i:02d}" for i in range(n)]
    return frame


def _both_paths(formula, **options):
    """The error (or the warnings and objective) of the in-memory and the DuckDB fit."""
    frame = _pairs_data()
    out = []
    for data in (frame, duckdb.connect().from_df(frame)):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                fit = mm.lmer(formula, data, **options)
            except DesignError as exc:
                out.append(("error", str(exc)))
                continue
        messages = sorted(str(w.message) for w in caught if "identifiable" in str(w.message))
        out.append((messages, round(fit.objective, 6)))
    return out


@pytest.mark.parametrize(
    ("formula", "fragment"),
    [
        ("y ~ x + (1 | one)", "at least 2 levels"),
        ("y ~ x + (1 | row)", "less than the number of observations"),
        ("y ~ x + (1 + x | pair)", "number of random effects for grouping factor 'pair'"),
    ],
)
def test_design_checks_are_the_in_memory_ones(formula, fragment):
    in_memory, streamed = _both_paths(formula)
    assert in_memory == streamed
    assert in_memory[0] == "error"
    assert fragment in in_memory[1]


@pytest.mark.parametrize("action", ["warning", "ignore"])
def test_check_nobs_vs_nre_out_of_core(action):
    in_memory, streamed = _both_paths(
        "y ~ x + (1 + x | pair)", control={"check_nobs_vs_nre": action}
    )
    assert in_memory == streamed
    assert bool(in_memory[0]) == (action == "warning")


@pytest.mark.parametrize("action", ["warning", "ignore"])
def test_check_nobs_vs_nlev_out_of_core(action):
    checks = {"check_nobs_vs_nlev": action, "check_nobs_vs_nre": "ignore"}
    in_memory, streamed = _both_paths("y ~ x + (1 | row)", control=checks)
    assert in_memory == streamed
    assert bool(in_memory[0]) == (action == "warning")
