"""Reference loading and a cache of fits shared by the inference tests (each model fitted once)."""

from __future__ import annotations

import json
import warnings
from functools import cache
from pathlib import Path

import mixedmodels as mm

REFERENCE = Path(__file__).resolve().parent.parent / "reference"
PROFILED = tuple(
    sorted(p.stem for p in REFERENCE.glob("*.json") if "profile_ci" in json.loads(p.read_text()))
)


@cache
def reference(name: str) -> dict:
    """lme4's stored results for one model."""
    return json.loads((REFERENCE / f"{name}.json").read_text())


@cache
def fit_reference(name: str):
    """The reference model fitted as lme4 did (factors made categorical)."""
    ref = reference(name)
    data = mm.datasets.load(ref["data"])
    for column in ref["factors"]:
        if column in data.columns:
            data[column] = data[column].astype("category")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mm.ConvergenceWarning)
        return mm.lmer(ref["formula"], data, REML=ref["REML"])
