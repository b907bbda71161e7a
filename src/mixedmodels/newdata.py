"""Model matrices for new data, encoded as the fitting data were, or a clear refusal.

formulaic's model specs keep each factor's levels, so new data are coded column for column as
the fit's; but a level the fit never saw (or a missing one) is only a warning there, and the
row is silently coded as the reference level. lme4 refuses such data, and so do we: every
categorical factor's values are checked against the levels it was fitted with, and the error
names the column and the levels at fault.
"""

from __future__ import annotations

import ast
import re
import warnings

import numpy as np
import pandas as pd

from mixedmodels.errors import DesignError
from mixedmodels.rfunctions import R_CONTEXT

__all__ = ["new_model_matrix", "check_factor_levels", "uncodable_rows"]

_FACTOR_CALLS = frozenset({"C", "factor", "ordered", "as_factor", "relevel"})
_SHOWN = 5


def _factor_column(expr: str, columns: pd.Index) -> str | None:
    """The data column a categorical factor codes (``f``, ``C(f, ...)``, ``factor(f)``)."""
    if expr in columns:
        return expr
    try:
        node = ast.parse(expr, mode="eval").body
    except SyntaxError:
        return None
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in _FACTOR_CALLS
        and node.args
        and isinstance(node.args[0], ast.Name)
        and node.args[0].id in columns
    ):
        return node.args[0].id
    return None


def _listed(values) -> str:
    values = list(values)
    shown = ", ".join(repr(v) for v in values[:_SHOWN])
    return shown + (f" and {len(values) - _SHOWN} more" if len(values) > _SHOWN else "")


def _level_problems(spec, newdata: pd.DataFrame):
    """Per categorical factor coding a column: (column, unseen, missing, categories) masks."""
    for expr, (kind, state) in spec.encoder_state.items():
        if getattr(kind, "value", kind) != "categorical" or "categories" not in state:
            continue
        column = _factor_column(expr, newdata.columns)
        if column is None:
            continue  # an expression: formulaic's own check, turned into an error below
        values = newdata[column]
        categories = list(state["categories"])
        missing = np.asarray(pd.isna(values), dtype=bool)
        unseen = ~missing & ~np.asarray(values.isin(categories), dtype=bool)
        yield column, unseen, missing, categories


def uncodable_rows(design, newdata: pd.DataFrame) -> np.ndarray:
    """Rows of ``newdata`` with a factor level (fixed part or a term's left side) the fit lacks."""
    bad = np.zeros(len(newdata), dtype=bool)
    specs = [design.fixed_spec, *(term.model_spec for term in design.term_specs)]
    for spec in specs:
        for _, unseen, missing, _ in _level_problems(spec, newdata):
            bad |= unseen | missing
    return bad


def check_factor_levels(spec, newdata: pd.DataFrame, where: str) -> pd.DataFrame:
    """Raise if a categorical factor of ``spec`` has, in ``newdata``, a level the fit lacks.

    Returns ``newdata`` with the columns of such factors made categorical with exactly the
    fit's categories (a shallow copy), so that formulaic codes them as it did.

    Parameters
    ----------
    spec
        A formulaic ``ModelSpec`` of the fitted model (its encoder state holds the levels).
    newdata
        The new data.
    where
        What the spec encodes, for the message (``"the fixed part"``, ``"term (f | g)"``).

    Raises
    ------
    DesignError
        Naming the column, the unseen levels (or the rows with a missing level) and the
        levels the fit was made with.
    """
    recoded: dict[str, pd.Categorical] = {}
    for column, unseen, missing, categories in _level_problems(spec, newdata):
        values = newdata[column]
        known = f"the fit's levels of {column!r} are {_listed(categories)}"
        if unseen.any():
            new = pd.unique(values[unseen])
            raise DesignError(
                f"newdata column {column!r} (in {where}) has level(s) the fit did not see: "
                f"{_listed(new)}; {known}"
            )
        if missing.any():
            rows = newdata.index[missing]
            raise DesignError(
                f"newdata column {column!r} (in {where}) has missing values in row(s) "
                f"{_listed(rows)}: a prediction needs one of the fit's levels; {known}"
            )
        # coded with exactly the fit's categories (formulaic codes a boolean column with
        # categories [False, True] as all zeros otherwise)
        raw = values.astype(object) if isinstance(values.dtype, pd.CategoricalDtype) else values
        recoded[column] = pd.Categorical(raw, categories=categories)
    return newdata.assign(**recoded) if recoded else newdata


