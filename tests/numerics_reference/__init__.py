"""lme4 fits for the optimiser and precision tests (issue 13, items 3-6): see make_data.py."""

from __future__ import annotations

import json
import warnings
from functools import cache
from pathlib import Path

import pandas as pd

import mixedmodels as mm
from mixedmodels.errors import ConvergenceWarning, SingularFitWarning

HERE = Path(__file__).resolve().parent


@cache
def _manifest() -> dict[str, dict]:
    return {p["id"]: p for p in json.loads((HERE / "problems.json").read_text())}


@cache
def lme4() -> dict[str, dict]:
    """lme4 1.1-31's fits (best of its optimizers), by problem id."""
    return json.loads((HERE / "lme4.json").read_text())


@cache
def _file(name: str) -> pd.DataFrame:
    return pd.read_csv(HERE / name)


def problem(pid: str) -> tuple[pd.DataFrame, str, bool]:
    """The data (rows as R read them), formula and REML flag of a problem."""
    spec = _manifest()[pid]
    data = _file(spec["file"])
    if spec["problem"] is not None:
        data = data[data["problem"] == spec["problem"]].reset_index(drop=True)
    for column in ("g", "groups"):
        if column in data.columns:
            data = data.assign(**{column: data[column].astype(str)})
    return data, spec["formula"], spec["REML"]


def ids(prefix: str) -> list[str]:
    """Problem ids starting with ``prefix``."""
    return [pid for pid in _manifest() if pid.startswith(prefix)]


@cache
def fit(pid: str):
    """Our fit of a problem (once per session) and the convergence warnings it raised
    (a singular fit's own warning left out)."""
    data, formula, reml = problem(pid)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = mm.lmer(formula, data, REML=reml)
    alarms = tuple(
        str(w.message)
        for w in caught
        if issubclass(w.category, ConvergenceWarning)
        and not issubclass(w.category, SingularFitWarning)
    )
    return result, alarms


def tolerance(objective: float) -> float:
    """The differential test's: 1e-6 relative to the objective (absolute below 1)."""
    return 1e-6 * max(1.0, abs(objective))
