"""The lme4 / merTools references of the post-fit tools (tests/postfit/reference) and their fits."""

from __future__ import annotations

import json
import warnings
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

import mixedmodels as mm

REFERENCE = Path(__file__).resolve().parent / "postfit" / "reference"
MODELS = ("sleepstudy", "penicillin", "pastes", "dietox")


@cache
def reference(name: str) -> dict:
    """One model's JSON written by make_postfit.R."""
    return json.loads((REFERENCE / f"{name}.json").read_text())


def factors(name: str) -> list[str]:
    value = reference(name)["factors"]
    return [value] if isinstance(value, str) else list(value)


def _as_r_factors(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    frame = frame.copy()
    for column in factors(name):
        frame[column] = frame[column].astype(str)
    return frame


@cache
def data(name: str) -> pd.DataFrame:
    """The bundled dataset, R's factors as strings."""
    return _as_r_factors(mm.datasets.load(reference(name)["data"]), name)


def grid(name: str) -> pd.DataFrame:
    """The prediction grid R used."""
    return _as_r_factors(pd.DataFrame(reference(name)["grid"]), name)


@cache
def fit(name: str):
    """Our REML fit of the model."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mm.lmer(reference(name)["formula"], data(name))


@cache
def fit_at_reference(name: str):
    """Our fit's model evaluated at lme4's theta: checks definitions free of optimiser noise."""
    own = fit(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return own.model.result_at(np.asarray(reference(name)["theta"]), True, own.optsum)
