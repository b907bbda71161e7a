"""Shared fixtures: reference data sets, their Parquet copies and the in-memory fits."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import mixedmodels as mm

REFERENCE = Path(__file__).resolve().parents[1] / "reference"

# the models every source must reproduce: sleepstudy, InstEval and a random-slope model
MODELS = {
    "sleepstudy": ("sleepstudy_rs", "sleepstudy"),
    "insteval": ("insteval_simple", "insteval"),
    "dietox": ("dietox_rs", "dietox"),
}


def reference_frame(name: str):
    """A bundled data set with the reference's factor columns as categoricals, plus a row id."""
    ref_id, dataset = MODELS[name]
    ref = json.loads((REFERENCE / f"{ref_id}.json").read_text())
    data = mm.datasets.load(dataset)
    for column in ref["factors"]:
        data[column] = data[column].astype("category")
    data["row_id"] = np.arange(len(data))
    return ref["formula"], data


@pytest.fixture(scope="session")
def frames():
    """name -> (formula, pandas DataFrame)."""
    return {name: reference_frame(name) for name in MODELS}


@pytest.fixture(scope="session")
def parquet_files(frames, tmp_path_factory):
    """name -> Parquet file written from the pandas frame."""
    pytest.importorskip("pyarrow")
    folder = tmp_path_factory.mktemp("parquet")
    paths = {}
    for name, (_, data) in frames.items():
        paths[name] = folder / f"{name}.parquet"
        data.to_parquet(paths[name])
    return paths


@pytest.fixture(scope="session")
def pandas_fits(frames):
    """name -> in-memory fit (each model fitted once per test session)."""
    return {name: mm.lmer(formula, data) for name, (formula, data) in frames.items()}


def assert_same_fit(streamed, in_memory) -> None:
    """Same objective and estimates as the in-memory fit.

    The optimised objective agrees to 1e-8. Summing A in another order changes it in the last
    bits, which moves BOBYQA's path within the flat directions of the objective: the in-memory
    fit of the same rows shuffled moves dietox's theta by 2e-5 and sigma by 1e-7. So the
    optimised estimates are compared to the optimiser's resolution (theta 1e-4, the others
    1e-6), and the exact check is at the same theta: every estimate derived from the streamed
    A agrees with the in-memory one to 1e-8 there.
    """
    assert abs(streamed.objective - in_memory.objective) <= 1e-8 * abs(in_memory.objective)
    assert list(streamed.fixef.index) == list(in_memory.fixef.index)
    np.testing.assert_allclose(streamed.fixef, in_memory.fixef, rtol=1e-6)
    np.testing.assert_allclose(streamed.sigma, in_memory.sigma, rtol=1e-6)
    np.testing.assert_allclose(streamed.se, in_memory.se, rtol=1e-6)
    np.testing.assert_allclose(streamed.theta, in_memory.theta, rtol=1e-4, atol=1e-8)
    assert streamed.nobs == in_memory.nobs
    assert streamed.ngrps == in_memory.ngrps
    same = streamed.model._result(in_memory.theta, in_memory.reml, in_memory.optsum)
    assert abs(same.objective - in_memory.objective) <= 1e-8 * abs(in_memory.objective)
    for attribute in ("fixef", "se", "sigma"):
        np.testing.assert_allclose(
            getattr(same, attribute), getattr(in_memory, attribute), rtol=1e-8
        )
    np.testing.assert_allclose(same.varcorr["vcov"], in_memory.varcorr["vcov"], rtol=1e-8)
    for group, frame in in_memory.ranef.items():
        other = same.ranef[group]
        assert list(other.index) == list(frame.index)
        np.testing.assert_allclose(other.to_numpy(), frame.to_numpy(), rtol=1e-8, atol=1e-10)
