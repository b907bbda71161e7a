"""Shared helpers: the models, their data, Parquet copies and the in-memory fits."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import load_reference, reference_data, reference_fit

# the models every source must reproduce: sleepstudy, InstEval and a random-slope model
MODELS = {"sleepstudy": "sleepstudy_rs", "insteval": "insteval_simple", "dietox": "dietox_rs"}
MODEL_PARAMS = [
    pytest.param(name, marks=pytest.mark.slow) if name == "insteval" else name for name in MODELS
]


@cache
def frame(name: str) -> tuple[str, pd.DataFrame]:
    """Formula and data (factors categorical, plus a ``row_id`` column) of a model."""
    ref_id = MODELS[name]
    data = reference_data(ref_id).copy()
    data["row_id"] = np.arange(len(data))
    return load_reference(ref_id)["formula"], data


def pandas_fit(name: str):
    """The in-memory fit (shared with the rest of the suite: each model is fitted once)."""
    return reference_fit(MODELS[name])[0]


@pytest.fixture(scope="session")
def parquet_dir(tmp_path_factory):
    """A folder for Parquet copies of the data."""
    pytest.importorskip("pyarrow")
    return tmp_path_factory.mktemp("parquet")


def parquet_file(folder: Path, name: str) -> Path:
    """The model's data written to Parquet (once)."""
    path = folder / f"{name}.parquet"
    if not path.exists():
        frame(name)[1].to_parquet(path)
    return path


def assert_same_fit(streamed, in_memory) -> None:
    """Same objective to 1e-8 and the same estimates to 1e-8 relative as the in-memory fit.

    Summing A in another order changes it in its last bits only, and the optimiser stops at
    the same point to about 3e-9 (theta of dietox's random slope). Every estimate derived
    from the streamed A at the in-memory theta is checked to 1e-8 as well.
    """
    assert abs(streamed.objective - in_memory.objective) <= 1e-8 * abs(in_memory.objective)
    assert list(streamed.fixef.index) == list(in_memory.fixef.index)
    np.testing.assert_allclose(streamed.theta, in_memory.theta, rtol=1e-8, atol=1e-10)
    for attribute in ("fixef", "se", "sigma"):
        np.testing.assert_allclose(
            getattr(streamed, attribute), getattr(in_memory, attribute), rtol=1e-8
        )
    assert streamed.nobs == in_memory.nobs
    assert streamed.ngrps == in_memory.ngrps
    same = streamed.model.result_at(in_memory.theta, in_memory.reml, in_memory.optsum)
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


def in_memory_at(streamed, name: str):
    """The in-memory model's result at the streamed fit's theta (for per-row comparisons)."""
    fit = pandas_fit(name)
    return fit.model.result_at(streamed.theta, fit.reml, fit.optsum)
