"""The after-the-fit reference models (tests/inference/reference/make_postfit.R), each fitted once.

``fit_at_r_theta`` evaluates the model at lme4's theta (no optimisation), so that marginal
means, tables and summaries are compared with R's without the optimiser's last digits.
"""

from __future__ import annotations

import json
import warnings
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

import mixedmodels as mm
from mixedmodels.optimize import OptSummary

REFERENCE = Path(__file__).resolve().parent / "reference"
POSTFIT_IDS = ("penicillin", "pastes", "dietox", "dietox_slope", "oats", "oats_coded", "cake")


@cache
def postfit_reference(name: str) -> dict:
    """R's values for one model (``postfit_<name>.json``)."""
    return json.loads((REFERENCE / f"postfit_{name}.json").read_text())


@cache
def postfit_data(name: str) -> pd.DataFrame:
    """The model's data with R's factors made categorical."""
    ref = postfit_reference(name)
    data = mm.datasets.load(ref["data"])
    for column in ref["factors"]:
        data[column] = data[column].astype("category")
    return data


@cache
def postfit_model(name: str) -> mm.LinearMixedModel:
    """The model set up as R's (same formula, data and contrasts)."""
    ref = postfit_reference(name)
    return mm.LinearMixedModel(ref["formula"], postfit_data(name), contrasts=ref["contrasts"])


def result_at(model: mm.LinearMixedModel, theta, REML: bool = True):
    """``model``'s result at a given theta (one factorisation, no optimisation)."""
    theta = np.atleast_1d(np.asarray(theta, dtype=float))
    summary = OptSummary(
        initial=tuple(theta),
        final=tuple(theta),
        fmin=model.objective(theta, REML=REML),
        evaluations=1,
        optimizer="none (lme4's theta)",
        return_value="given",
        seconds=0.0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mm.SingularFitWarning)
        return model.result_at(theta, REML, summary)


@cache
def fit_at_r_theta(name: str):
    """The model's result at lme4's theta."""
    ref = postfit_reference(name)
    return result_at(postfit_model(name), ref["theta"], ref["REML"])


def as_level(value):
    """A level from R's JSON or ours, comparable across both (numbers as floats)."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)
