"""DuckDB / Parquet fits agree with the in-memory fits; fitted values stream back to Parquet."""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm
from mixedmodels.errors import RowDataUnavailableError

from .conftest import MODEL_PARAMS, assert_same_fit, frame, in_memory_at, pandas_fit, parquet_file

duckdb = pytest.importorskip("duckdb")
pytest.importorskip("pyarrow")


@cache
def chunked_fit(folder, name: str):
    """The model fitted from its Parquet file, read through DuckDB in chunks of 10,000 rows."""
    source = mm.sources.DuckDBSource(parquet_file(folder, name), chunk_size=10_000, method="chunks")
    return mm.lmer(frame(name)[0], source)


@pytest.mark.parametrize("name", MODEL_PARAMS)
def test_parquet_in_chunks_matches_pandas(name, parquet_dir):
    assert_same_fit(chunked_fit(parquet_dir, name), pandas_fit(name))


def test_relation_and_path_are_accepted_by_lmer(parquet_dir):
    formula, _ = frame("sleepstudy")
    path = str(parquet_file(parquet_dir, "sleepstudy"))
    assert_same_fit(mm.lmer(formula, duckdb.connect().read_parquet(path)), pandas_fit("sleepstudy"))
    assert_same_fit(mm.lmer(formula, path), pandas_fit("sleepstudy"))


def test_enum_relation_from_pandas():
    formula, data = frame("dietox")
    relation = duckdb.connect().from_df(data)  # categoricals become ENUM columns
    source = mm.sources.DuckDBSource(relation, chunk_size=100)
    assert_same_fit(mm.lmer(formula, source), pandas_fit("dietox"))


def test_rows_are_not_kept(parquet_dir):
    fit = chunked_fit(parquet_dir, "sleepstudy")
    for attribute in ("fitted", "residuals"):
        with pytest.raises(RowDataUnavailableError, match="write_fitted"):
            getattr(fit, attribute)
    with pytest.raises(RowDataUnavailableError):
        fit.predict()
    with pytest.raises(RowDataUnavailableError):
        fit.model.refit(np.zeros(fit.nobs))
    text = str(fit.summary())
    assert "Scaled residuals" not in text
    assert "Random effects" in text


def test_predict_newdata_works_without_rows(parquet_dir):
    new = frame("sleepstudy")[1].head(20)
    np.testing.assert_allclose(
        chunked_fit(parquet_dir, "sleepstudy").predict(new),
        pandas_fit("sleepstudy").predict(new),
        rtol=1e-6,
    )


def test_write_fitted_streams_fitted_and_residuals(parquet_dir, tmp_path):
    fit = chunked_fit(parquet_dir, "dietox")
    out = fit.write_fitted(tmp_path / "fitted.parquet", columns=["row_id"])
    written = pd.read_parquet(out).sort_values("row_id")
    expected = in_memory_at(fit, "dietox")
    assert list(written.columns) == ["row_id", "fitted", "residual"]
    np.testing.assert_allclose(written["fitted"], expected.fitted.to_numpy(), rtol=1e-10)
    np.testing.assert_allclose(
        written["residual"], expected.residuals.to_numpy(), rtol=1e-8, atol=1e-9
    )


@cache
def sql_fit(folder, name: str):
    """The model fitted with every block of A summed by DuckDB (GROUP BY)."""
    source = mm.sources.DuckDBSource(parquet_file(folder, name), method="sql")
    return mm.lmer(frame(name)[0], source)


@pytest.mark.parametrize("name", MODEL_PARAMS)
def test_sql_group_by_matches_pandas(name, parquet_dir):
    assert_same_fit(sql_fit(parquet_dir, name), pandas_fit(name))


def test_csv_files_are_read_by_duckdb(tmp_path):
    formula, data = frame("sleepstudy")
    path = tmp_path / "sleepstudy.csv"
    data.to_csv(path, index=False)
    model = mm.sources.DuckDBSource(str(path)).model(formula)
    expected = pandas_fit("sleepstudy")
    assert model.objective(expected.theta) == pytest.approx(expected.objective, rel=1e-11)
