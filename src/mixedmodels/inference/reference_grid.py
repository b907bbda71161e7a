"""emmeans' reference grid and its rows of the fixed-effect model matrix.

Every combination of the model's factor levels, each numeric covariate at its mean over the
rows used in the fit (or the values of ``at=``).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mixedmodels.errors import InferenceError
from mixedmodels.rfunctions import R_CONTEXT

__all__ = ["reference_grid"]


_IDENTIFIER = re.compile(r"[A-Za-z_.][A-Za-z0-9_.]*")


@dataclass(frozen=True)
class _Variables:
    factors: dict[str, list]  # variable -> levels, in the model's order
    covariates: dict[str, float]  # variable -> value of the grid


def _model_variables(result, at: Mapping | None) -> _Variables:
    design = result.design
    spec = design.fixed_spec
    required = sorted(str(v) for v in spec.required_variables)
    state = getattr(spec, "encoder_state", {}) or {}
    factors: dict[str, list] = {}
    for expr, (kind, info) in state.items():
        if getattr(kind, "value", kind) != "categorical":
            continue
        expr = str(expr)
        if expr in required:
            name = expr
        else:
            names = [v for v in dict.fromkeys(_IDENTIFIER.findall(expr)) if v in required]
            if len(names) != 1:
                raise InferenceError(
                    f"cannot tell which variable the categorical term {expr!r} codes"
                )
            name = names[0]
        factors.setdefault(name, list(info["categories"]))
    means = dict(getattr(design, "covariate_means", {}) or {})
    covariates = {}
    at = dict(at or {})
    for name in required:
        if name in factors:
            continue
        if name in at:
            continue
        if name not in means:
            raise InferenceError(
                f"the mean of covariate {name!r} is unknown for this fit: give its value in at="
            )
        covariates[name] = means[name]
    for name, value in at.items():
        if name in factors:
            values = list(np.atleast_1d(value)) if not isinstance(value, str) else [value]
            unknown = [v for v in values if v not in factors[name]]
            if unknown:
                raise InferenceError(
                    f"at= gives level(s) {unknown!r} of {name!r}, which has levels "
                    f"{factors[name]!r}"
                )
            factors[name] = values
        elif name in required:
            numbers = np.atleast_1d(np.asarray(value, dtype=float))
            if numbers.size == 1:
                covariates[name] = float(numbers[0])
            else:
                factors[name] = list(numbers)  # several values: a dimension of the grid
        else:
            raise InferenceError(f"at= names {name!r}, which is not a fixed-effect variable")
    return _Variables(factors=factors, covariates=covariates)


def reference_grid(result, at: Mapping | None = None) -> pd.DataFrame:
    """emmeans' reference grid: every combination of factor levels, covariates at their means.

    The first factor varies fastest (R's ``expand.grid``).

    Parameters
    ----------
    result
        A fitted model (anything with ``design.fixed_spec`` and ``design.covariate_means``).
    at
        Values to use instead: a level subset for a factor, one or several values for a
        covariate.

    Returns
    -------
    pandas.DataFrame
        One row per grid point, one column per fixed-effect variable.
    """
    return _grid_from(_model_variables(result, at))


def _grid_matrix(result, grid: pd.DataFrame, variables: _Variables) -> np.ndarray:
    spec = result.design.fixed_spec
    state = getattr(spec, "encoder_state", {}) or {}
    data = grid.copy()
    categorical = {}
    for expr, (kind, info) in state.items():
        if getattr(kind, "value", kind) == "categorical" and str(expr) in data.columns:
            categorical[str(expr)] = list(info["categories"])
    for name, levels in categorical.items():
        data[name] = pd.Categorical(data[name], categories=levels)
    return np.asarray(
        spec.get_model_matrix(data, na_action="ignore", context=R_CONTEXT), dtype=float
    )


def _grid_from(variables: _Variables) -> pd.DataFrame:
    names = list(variables.factors)
    levels = [variables.factors[n] for n in names]
    combos = list(itertools.product(*reversed(levels))) if names else [()]
    grid = pd.DataFrame(
        {name: [c[len(names) - 1 - i] for c in combos] for i, name in enumerate(names)},
        index=pd.RangeIndex(len(combos)),
    )
    for name, value in variables.covariates.items():
        grid[name] = value
    return grid
