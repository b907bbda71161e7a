"""The lme4 / performance / broom.mixed references of the post-fit tools on glmer fits
(tests/postfit/reference/glmm_*.json, made by make_glmm.R) and their fits."""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd
from _postfit import REFERENCE

import mixedmodels as mm

MODELS = ("cbpp", "cbpp_obs", "cbpp_probit", "grouseticks", "owls")
POISSON = ("grouseticks", "owls")


@cache
def reference(name: str) -> dict:
    """One model's JSON written by make_glmm.R."""
    return json.loads((REFERENCE / f"glmm_{name}.json").read_text())


def vector(value) -> np.ndarray:
    """A JSON number or list as a 1-d array (jsonlite unboxes vectors of length one)."""
    return np.atleast_1d(np.asarray(value, dtype=float))


@cache
def data(name: str) -> pd.DataFrame:
    return mm.datasets.load(reference(name)["data"])


@cache
def fit(name: str):
    """Our glmer fit of the model (its own optimum)."""
    ref = reference(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mm.glmer(ref["formula"], data(name), family=ref["family"], link=ref["link"])


def result_at(model, theta, beta):
    """A result of ``model`` at the given estimates (the conditional modes by PIRLS)."""
    own = fit_of_model(model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.result_at(vector(theta), vector(beta), 1, own.optsum)


def fit_of_model(model):
    for name in MODELS:
        if fit(name).model is model:
            return fit(name)
    raise LookupError(model)


@cache
def at_reference(name: str):
    """Our model evaluated at lme4's estimates: checks definitions free of optimiser noise."""
    ref = reference(name)["fit"]
    return result_at(fit(name).model, ref["theta"], ref["beta"])


@dataclass(frozen=True)
class NullAtReference:
    """insight's null model as lme4 fitted it (its fixed effects are all R2 needs)."""

    fixef: np.ndarray


def null_at_reference(name: str) -> NullAtReference:
    return NullAtReference(vector(reference(name)["null"]["beta"]))
