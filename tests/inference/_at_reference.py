"""The reference models evaluated at lme4's own theta (no optimisation).

Inference at lme4's estimates isolates our df computations from the (tiny) differences between
our optimum and lme4's, so they can be compared with lmerTest and pbkrtest tightly.
"""

from __future__ import annotations

import warnings
from functools import cache

import numpy as np
from conftest import load_reference, reference_data

import mixedmodels as mm
from mixedmodels.optimize import OptSummary


@cache
def fit_at_reference_theta(name: str):
    """The reference model's result at lme4's theta: one factorisation, no optimisation."""
    ref = load_reference(name)
    model = mm.LinearMixedModel(ref["formula"], reference_data(name))
    theta = np.atleast_1d(np.asarray(ref["theta"], dtype=float))
    fmin = model.objective(theta, REML=ref["REML"])
    summary = OptSummary(
        initial=tuple(theta),
        final=tuple(theta),
        fmin=fmin,
        evaluations=1,
        optimizer="none (lme4's theta)",
        return_value="given",
        seconds=0.0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mm.SingularFitWarning)
        return model.result_at(theta, ref["REML"], summary)
