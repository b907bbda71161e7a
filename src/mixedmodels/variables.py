"""The variables a formula reads, and the checks that the data has them in a usable type."""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np
import pandas as pd

from mixedmodels.columns import Column, ColumnCache, category_codes
from mixedmodels.errors import (
    DesignError,
    FormulaError,
    MissingColumnError,
)
from mixedmodels.formula import ParsedFormula, parse_formula
from mixedmodels.rfunctions import R_CONTEXT


@lru_cache(maxsize=256)
def parse_cached(formula: str) -> ParsedFormula:
    """parse_formula, once per formula text (ParsedFormula is immutable)."""
    return parse_formula(formula)


def _required_variables(spec_text: str, where: str, formula: str) -> set[str]:
    from mixedmodels.fastmatrix import required_variables

    try:
        return set(required_variables(spec_text))
    except Exception as exc:  # formulaic's parser errors
        raise FormulaError(f"cannot parse {where} {spec_text!r}: {exc}", formula) from exc


def needed_variables(parsed: ParsedFormula) -> dict[str, str]:
    """Every data column the formula reads, mapped to where it is read (for messages)."""
    return dict(_needed_variables(parsed))


@lru_cache(maxsize=256)
def _needed_variables(parsed: ParsedFormula) -> dict[str, str]:
    """:func:`needed_variables`, once per parsed formula (callers get a copy)."""
    text = parsed.formula
    needed: dict[str, str] = {}
    for var in _required_variables(parsed.response, "the response", text):
        needed.setdefault(var, "the response")
    for var in _required_variables(parsed.fixed, "the fixed part", text):
        needed.setdefault(var, "the fixed part")
    for expr in parsed.offsets:
        for var in _required_variables(f"I({expr})", f"offset({expr})", text):
            needed.setdefault(var, f"offset({expr})")
    for term in parsed.random:
        for var in _required_variables(term.lhs, f"term {term.text}", text):
            needed.setdefault(var, f"term {term.text}")
        for var in term.group:
            needed.setdefault(var, f"term {term.text}")
    return needed


def without_functions(needed: dict[str, str], columns) -> dict[str, str]:
    """``needed`` without the names of R's functions (:data:`R_CONTEXT`) that are not columns."""
    if all(name in columns or name not in R_CONTEXT for name in needed):
        return needed
    return {k: v for k, v in needed.items() if k in columns or k not in R_CONTEXT}


def check_columns(data: pd.DataFrame, needed: dict[str, str], formula: str) -> None:
    """Raise an error naming a column the formula reads that ``data`` lacks.

    A call of an unknown function is named as such (a FormulaError).
    """
    missing = [name for name in needed if name not in data.columns]
    for name in missing:
        written = name.replace("_", ".") if name.startswith(("as_", "is_")) else name
        call = re.search(rf"(?<![\w.]){re.escape(written)}\s*\(", formula)
        if call:
            raise FormulaError(
                f"unknown function {written!r} in {needed[name]}: the functions of a formula "
                "are R's arithmetic and maths (log, exp, sqrt, abs, ...), factor, relevel, "
                "ordered, poly, scale, center, bs, I, C, offset and numpy's (np.*)",
                formula,
                call.start(),
            )
    if missing:
        details = ", ".join(f"{name!r} (in {needed[name]})" for name in missing)
        raise MissingColumnError(f"column(s) not found in the data: {details}")


def dated_columns_hint(spec_text: str, frame: pd.DataFrame) -> str:
    """Name the date/time columns a formula uses as numbers (the usual cause of its failure)."""
    dated = [
        name
        for name in frame.columns
        if isinstance(name, str)
        and re.search(rf"(?<![\w.]){re.escape(name)}(?![\w.])", spec_text)
        and (
            pd.api.types.is_datetime64_any_dtype(frame[name].dtype)
            or pd.api.types.is_timedelta64_dtype(frame[name].dtype)
            or isinstance(frame[name].dtype, pd.PeriodDtype)
        )
    ]
    if not dated:
        return ""
    names = ", ".join(repr(n) for n in dated)
    return (
        f"column(s) {names} hold dates or times, not numbers: convert them, e.g. "
        f"(t - t.min()).dt.days, or use factor(t) for categories; "
    )


def is_numeric_column(data: pd.DataFrame, name: str) -> bool:
    """Whether ``name`` is a numeric (not boolean, not categorical) column of ``data``."""
    if name not in data.columns:
        return False
    dtype = data[name].dtype
    return (
        pd.api.types.is_numeric_dtype(dtype)
        and not pd.api.types.is_bool_dtype(dtype)
        and not isinstance(dtype, pd.CategoricalDtype)
    )


def column_dtype(data: pd.DataFrame, name: str):
    """A column's dtype without building its Series (microseconds per model matter)."""
    try:
        loc = data.columns.get_loc(name)
        if isinstance(loc, int):
            return data._get_column_array(loc).dtype
    except (AttributeError, TypeError):  # pragma: no cover - another pandas layout
        pass
    column = data[name]
    return column.dtype if isinstance(column, pd.Series) else None


def check_response_varies(y: np.ndarray, offset: np.ndarray | None, response: str) -> None:
    """Refuse a response (less the offset) that has one value on every row used."""
    working = y if offset is None else y - offset
    if working.size and np.ptp(working) == 0.0:
        less = " less the offset" if offset is not None else ""
        raise DesignError(
            f"the response {response!r}{less} is constant ({working[0]:g} on every row used):"
            " there is no variation for the model to describe"
        )


def check_numeric(frame: pd.DataFrame | ColumnCache, name: str, role: str) -> None:
    """Raise :class:`~mixedmodels.errors.DesignError` when column ``name`` is not numeric."""
    col = frame[name]
    dtype = col.dtype
    if not (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)):
        raise DesignError(f"the {role} {name!r} must be numeric, it has dtype {col.dtype}")


def missing_rows(col: pd.Series | Column, name: str, where: str) -> np.ndarray | None:
    """Which rows of a used column are missing (None: none can be); errors for unusable columns."""
    dtype = col.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "iub":  # numpy integers and bools
        return None
    if isinstance(dtype, np.dtype) and dtype.kind == "f":
        values = col.to_numpy()
        missing = np.isnan(values)
    elif isinstance(dtype, pd.CategoricalDtype):  # code -1: no category
        missing = category_codes(col) < 0
        values = None
    else:  # the array's own test: Series.isna() builds a Series around the same answer
        missing = np.asarray(pd.isna(col.array), dtype=bool)
        values = None
    if len(col) and missing.all():
        raise DesignError(f"column {name!r} ({where}) has only missing values")
    if (
        values is None
        and pd.api.types.is_numeric_dtype(dtype)
        and not pd.api.types.is_bool_dtype(dtype)
    ):
        values = col.to_numpy(dtype=float, na_value=np.nan)
    if values is not None and np.isinf(values).any():
        raise DesignError(f"column {name!r} ({where}) has infinite values")
    return missing if missing.any() else None
