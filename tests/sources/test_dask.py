"""dask DataFrame fits (4 partitions on a distributed LocalCluster) agree with pandas fits."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm

from .conftest import MODEL_PARAMS, assert_same_fit, frame, in_memory_at, pandas_fit

dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")

_FITS: dict[str, object] = {}


@pytest.fixture(scope="module")
def client():
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as c,
    ):
        yield c


def dask_fit(name: str):
    """The model fitted from a dask DataFrame of 4 partitions (needs the client fixture)."""
    if name not in _FITS:
        formula, data = frame(name)
        _FITS[name] = mm.lmer(formula, dd.from_pandas(data, npartitions=4))
    return _FITS[name]


@pytest.mark.parametrize("name", MODEL_PARAMS)
def test_dask_partitions_match_pandas(name, client):
    assert_same_fit(dask_fit(name), pandas_fit(name))


def test_write_fitted_per_partition(client, tmp_path):
    fit = dask_fit("sleepstudy")
    out = fit.write_fitted(tmp_path / "fitted", columns=["row_id"])
    written = pd.read_parquet(out).sort_values("row_id")
    expected = in_memory_at(fit, "sleepstudy")
    np.testing.assert_allclose(written["fitted"], expected.fitted.to_numpy(), rtol=1e-10)
    np.testing.assert_allclose(
        written["residual"], expected.residuals.to_numpy(), rtol=1e-8, atol=1e-9
    )


def test_without_a_client_partitions_are_merged_in_batches():
    import dask

    formula, data = frame("sleepstudy")
    source = mm.sources.DaskSource(dd.from_pandas(data, npartitions=5), batch=2)
    with dask.config.set(scheduler="synchronous"):
        model = source.model(formula)
    expected = pandas_fit("sleepstudy")
    np.testing.assert_allclose(model.objective(expected.theta), expected.objective, rtol=1e-12)


def test_weights_offset_strings_and_missing_values_match_pandas():
    import dask

    rng = np.random.default_rng(3)
    n = 400
    data = pd.DataFrame(
        {
            "g": rng.choice([f"s{i}" for i in range(15)], n),
            "f": pd.Categorical(rng.choice(["b", "a", "c"], n), categories=["c", "b", "a"]),
            "x": rng.normal(size=n),
            "w": rng.uniform(0.5, 2.0, n),
            "off": rng.normal(size=n),
        }
    )
    data["y"] = data["x"] + rng.normal(size=n)
    data.loc[[2, 9], "x"] = np.nan
    formula = "y ~ x + f + (1 + x | g)"
    expected = mm.LinearMixedModel(formula, data, weights="w", offset="off")
    source = mm.sources.DaskSource(dd.from_pandas(data, npartitions=3))
    with dask.config.set(scheduler="synchronous"):
        model = source.model(formula, weights="w", offset="off")
    assert model.design.fixed_names == expected.design.fixed_names  # category order kept
    assert model.design.n_dropped == expected.design.n_dropped == 2
    theta = np.array([0.8, 0.1, 0.5])
    for reml in (True, False):
        assert model.objective(theta, reml) == pytest.approx(
            expected.objective(theta, reml), rel=1e-11
        )


def test_simulate_and_kenward_roger_from_partitions(client):
    fit = dask_fit("dietox")
    expected = in_memory_at(fit, "dietox")
    at = fit.model.result_at(expected.theta, expected.reml, expected.optsum)
    np.testing.assert_allclose(
        at.simulate(nsim=2, seed=5), expected.simulate(nsim=2, seed=5), rtol=1e-8, atol=1e-9
    )
    got = mm.anova(at, ddf="Kenward-Roger").to_frame()
    want = mm.anova(expected, ddf="Kenward-Roger").to_frame()
    np.testing.assert_allclose(got["DenDF"], want["DenDF"], rtol=1e-8)
    np.testing.assert_allclose(got["F value"], want["F value"], rtol=1e-8)
