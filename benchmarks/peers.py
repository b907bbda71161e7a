"""Peer packages timed on the same case: mixedlm and lme-python (both Rust), when installed.

Each runner fits the case's formula to the same data, from DataFrame to fitted result, with
the package's own ``lmer`` and returns its time and its REML criterion (or ML deviance), so
that the table can compare optima as well as times. Categorical columns are passed as
strings, which both packages treat as factors.
"""

from __future__ import annotations

import importlib.util
import time
import warnings

import pandas as pd

__all__ = ["PEERS", "installed", "run_peer"]

PEERS = ("mixedlm", "lme_python")


def installed() -> list[str]:
    """The peer packages importable in this environment."""
    return [name for name in PEERS if importlib.util.find_spec(name) is not None]


def _as_strings(data: pd.DataFrame) -> pd.DataFrame:
    data = data.copy()
    for col in data.columns:
        if isinstance(data[col].dtype, pd.CategoricalDtype):
            data[col] = data[col].astype(str)
    return data


def _fit_mixedlm(formula: str, data: pd.DataFrame, reml: bool) -> tuple[float, int | None]:
    import mixedlm

    fit = mixedlm.lmer(formula, data, REML=reml)
    objective = fit.REMLcrit() if reml else fit.deviance
    objective = objective() if callable(objective) else objective
    evals = getattr(fit, "function_evals", None)
    return float(objective), (int(evals) if isinstance(evals, int | float) else None)


def _fit_lme_python(formula: str, data: pd.DataFrame, reml: bool) -> tuple[float, int | None]:
    import lme_python

    fit = lme_python.lmer(formula, data, reml=reml)
    objective = fit.reml_criterion if reml else fit.deviance
    objective = objective() if callable(objective) else objective
    iterations = getattr(fit, "iterations", None)
    iterations = iterations() if callable(iterations) else iterations
    return float(objective), (int(iterations) if isinstance(iterations, int | float) else None)


_FITTERS = {"mixedlm": _fit_mixedlm, "lme_python": _fit_lme_python}


def run_peer(package: str, formula: str, data: pd.DataFrame, reml: bool, repeats: int) -> dict:
    """Median and best time of ``repeats`` fits (after one warm-up fit) and the objective."""
    fitter = _FITTERS[package]
    data = _as_strings(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        objective, evaluations = fitter(formula, data, reml)  # warm-up: imports, caches
        times = []
        for _ in range(max(repeats, 1)):
            start = time.perf_counter()
            objective, evaluations = fitter(formula, data, reml)
            times.append(time.perf_counter() - start)
    times.sort()
    return {
        "seconds": times[len(times) // 2],
        "min_seconds": times[0],
        "objective": objective,
        "evaluations": evaluations,
    }
