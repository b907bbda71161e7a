"""Shared helpers of the GLMM tests: lme4 references and a cache of fits (each fitted once)."""

from __future__ import annotations

import json
import warnings
from functools import cache
from pathlib import Path

import pandas as pd

import mixedmodels as mm
from mixedmodels.glmm import glmer

HERE = Path(__file__).resolve().parent
LOCAL_REFERENCE = HERE / "reference"
SHARED_REFERENCE = HERE.parents[2] / "shared" / "reference_glmm"
REFERENCE_IDS = sorted(
    p.stem for p in LOCAL_REFERENCE.glob("*.json") if "spec" not in json.loads(p.read_text())
)


@cache
def reference(name: str) -> dict:
    """The lme4 reference JSON of one model (the copy under tests/glmm/reference)."""
    return json.loads((LOCAL_REFERENCE / f"{name}.json").read_text())


@cache
def reference_data(name: str) -> pd.DataFrame:
    """The reference's bundled dataset (R's factors are categorical on loading)."""
    return mm.datasets.load(reference(name)["data"])


@cache
def reference_fit(name: str):
    """Fit a reference model once per session; (fit, warnings)."""
    ref = reference(name)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = glmer(
            ref["formula"],
            reference_data(name),
            ref["family"],
            ref["link"],
            nAGQ=ref["nAGQ"],
            weights=ref["weights"],
        )
    return fit, tuple(caught)