def check_numeric_columns(spec, newdata: pd.DataFrame, where: str) -> pd.DataFrame:
    """Raise if a column the fit used as a number is not numeric in ``newdata``.

    Numbers held in an object column (``[1, None, 3]``) are converted; text, categories and
    dates are refused.

    Parameters
    ----------
    spec
        A formulaic ``ModelSpec`` of the fitted model.
    newdata
        The new data.
    where
        What the spec encodes, for the message.

    Returns
    -------
    pandas.DataFrame
        ``newdata``, with numbers held as objects converted to floats (a shallow copy).

    Raises
    ------
    DesignError
        Naming the column and its dtype in ``newdata``.
    """
    converted: dict[str, pd.Series] = {}
    for expr, (kind, _) in spec.encoder_state.items():
        if getattr(kind, "value", kind) != "numerical" or expr not in newdata.columns:
            continue
        values = newdata[expr]
        if pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_bool_dtype(values.dtype):
            continue
        if values.dtype == object:
            try:
                converted[expr] = pd.to_numeric(values, errors="raise").astype(float)
                continue
            except (TypeError, ValueError):
                pass
        raise DesignError(
            f"newdata column {expr!r} (in {where}) must be numeric, as it was in the fit; "
            f"it has dtype {values.dtype}"
        )
    return newdata.assign(**converted) if converted else newdata


def _mismatch_message(spec, newdata: pd.DataFrame, where: str, message: str) -> str:
    """Our message for formulaic's warning on a categorical expression (``C(x // 10)``)."""
    exprs = [
        expr
        for expr, (kind, state) in spec.encoder_state.items()
        if getattr(kind, "value", kind) == "categorical"
        and _factor_column(expr, newdata.columns) is None
    ]
    found = re.search(r"dataset\): (\{.*?\})\.", message)
    values = re.sub(r"np\.\w+\(([^()]*)\)", r"\1", found.group(1)) if found else "?"
    factors = ", ".join(repr(e) for e in exprs) or "a categorical factor"
    return (
        f"newdata gives {factors} (in {where}) a level the fit did not see, or a missing "
        f"value: {values}"
    )


def new_model_matrix(spec, newdata: pd.DataFrame, where: str, context=None):
    """``spec``'s model matrix for ``newdata``, refusing levels the fit did not see.

    Parameters
    ----------
    spec
        The formulaic ``ModelSpec`` kept from the fit.
    newdata
        The new data (every variable of the spec).
    where
        What the spec encodes, for messages.
    context
        Names the formula's functions are evaluated with; by default R's, as at the fit
        (:data:`mixedmodels.rfunctions.R_CONTEXT`).

    Returns
    -------
    formulaic.ModelMatrix
        One row per row of ``newdata`` (a data frame with the fit's column names); missing
        numeric values give NaN rows.
    """
    from formulaic.errors import DataMismatchWarning

    newdata = check_factor_levels(spec, newdata, where)
    newdata = check_numeric_columns(spec, newdata, where)
    # formulaic updates the spec's encoder state in place when it meets data unlike the
    # fit's (text in a numeric column): the fit's spec must come out of every call unchanged
    saved = {expr: (kind, dict(state)) for expr, (kind, state) in spec.encoder_state.items()}
    try:
        with warnings.catch_warnings(record=True) as caught:  # every warning, to look at first
            warnings.simplefilter("always")
            matrix = spec.get_model_matrix(
                newdata, na_action="ignore", context=R_CONTEXT if context is None else context
            )
    finally:
        spec.encoder_state.clear()
        spec.encoder_state.update(saved)
    for warning in caught:
        if issubclass(warning.category, DataMismatchWarning):  # the rest follow from it
            raise DesignError(_mismatch_message(spec, newdata, where, str(warning.message)))
    for warning in caught:
        warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    return matrix
