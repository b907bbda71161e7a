"""dask DataFrame fits (4 partitions on a distributed LocalCluster) agree with pandas fits."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm

from .conftest import MODELS, assert_same_fit

dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client():
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as c,
    ):
        yield c


@pytest.fixture(scope="module")
def dask_fits(frames, client):
    return {
        name: mm.lmer(formula, dd.from_pandas(data, npartitions=4))
        for name, (formula, data) in frames.items()
    }


@pytest.mark.parametrize("name", list(MODELS))
def test_dask_partitions_match_pandas(name, dask_fits, pandas_fits):
    assert_same_fit(dask_fits[name], pandas_fits[name])


def test_write_fitted_per_partition(dask_fits, pandas_fits, tmp_path):
    out = dask_fits["sleepstudy"].write_fitted(tmp_path / "fitted", columns=["row_id"])
    written = pd.read_parquet(out).sort_values("row_id")
    expected = pandas_fits["sleepstudy"]
    np.testing.assert_allclose(written["fitted"], expected.fitted.to_numpy(), rtol=1e-6)
    np.testing.assert_allclose(
        written["residual"], expected.residuals.to_numpy(), rtol=1e-6, atol=1e-6
    )


def test_without_a_client_partitions_are_merged_in_batches(frames, pandas_fits):
    formula, data = frames["sleepstudy"]
    source = mm.sources.DaskSource(dd.from_pandas(data, npartitions=5), batch=2)
    import dask

    with dask.config.set(scheduler="synchronous"):
        model = source.model(formula)
    np.testing.assert_allclose(
        model.objective(pandas_fits["sleepstudy"].theta),
        pandas_fits["sleepstudy"].objective,
        rtol=1e-12,
    )
