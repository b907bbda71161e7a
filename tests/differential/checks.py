"""Our fit of a differential problem against lme4's reference, classified by what went wrong.

``compare(problem, reference)`` fits the problem with mixedmodels and returns the failures found,
each under one class (the classes of issue 13's triage, see ``CLASSES``). The pytest test and
the triage script (tools/differential_triage.py) both use it.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import dense_arbiter
import numpy as np
from problem_generator import Problem

import mixedmodels as mm
from mixedmodels.errors import ConvergenceWarning, SingularFitWarning

HERE = Path(__file__).resolve().parent
REFERENCE_FILE = HERE / "reference" / "lme4.json"
KNOWN_FAILURES_FILE = HERE / "known_failures.json"

OBJECTIVE_RTOL = 1e-6
"""Ours may exceed lme4's criterion by at most this times max(1, |criterion|)."""
ARBITER_RTOL = 1e-8
"""A criterion value is confirmed when the dense arbiter reproduces it to this (relative)."""
ESTIMATE_RTOL = 1e-4
"""Fixed effects (relative to max(|beta|, its standard error)) and sigma (relative) at a
shared optimum."""

CLASSES = {
    "error": "error raised on valid input",
    "theta_layout": "theta names or order differ from lme4's",
    "false_boundary": "worse optimum, ours on a boundary (a singular fit)",
    "stopped_short": "worse optimum at an interior point",
    "precision": "our criterion is not the criterion at our theta (arbiter disagrees)",
    "estimates": "fixed effects or sigma differ at a shared optimum",
    "false_convergence_warning": "ConvergenceWarning at lme4's optimum or better",
    "singular_flag": "singular flag differs from lme4's at a shared optimum",
    "nobs": "number of observations used differs from lme4's",
}


@cache
def reference() -> dict[str, dict]:
    """lme4's reference per problem id."""
    data = json.loads(REFERENCE_FILE.read_text())
    return {p["id"]: p for p in data["problems"]}


@cache
def known_failures() -> dict[str, dict[str, list[str]]]:
    """Problems failing on the current engine: ``{"problem": {id: [classes]}, "invariance":
    {id-kind: [classes]}}``; each is an xfail(strict) in the test."""
    if not KNOWN_FAILURES_FILE.exists():
        return {"problem": {}, "invariance": {}}
    return json.loads(KNOWN_FAILURES_FILE.read_text())


def tolerance(value: float) -> float:
    return OBJECTIVE_RTOL * max(1.0, abs(value))


@dataclass
class Outcome:
    """Our fit of one problem, or the error it raised, with the warnings it gave."""

    fit: object | None
    error: str | None
    convergence_warnings: list[str] = field(default_factory=list)


def fit_ours(problem: Problem, frame=None, **changes) -> Outcome:
    """Fit with mixedmodels as a user would: the full frame, weights and offset by column."""
    frame = problem.frame() if frame is None else frame
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            fit = mm.lmer(
                problem.formula,
                frame,
                REML=problem.reml,
                weights=problem.weights,
                offset=problem.offset,
                **changes,
            )
        except Exception as exc:  # noqa: BLE001 - any error on valid input is a finding
            return Outcome(None, f"{type(exc).__name__}: {exc}")
    messages = [
        str(w.message)
        for w in caught
        if issubclass(w.category, ConvergenceWarning)
        and not issubclass(w.category, SingularFitWarning)
    ]
    return Outcome(fit, None, messages)


def arbiter_value(problem: Problem, ref: dict, theta, frame=None) -> float:
    """The dense arbiter's criterion at ``theta`` on the problem's data (or on ``frame``)."""
    return dense_arbiter.criterion(
        problem.frame() if frame is None else frame,
        cnms=ref["cnms"],
        fixed=list(ref["fixef"]),
        theta=np.asarray(theta, dtype=float),
        reml=ref["REML"],
        weights=problem.weights,
        offset=problem.offset,
    )


