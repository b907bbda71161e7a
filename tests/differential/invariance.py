"""Transformations that must leave a fit unchanged, and the check that they do.

Each transformation changes the data a user could have given for the same model, and states how
the answer moves: row order and level labels move nothing; ``y -> c y + s`` (offset scaled
with it) adds ``2 dof log c`` to the criterion, multiplies sigma by c and maps the fixed effects
affinely; a covariate shifted by a constant moves only the intercept, where every random term
that holds it also has an intercept (a full covariance is equivariant under the shift).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from checks import (
    ESTIMATE_RTOL,
    Outcome,
    arbiter_value,
    fit_ours,
    our_theta_in_lme4_order,
    tolerance,
)
from problem_generator import CATEGORICAL_COLUMNS, Draws, Problem

KINDS = ("row_order", "relabel", "affine_y", "shift_fixed_covariate", "shift_slope_covariate")
Y_SCALE, Y_SHIFT = 2.5, 1e5
SHIFT_IN_SDS = 1e4


@dataclass(frozen=True)
class Expectation:
    """How the transformed fit relates to the original one."""

    objective_shift: float = 0.0
    y_scale: float = 1.0
    intercept_shift: float = 0.0
    compare_intercept: bool = True


def shiftable_covariates(problem: Problem, ref: dict, in_random: bool) -> list[str]:
    """Numeric fixed-effect covariates in no random term (``in_random`` False), or in random
    terms that all have an intercept (True): shifting them leaves the model unchanged."""
    numeric = [c for c in ref["fixef"] if c in problem.frame().columns]
    out = []
    for name in numeric:
        holders = [t for t in ref["cnms"] if name in t["columns"]]
        with_intercepts = bool(holders) and all("(Intercept)" in t["columns"] for t in holders)
        if with_intercepts if in_random else not holders:
            out.append(name)
    return out


def applies(problem: Problem, ref: dict, kind: str) -> bool:
    if kind.startswith("shift_"):
        return bool(shiftable_covariates(problem, ref, kind == "shift_slope_covariate"))
    return True


def transform(problem: Problem, ref: dict, kind: str) -> tuple[pd.DataFrame, Expectation]:
    """The transformed data and what to expect of its fit."""
    frame = problem.frame()
    draws = Draws(len(frame))
    if kind == "row_order":
        return frame.iloc[draws.permutation(len(frame))].reset_index(drop=True), Expectation()
    if kind == "relabel":  # new labels whose sorted order is the reverse of the old one
        out = frame.copy()
        for col in CATEGORICAL_COLUMNS:
            if col in out.columns and col != "f":
                values = out[col]
                uniques = sorted(values.dropna().unique())
                mapping = {v: f"L{len(uniques) - i:05d}_{v}" for i, v in enumerate(uniques)}
                out[col] = values.map(mapping)
        return out, Expectation()
    if kind == "affine_y":
        out = frame.copy()
        out["y"] = Y_SCALE * out["y"] + Y_SHIFT
        if problem.offset is not None:
            out[problem.offset] = Y_SCALE * out[problem.offset]
        dof = ref["nobs"] - (len(ref["fixef"]) if problem.reml else 0)
        return out, Expectation(
            objective_shift=2.0 * dof * np.log(Y_SCALE),
            y_scale=Y_SCALE,
            intercept_shift=Y_SHIFT,
        )
    if kind.startswith("shift_"):
        out = frame.copy()
        for name in shiftable_covariates(problem, ref, kind == "shift_slope_covariate"):
            out[name] = out[name] + SHIFT_IN_SDS * float(np.nanstd(out[name]))
        return out, Expectation(compare_intercept=False)
    raise ValueError(kind)


def check(problem: Problem, ref: dict, original: Outcome, kind: str) -> str | None:
    """None when the transformed fit agrees with the original; else what differs."""
    frame, expect = transform(problem, ref, kind)
    changed = fit_ours(problem, frame)
    if changed.error is not None:
        return f"error: {changed.error}"
    a, b = original.fit, changed.fit
    want = a.objective + expect.objective_shift
    if abs(b.objective - want) > tolerance(want):
        theta = our_theta_in_lme4_order(b, ref)
        truth = ""
        if theta is not None:
            truth = f"; arbiter at its theta {arbiter_value(problem, ref, theta, frame):.10f}"
        return (
            f"objective {b.objective:.10f}, expected {want:.10f} (+{b.objective - want:.3g})"
            f"{truth}; singular {b.is_singular}"
        )
    for name, value in a.fixef.items():
        if name == "(Intercept)" and not expect.compare_intercept:
            continue
        target = expect.y_scale * value + (expect.intercept_shift if name == "(Intercept)" else 0)
        scale = expect.y_scale * max(abs(value), float(a.se[name]))
        if abs(b.fixef[name] - target) > ESTIMATE_RTOL * scale:
            return f"fixef {name} {b.fixef[name]:.10g}, expected {target:.10g}"
    if abs(b.sigma - expect.y_scale * a.sigma) > ESTIMATE_RTOL * expect.y_scale * a.sigma:
        return f"sigma {b.sigma:.10g}, expected {expect.y_scale * a.sigma:.10g}"
    return None
