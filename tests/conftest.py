"""Shared fixtures: lme4 reference results and a cache of fits (each model fitted once)."""

from __future__ import annotations

import json
import warnings
from functools import cache
from pathlib import Path

import pandas as pd
import pytest

import mixedmodels as mm

TESTS = Path(__file__).resolve().parent
SHARED_REFERENCE = TESTS.parent.parent / "shared" / "reference"
LOCAL_REFERENCE = TESTS / "reference"


def reference_dir() -> Path:
    """../shared/reference from the repo root when present, else the copies under tests/."""
    return SHARED_REFERENCE if SHARED_REFERENCE.is_dir() else LOCAL_REFERENCE


REFERENCE_IDS = sorted(p.stem for p in LOCAL_REFERENCE.glob("*.json"))


@cache
def load_reference(name: str) -> dict:
    """The lme4 reference JSON of one model."""
    return json.loads((reference_dir() / f"{name}.json").read_text())


@cache
def reference_data(name: str) -> pd.DataFrame:
    """The reference's dataset with the columns R treated as factors made categorical."""
    ref = load_reference(name)
    data = mm.datasets.load(ref["data"])
    for column in ref["factors"]:
        if column in data.columns:
            data[column] = data[column].astype("category")
    return data


@cache
def reference_fit(name: str):
    """Fit a reference model once per test session (warnings recorded, not raised)."""
    ref = load_reference(name)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = mm.lmer(ref["formula"], reference_data(name), REML=ref["REML"])
    return fit, tuple(caught)


@pytest.fixture(params=REFERENCE_IDS)
def reference(request):
    """(reference JSON, fitted result, warnings) for every reference model."""
    fit, caught = reference_fit(request.param)
    return load_reference(request.param), fit, caught
