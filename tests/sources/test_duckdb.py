"""DuckDB / Parquet fits agree with the in-memory fits; fitted values stream back to Parquet."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm
from mixedmodels.errors import RowDataUnavailableError

from .conftest import MODELS, assert_same_fit

duckdb = pytest.importorskip("duckdb")
pytest.importorskip("pyarrow")


@pytest.fixture(scope="module")
def chunked_fits(frames, parquet_files):
    """Every model fitted from its Parquet file in chunks of 10,000 rows."""
    return {
        name: mm.lmer(
            frames[name][0], mm.sources.DuckDBSource(path, chunk_size=10_000, method="chunks")
        )
        for name, path in parquet_files.items()
    }


@pytest.mark.parametrize("name", list(MODELS))
def test_parquet_in_chunks_matches_pandas(name, chunked_fits, pandas_fits):
    assert_same_fit(chunked_fits[name], pandas_fits[name])


def test_relation_and_path_are_accepted_by_lmer(frames, parquet_files, pandas_fits):
    formula, data = frames["sleepstudy"]
    con = duckdb.connect()
    relation = con.read_parquet(str(parquet_files["sleepstudy"]))
    assert_same_fit(mm.lmer(formula, relation), pandas_fits["sleepstudy"])
    assert_same_fit(mm.lmer(formula, str(parquet_files["sleepstudy"])), pandas_fits["sleepstudy"])


def test_enum_relation_from_pandas(frames, pandas_fits):
    formula, data = frames["dietox"]
    relation = duckdb.connect().from_df(data)  # categoricals become ENUM columns
    assert_same_fit(
        mm.lmer(formula, mm.sources.DuckDBSource(relation, chunk_size=100)), pandas_fits["dietox"]
    )


def test_rows_are_not_kept(chunked_fits):
    fit = chunked_fits["sleepstudy"]
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


def test_predict_newdata_works_without_rows(chunked_fits, pandas_fits, frames):
    _, data = frames["sleepstudy"]
    new = data.head(20)
    np.testing.assert_allclose(
        chunked_fits["sleepstudy"].predict(new), pandas_fits["sleepstudy"].predict(new), rtol=1e-8
    )


def test_write_fitted_streams_fitted_and_residuals(chunked_fits, pandas_fits, tmp_path):
    out = chunked_fits["dietox"].write_fitted(tmp_path / "fitted.parquet", columns=["row_id"])
    written = pd.read_parquet(out).sort_values("row_id")
    expected = pandas_fits["dietox"]
    assert list(written.columns) == ["row_id", "fitted", "residual"]
    np.testing.assert_allclose(written["fitted"], expected.fitted.to_numpy(), rtol=1e-6)
    np.testing.assert_allclose(
        written["residual"], expected.residuals.to_numpy(), rtol=1e-6, atol=1e-6
    )