@dataclass
class Comparison:
    """What the comparison of one problem found."""

    pid: str
    failures: dict[str, str]
    ours: float | None = None
    lme4: float | None = None
    arbiter: dict[str, float] = field(default_factory=dict)

    @property
    def classes(self) -> list[str]:
        return sorted(self.failures)


def our_theta_in_lme4_order(fit, ref: dict) -> np.ndarray | None:
    names = list(fit.model.theta_names)
    if names == list(ref["theta_names"]):
        return np.asarray(fit.theta, dtype=float)
    if sorted(names) == sorted(ref["theta_names"]):
        position = {name: i for i, name in enumerate(names)}
        return np.asarray([fit.theta[position[n]] for n in ref["theta_names"]], dtype=float)
    return None


def _estimate_failures(fit, ref: dict) -> list[str]:
    out = []
    ours = fit.fixef
    for name, value in ref["fixef"].items():
        if name not in ours.index:
            out.append(f"fixef {name} missing")
            continue
        scale = max(abs(value), ref["se"][name])
        if abs(ours[name] - value) > ESTIMATE_RTOL * scale:
            out.append(f"fixef {name}: ours {ours[name]:.10g}, lme4 {value:.10g}")
    if abs(fit.sigma - ref["sigma"]) > ESTIMATE_RTOL * ref["sigma"]:
        out.append(f"sigma: ours {fit.sigma:.10g}, lme4 {ref['sigma']:.10g}")
    return out


def compare(problem: Problem, ref: dict, outcome: Outcome | None = None) -> Comparison:
    """Fit ``problem`` (unless ``outcome`` is given) and classify its differences from lme4."""
    outcome = fit_ours(problem) if outcome is None else outcome
    result = Comparison(problem.id, {}, lme4=ref["objective"])
    if outcome.error is not None:
        result.failures["error"] = outcome.error
        return result
    fit = outcome.fit
    ours, lme4 = float(fit.objective), float(ref["objective"])
    result.ours = ours
    tol = tolerance(lme4)
    if fit.nobs != ref["nobs"]:
        result.failures["nobs"] = f"ours {fit.nobs}, lme4 {ref['nobs']}"
    theta = our_theta_in_lme4_order(fit, ref)
    if theta is None:
        result.failures["theta_layout"] = f"ours {fit.model.theta_names}, lme4 {ref['theta_names']}"
        return result
    at_optimum = ours <= lme4 + tol
    if ours < lme4 - tol or not at_optimum:  # disagreement: ask the arbiter
        mine = arbiter_value(problem, ref, theta)
        theirs = arbiter_value(problem, ref, ref["theta"])
        result.arbiter = {"ours": mine, "lme4": theirs}
        our_value_true = abs(mine - ours) <= ARBITER_RTOL * max(1.0, abs(ours))
        lme4_value_true = abs(theirs - lme4) <= ARBITER_RTOL * max(1.0, abs(lme4))
        if not our_value_true:
            result.failures["precision"] = (
                f"ours {ours:.10f} at our theta, arbiter {mine:.10f} (lme4 {lme4:.10f})"
            )
            at_optimum = mine <= lme4 + tol and lme4_value_true
        elif not lme4_value_true:  # the reference itself is in doubt: report, do not pass
            result.failures["precision"] = f"arbiter {theirs:.10f} at lme4's theta, lme4 {lme4}"
    if not at_optimum and "precision" not in result.failures:
        gap = f"ours {ours:.8f}, lme4 {lme4:.8f} (+{ours - lme4:.3g})"
        if fit.is_singular:
            result.failures["false_boundary"] = gap
        else:
            result.failures["stopped_short"] = gap
    if at_optimum and outcome.convergence_warnings:
        result.failures["false_convergence_warning"] = outcome.convergence_warnings[0][:200]
    if abs(ours - lme4) <= tol:  # a shared optimum
        problems = _estimate_failures(fit, ref)
        if problems:
            result.failures["estimates"] = "; ".join(problems)
        if bool(fit.is_singular) != bool(ref["singular"]):
            result.failures["singular_flag"] = (
                f"ours {fit.is_singular}, lme4 {ref['singular']} (theta {np.round(theta, 6)})"
            )
    return result
