"""DuckDB's SQL pass: the model's columns as SQL expressions, and the sums DuckDB computes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm
from mixedmodels.errors import DesignError
from mixedmodels.sources.sql import column_expressions, quote

duckdb = pytest.importorskip("duckdb")


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    rng = np.random.default_rng(33)
    n = 300
    frame = pd.DataFrame(
        {
            "g": rng.choice([f"s{i}" for i in range(15)], n),
            "h": rng.integers(0, 6, n),
            "f": rng.choice(["lo", "hi"], n),
            "x": rng.normal(5.0, 1.0, n),
            'odd "name"': rng.normal(size=n),
        }
    )
    frame["y"] = 2.0 + 0.5 * frame["x"] + rng.normal(size=n)
    return frame


def _source(frame, method):
    return mm.sources.DuckDBSource(duckdb.connect().from_df(frame), method=method)


def test_identifiers_are_quoted_for_sql():
    assert quote("x") == '"x"'
    assert quote('odd "name"') == '"odd ""name"""'


def test_columns_become_sql_expressions_or_none(data):
    plan = _source(data, "sql").plan("y ~ x * f + (1 | g)")
    got = column_expressions(["Intercept", "x", "f[T.lo]", "x:f[T.lo]"], plan, quote)
    assert got[0] == "(1.0)"
    assert got[1] == '(CAST("x" AS DOUBLE))'
    assert got[2] == "(CAST(\"f\" = 'lo' AS DOUBLE))"
    assert got[3] == '(CAST("x" AS DOUBLE)) * (CAST("f" = \'lo\' AS DOUBLE))'
    assert column_expressions(["np.log(x)"], plan, quote) is None


@pytest.mark.parametrize("formula", ["y ~ x + f + (1 + x | g) + (1 | h)", "y ~ x * f + (1 | g)"])
def test_the_sql_pass_sums_what_the_chunked_pass_sums(data, formula):
    by_sql = _source(data, "sql").model(formula)
    by_chunks = _source(data, "chunks").model(formula)
    theta = by_chunks.start_theta() + 0.2
    for reml in (True, False):
        assert by_sql.objective(theta, reml) == pytest.approx(
            by_chunks.objective(theta, reml), rel=1e-11
        )


def test_a_model_sql_cannot_sum_is_refused_when_sql_is_asked_for(data):
    with pytest.raises(DesignError, match="method='chunks'"):
        _source(data, "sql").model("y ~ np.log(x) + (1 | g)")
    assert _source(data, "auto").model("y ~ np.log(x) + (1 | g)").design.n == len(data)
