"""From a parsed formula and a data frame to the arrays the engine needs.

Fixed-effects model matrices and the left sides of the random-effect terms are built by
formulaic, whose model specs are kept for ``predict(newdata)``. Grouping factors are coded
here. Every check on the data happens in this module and raises one of our own errors naming
the column or term at fault.
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache, partial
from typing import Any

import numpy as np
import pandas as pd

from mixedmodels._warn import warn
from mixedmodels.columns import Column, ColumnCache
from mixedmodels.contrasts import apply_contrasts
from mixedmodels.covariance import make_covariance
from mixedmodels.errors import (
    DesignError,
    FormulaError,
    MissingColumnError,
    RankDeficiencyWarning,
)
from mixedmodels.formula import ParsedFormula, RandomTerm, parse_formula
from mixedmodels.newdata import new_model_matrix
from mixedmodels.rfunctions import R_CONTEXT
from mixedmodels.terms import ReBlock, ReTerm, build_blocks
from mixedmodels.weights import ZeroWeightRows, check_weights, weights_label

__all__ = [
    "Design",
    "TermSpec",
    "build_design",
    "group_codes",
    "lme4_column_names",
    "needed_variables",
    "shared_columns",
    "shared_response",
]

RANK_TOLERANCE = 1e-7
CLEAR_RESIDUAL = 1e-2  # relative residual norms above which no column can be aliased
SMALL_X = 50_000  # entries of X below which the rank check runs without a BLAS thread limit


@dataclass(frozen=True, eq=False)
class TermSpec:
    """What is needed to rebuild one random-effect term's columns for new data."""

    term: RandomTerm
    model_spec: Any  # formulaic ModelSpec of the term's left side
    columns: tuple[str, ...]
    select: tuple[int, ...] | None = None  # columns of the spec's matrix kept (zerocorr)


@dataclass(frozen=True, eq=False)
class Design:
    """The model's data in engine form plus what predict() needs to rebuild it.

    Attributes
    ----------
    formula
        The parsed formula.
    y, X
        Response and fixed-effects model matrix (aliased columns dropped).
    fixed_names
        Names of the kept columns of X (lme4 style: ``(Intercept)``, ``service1``).
    dropped_names
        Names of aliased columns that were dropped.
    terms, blocks
        Random-effect terms in theta order and the engine blocks.
    term_specs
        Per term of the formula (in formula order), how to rebuild its columns.
    weights, offset
        Prior weights and offset per kept row, or None.
    row_index
        Index labels of the rows used (after dropping incomplete rows).
    n_dropped
        Number of rows dropped for missing values.
    zero_weight
        The complete rows with prior weight zero (not in the fit, given fitted values), or
        None.
    offset_specs
        formulaic specs of the formula's ``offset(...)`` terms, for new data.
    covariate_means
        Mean over the rows used of every numeric variable of the fixed part (emmeans' reference
        grid holds covariates at these values).
    """

    formula: ParsedFormula
    y: np.ndarray
    X: np.ndarray
    fixed_names: tuple[str, ...]
    dropped_names: tuple[str, ...]
    fixed_spec: object
    kept_columns: np.ndarray
    terms: tuple[ReTerm, ...]
    blocks: tuple[ReBlock, ...]
    term_specs: tuple[TermSpec, ...]
    weights: np.ndarray | None
    offset: np.ndarray | None
    row_index: pd.Index
    n_dropped: int
    covariate_means: Mapping[str, float] = field(default_factory=dict)
    zero_weight: ZeroWeightRows | None = None
    offset_specs: tuple = ()

    @property
    def n(self) -> int:
        """Number of observations used."""
        return self.y.shape[0]


_CODED = re.compile(r"C\(\s*([^,()]+?)\s*(?:,[^\[]*)?\)\[")
_TREATMENT = re.compile(r"\[[TSHD]\.([^\]]*)\]")
_POLY = re.compile(r"\[(\.[A-Z^0-9]+)\]")
_CONTRAST = re.compile(r"\[([^\]]*)\]")
_LOGICAL = re.compile(r"\[(T\.)?(True|False)\]")


def _covariate_means(frame: pd.DataFrame, spec) -> dict[str, float]:
    """Mean of every numeric (non-boolean) variable the fixed part reads, over ``frame``."""
    out = {}
    for name in sorted(str(v) for v in getattr(spec, "required_variables", ())):
        if name in frame.columns:
            column = frame[name]
            if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
                out[name] = float(np.mean(np.asarray(column, dtype=float)))
    return out


def lme4_column_names(
    names: Sequence[str], labels: tuple[tuple[str, str], ...] = ()
) -> tuple[str, ...]:
    """Rename formulaic columns as lme4 does.

    ``Intercept`` becomes ``(Intercept)`` and ``f[T.b]`` becomes ``fb``; with ``labels``
    (:attr:`ParsedFormula.labels`), a call is named as R writes it (``I(day ** 2)`` becomes
    ``I(day^2)``, ``as_numeric(x)`` becomes ``as.numeric(x)``).
    """
    return _lme4_names(tuple(_r_named(name, labels) for name in names) if labels else tuple(names))


def _split_top(text: str, sep: str) -> list[str]:
    """``text`` cut at ``sep`` outside brackets and quotes."""
    parts, depth, start, quote = [], 0, 0, None
    for i, ch in enumerate(text):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == sep and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def _r_named(name: str, labels: tuple[tuple[str, str], ...]) -> str:
    """A formulaic column name with each factor that is a call of the formula named as in R."""
    from mixedmodels.rsyntax import python_key

    table = dict(labels)
    out = []
    for part in _split_top(name, ":"):
        expr, level = part, ""
        if part.endswith("]"):
            depth = 0
            for i in range(len(part) - 1, -1, -1):
                depth += {"]": 1, "[": -1}.get(part[i], 0)
                if depth == 0:
                    expr, level = part[:i], part[i:]
                    break
        label = table.get(python_key(expr))
        out.append((label if label is not None else expr) + level)
    return ":".join(out)


_POSITIONAL = re.compile(r"^(.*)\[([SH])\.(.*)\]$", re.DOTALL)


def _positional_levels(names: tuple[str, ...]) -> tuple[str, ...]:
    """Sum- and Helmert-coded columns named by position, as R names them (``nitro1``).

    formulaic names such a column by a level (``[S.a]``, ``[H.b]``); R's ``contr.sum`` and
    ``contr.helmert`` have no level names, so R numbers the columns ``1, 2, ...``. The
    position is the level's rank among that factor's columns, in formulaic's (level) order.
    """
    if "[S." not in "".join(names) and "[H." not in "".join(names):
        return names
    positions: dict[tuple[str, str], dict[str, int]] = {}
    split = []
    for name in names:
        parts: list[Any] = []  # (expr, kind, level) of a positional factor, else the text
        for part in _split_top(name, ":"):
            match = _POSITIONAL.match(part)
            if match:
                expr, kind, level = match.groups()
                seen = positions.setdefault((expr, kind), {})
                seen.setdefault(level, len(seen) + 1)
                parts.append((expr, kind, level))
            else:
                parts.append(part)
        split.append(parts)
    out = []
    for parts in split:
        text = [
            part if isinstance(part, str) else f"{part[0]}[{positions[part[:2]][part[2]]}]"
            for part in parts
        ]
        out.append(":".join(text))
    return tuple(out)


@lru_cache(maxsize=1024)
def _lme4_names(names: tuple[str, ...]) -> tuple[str, ...]:
    out = []
    for name in _positional_levels(names):
        if name == "Intercept":
            out.append("(Intercept)")
            continue
        name = _LOGICAL.sub(lambda m: f"[{m.group(1) or ''}{m.group(2).upper()}]", name)
        name = _CODED.sub(r"\1[", name)
        name = _POLY.sub(r"\1", name)
        name = _TREATMENT.sub(r"\1", name)
        out.append(_CONTRAST.sub(r"\1", name))
    return tuple(out)


def _sort_levels(values: pd.Series | Column) -> tuple[np.ndarray, list[str]]:
    """Integer codes and labels of a factor, levels in lme4's order (sorted / categorical order)."""
    dtype = values.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "iu":  # integers: numpy sorts as pandas
        uniques, codes = np.unique(values.to_numpy(), return_inverse=True)
        return codes.astype(np.intp), [str(u) for u in uniques.tolist()]
    if isinstance(dtype, pd.StringDtype):  # pandas' hash table on str objects: no Arrow detour
        return _sorted_codes(values.to_numpy(dtype=object))
    if isinstance(dtype, pd.CategoricalDtype):
        return _categorical_codes(values.cat.codes.to_numpy(), dtype.categories)
    codes, uniques = pd.factorize(values.array if isinstance(values, Column) else values, sort=True)
    return codes.astype(np.intp), [str(u) for u in uniques]


def _categorical_codes(codes: np.ndarray, categories: pd.Index) -> tuple[np.ndarray, list[str]]:
    """Codes and labels of the used categories (``remove_unused_categories`` without its copies).

    ``codes`` are pandas' category codes of complete rows (no -1).
    """
    codes = codes.astype(np.intp)
    used = np.bincount(codes, minlength=len(categories)) > 0
    if used.all():
        return codes, [str(c) for c in categories]
    renumber = np.cumsum(used, dtype=np.intp) - 1
    return renumber[codes], [str(c) for c in categories[used]]


def _sorted_codes(values: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """``pd.factorize(values, sort=True)`` for an object array of str, codes as intp.

    Factorised in order of appearance, then only the (few) distinct labels are sorted and
    the codes renumbered (faster than pandas' sorted factorisation: benchmarks/results.md).
    """
    codes, uniques = pd.factorize(values)
    if codes.size and codes.min() < 0:  # missing labels: pandas' own ordering rules
        codes, uniques = pd.factorize(values, sort=True)
        return codes.astype(np.intp), [str(u) for u in uniques]
    order = np.argsort(uniques)
    rank = np.empty(order.size, dtype=np.intp)
    rank[order] = np.arange(order.size, dtype=np.intp)
    return rank[codes], [str(u) for u in uniques[order]]


def group_codes(
    frame: pd.DataFrame | ColumnCache, group: tuple[str, ...]
) -> tuple[np.ndarray, list[str]]:
    """Codes and level labels of a grouping factor or an interaction of factors (``a:b``)."""
    codes, labels = _sort_levels(frame[group[0]])
    for name in group[1:]:
        more, more_labels = _sort_levels(frame[name])
        combined = codes * len(more_labels) + more
        used, codes = np.unique(combined, return_inverse=True)
        labels = [
            f"{labels[u // len(more_labels)]}:{more_labels[u % len(more_labels)]}" for u in used
        ]
        codes = codes.astype(np.intp)
    return codes, labels


@lru_cache(maxsize=256)
def _parse_cached(formula: str) -> ParsedFormula:
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


def _check_columns(data: pd.DataFrame, needed: dict[str, str], formula: str) -> None:
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


def _dated_columns_hint(spec_text: str, frame: pd.DataFrame) -> str:
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


def _materialize(spec_text: str, columns: ColumnCache, where: str, formula: str):
    import formulaic

    from mixedmodels.fastmatrix import cached_model_matrix, remember

    fast = cached_model_matrix(spec_text, columns)  # formulas seen before: numpy only
    if fast is not None:
        return fast
    frame = columns.frame
    try:
        result = formulaic.model_matrix(spec_text, frame, na_action="raise", context=R_CONTEXT)
    except Exception as exc:
        raise FormulaError(
            f"cannot evaluate {where} {spec_text!r}: {_dated_columns_hint(spec_text, frame)}{exc}",
            formula,
        ) from exc
    remember(spec_text, frame, result)
    return result


def _is_numeric_column(data: pd.DataFrame, name: str) -> bool:
    """Whether ``name`` is a numeric (not boolean, not categorical) column of ``data``."""
    if name not in data.columns:
        return False
    dtype = data[name].dtype
    return (
        pd.api.types.is_numeric_dtype(dtype)
        and not pd.api.types.is_bool_dtype(dtype)
        and not isinstance(dtype, pd.CategoricalDtype)
    )


def _logical_as_factors(data: pd.DataFrame, needed: dict[str, str], parsed) -> pd.DataFrame:
    """Boolean predictors as factors with levels FALSE, TRUE, as R codes logical columns.

    formulaic would code them as 0/1 numbers: the same columns beside an intercept, but not
    without one (``0 + b`` has two columns in R) nor in ``(0 + b | g)``.
    """
    dtypes = [
        (name, _column_dtype(data, name))
        for name, where in needed.items()
        if where != "the response" and not where.startswith("offset(")
    ]
    groups = {g for term in parsed.random for g in term.group}
    logical = [
        name
        for name, dtype in dtypes
        if isinstance(dtype, np.dtype)
        and dtype.kind == "b"
        and name != parsed.response
        and name not in groups
    ]
    if not logical:
        return data
    return data.assign(**{n: pd.Categorical(data[n], categories=[False, True]) for n in logical})


def _column_dtype(data: pd.DataFrame, name: str):
    """A column's dtype without building its Series (microseconds per model matter)."""
    try:
        loc = data.columns.get_loc(name)
        if isinstance(loc, int):
            return data._get_column_array(loc).dtype
    except (AttributeError, TypeError):  # pragma: no cover - another pandas layout
        pass
    column = data[name]
    return column.dtype if isinstance(column, pd.Series) else None


def _formula_offset(expr: str, data: pd.DataFrame, formula: str):
    """Values (one per row of the data) and formulaic spec of an ``offset(expr)`` term."""
    import formulaic

    try:
        mm = formulaic.model_matrix(f"0 + I({expr})", data, na_action="ignore", context=R_CONTEXT)
    except Exception as exc:
        raise FormulaError(f"cannot evaluate offset({expr}): {exc}", formula) from exc
    values = np.asarray(mm, dtype=float)
    if values.shape != (len(data), 1):
        raise FormulaError(f"offset({expr}) must give one number per row", formula)
    if np.isinf(values).any():
        raise DesignError(f"offset({expr}) has infinite values")
    return values[:, 0], mm.model_spec


def _check_response_varies(y: np.ndarray, offset: np.ndarray | None, response: str) -> None:
    """Refuse a response (less the offset) that has one value on every row used."""
    working = y if offset is None else y - offset
    if working.size and np.ptp(working) == 0.0:
        less = " less the offset" if offset is not None else ""
        raise DesignError(
            f"the response {response!r}{less} is constant ({working[0]:g} on every row used):"
            " there is no variation for the model to describe"
        )


def fixed_effects_fit_exactly(design: Design) -> bool:
    """Whether the fixed effects alone reproduce the (working) response to rounding.

    Then the residual sum of squares is zero at every theta and the criterion is not finite
    (or is rounding noise); called only when a fit fails or ends with a vanishing sigma.
    """
    y = design.y if design.offset is None else design.y - design.offset
    X = design.X
    if design.weights is not None:
        root = np.sqrt(design.weights)
        y, X = y * root, X * root[:, None]
    if X.shape[1] == 0:
        return False
    beta = np.linalg.lstsq(X, y, rcond=None)[0]
    residual = float(np.linalg.norm(y - X @ beta))
    return residual <= 1e-10 * max(float(np.linalg.norm(y - y.mean())), float(np.abs(y).max()))


def _clearly_full_rank(X: np.ndarray) -> bool:
    """Whether every column of X is far from the span of the earlier ones (no n-length copies).

    The Cholesky factor of the column-normalised ``X'X`` holds on its diagonal each column's
    residual norm after projection on the earlier columns, relative to its own norm. When all
    exceed :data:`CLEAR_RESIDUAL`, orders of magnitude above :data:`RANK_TOLERANCE` and the
    rounding of the cross-product, :func:`_drop_aliased` would keep every column, so its
    Gram-Schmidt pass (with an ``(p, n)`` basis and n-length temporaries) is skipped.
    """
    if X.shape[1] == 0:
        return True
    gram = X.T @ X
    scale = np.sqrt(np.diag(gram))
    if not np.all(scale > 0.0) or not np.all(np.isfinite(scale)):
        return False
    try:
        L = np.linalg.cholesky(gram / np.outer(scale, scale))
    except np.linalg.LinAlgError:
        return False
    return bool(np.all(np.diag(L) > CLEAR_RESIDUAL))


def _drop_aliased(X: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    """Indices of columns to keep: a column is dropped when earlier kept ones span it."""
    from mixedmodels.linalg.threads import blas_limit

    if X.size >= SMALL_X and _clearly_full_rank(X):
        return np.arange(X.shape[1], dtype=np.intp)
    keep: list[int] = []
    basis = np.empty((X.shape[1], X.shape[0]))  # orthonormal rows, preallocated
    k = 0
    # long thin products: threads only add overhead; below SMALL_X BLAS uses one thread anyway
    # and limiting it would cost more than the products
    limit = blas_limit(0) if X.size >= SMALL_X else contextlib.nullcontext()
    with limit:
        for j in range(X.shape[1]):
            col = np.ascontiguousarray(X[:, j])
            norm = math.sqrt(col @ col)  # np.linalg.norm's own formula, without its checks
            if norm == 0.0:
                continue
            resid = col
            if k:
                B = basis[:k]
                resid = col - (B @ col) @ B
                resid = resid - (B @ resid) @ B
            size = math.sqrt(resid @ resid)
            if size > RANK_TOLERANCE * norm:
                basis[k] = resid / size
                k += 1
                keep.append(j)
    return np.array(keep, dtype=np.intp)


def shared_response(y: np.ndarray, frame: ColumnCache, response: str) -> np.ndarray:
    """The response as a view of its float64 data column when equal to ``y``, else ``y``.

    formulaic evaluates the response into a new array; for a plain numeric column with
    :data:`SMALL_X` or more rows the data's own (read-only) values serve instead.
    """
    if y.size < SMALL_X or response not in frame.columns:
        return y
    column = frame[response]
    if column.dtype != np.float64:
        return y
    values = column.to_numpy()
    if values.shape != y.shape or np.shares_memory(values, y) or not np.array_equal(values, y):
        return y
    return values


def shared_columns(
    matrix: np.ndarray, columns: Sequence[str], X: np.ndarray, fixed_names: Sequence[str]
) -> np.ndarray:
    """A random-effect term's matrix as a view of the same columns of X, when it has them.

    ``(1 + x | g)`` with ``x`` in the fixed part repeats columns of X; with
    :data:`SMALL_X` or more entries, a term whose columns are a run of X's columns (same names,
    equal values) gets a view of X instead of its own copy. Otherwise ``matrix`` is returned.
    """
    k = len(columns)
    if matrix.size < SMALL_X or k == 0 or matrix.shape != (X.shape[0], k):
        return matrix
    names = list(fixed_names)
    for start in range(len(names) - k + 1):
        if names[start : start + k] == list(columns):
            view = X[:, start : start + k]
            same = all(np.array_equal(view[:, j], matrix[:, j]) for j in range(k))
            return view if same else matrix
    return matrix


def _as_row_vector(value, data: pd.DataFrame, what: str) -> np.ndarray | None:
    if value is None:
        return None
    label = f"{what} column {value!r}" if isinstance(value, str) else what
    if isinstance(value, str):
        if value not in data.columns:
            raise MissingColumnError(f"{label} not found in the data")
        value = data[value]
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as exc:
        raise DesignError(f"{label} must be numeric: {exc}") from None
    if arr.shape != (len(data),):
        raise DesignError(
            f"{what} must have one value per row ({len(data)}), got shape {arr.shape}"
        )
    return arr


def _check_numeric(frame: pd.DataFrame | ColumnCache, name: str, role: str) -> None:
    col = frame[name]
    dtype = col.dtype
    if not (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)):
        raise DesignError(f"the {role} {name!r} must be numeric, it has dtype {col.dtype}")


def _missing(col: pd.Series | Column, name: str, where: str) -> np.ndarray | None:
    """Which rows of a used column are missing (None: none can be); errors for unusable columns."""
    dtype = col.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "iub":  # numpy integers and bools
        return None
    if isinstance(dtype, np.dtype) and dtype.kind == "f":
        values = col.to_numpy()
        missing = np.isnan(values)
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


def term_covariance(term: RandomTerm, columns: tuple[str, ...], text: str):
    """The covariance structure of a term with these columns, checked against them.

    ``cs``, ``homcs``, ``ar1`` and ``toep`` need two columns or more; ``ar1`` and ``toep``
    relate consecutive columns (occasions), so an intercept column among them is refused.
    """
    kind = term.structure
    covariance = make_covariance(kind, len(columns))
    if len(columns) < covariance.min_size:
        hint = (
            f": give it a factor of occasions, e.g. {kind}(0 + C(time) | {term.group_name})"
            if kind in ("ar1", "toep")
            else ""
        )
        raise FormulaError(
            f"{kind}() needs at least {covariance.min_size} columns, {term.text} has "
            f"{len(columns)} ({', '.join(columns)}){hint}",
            text,
        )
    if kind in ("ar1", "toep") and "(Intercept)" in columns:
        raise FormulaError(
            f"{term.text} has an intercept column, but {kind}() relates consecutive occasions:"
            f" write {kind}(0 + time | {term.group_name}) with time a factor",
            text,
        )
    return covariance


def check_identified(term: RandomTerm, kind: str, codes, matrix: np.ndarray, text: str) -> None:
    """Refuse ``homdiag``/``homcs`` over indicator columns with one observation per cell.

    There the term's own variance (``homdiag``) or its diagonal share (``homcs``) is the
    residual's: the likelihood is flat along their sum, as for lme4's ``(1 | g:f)`` with one
    observation per level, which lme4 refuses.
    """
    if kind not in ("homdiag", "homcs") or matrix.shape[1] < 2:
        return
    ones = matrix == 1.0
    if not (np.all(ones | (matrix == 0.0)) and np.all(ones.sum(axis=1) == 1)):
        return
    cell = codes * matrix.shape[1] + np.argmax(ones, axis=1)
    if np.bincount(cell).max() <= 1:
        raise DesignError(
            f"{term.text}: every {term.group_name} x column cell has one observation, so the "
            f"{kind}() variance is confounded with the residual (as lme4's (1 | g:f) with one "
            "observation per level); use a random intercept, cs(), ar1() or toep()"
        )


def build_design(
    formula: str | ParsedFormula,
    data: pd.DataFrame,
    *,
    weights=None,
    offset=None,
    contrasts: dict[str, str] | None = None,
    residual_variance: bool = True,
) -> Design:
    """Parse (if needed), check the data, drop incomplete rows and build every matrix.

    Parameters
    ----------
    formula
        lme4 formula text or an already parsed formula.
    data
        The data; must contain every variable named in the formula.
    weights, offset
        Column names or arrays of one value per row.
    contrasts
        Coding of categorical variables of the fixed part, e.g. ``{"x": "sum"}``.
    residual_variance
        Whether the model has a residual variance (a linear mixed model): then a grouping
        factor needs fewer levels, and a block fewer random effects, than observations. A
        GLMM has none, so an observation-level random effect is allowed (False).

    Returns
    -------
    Design
    """
    parsed = _parse_cached(formula) if isinstance(formula, str) else formula
    text = parsed.formula
    if not isinstance(data, pd.DataFrame):
        try:
            data = pd.DataFrame(data)
        except Exception as exc:
            raise DesignError(
                f"data must be a pandas DataFrame, got {type(data).__name__}"
            ) from exc
    if contrasts:
        numeric = partial(_is_numeric_column, data)
        parsed = replace(parsed, fixed=apply_contrasts(parsed.fixed, contrasts, text, numeric))
    needed = without_functions(_needed_variables(parsed), data.columns)  # never modified
    _check_columns(data, needed, text)
    data = _logical_as_factors(data, needed, parsed)
    w = _as_row_vector(weights, data, "weights")
    off = argument_offset = _as_row_vector(offset, data, "offset")
    offset_specs = []
    for expr in parsed.offsets:  # R's offset(...) terms: added to the offset argument's
        values, spec = _formula_offset(expr, data, text)
        off = values if off is None else off + values
        offset_specs.append(spec)
    used = list(needed)
    view = ColumnCache(data)
    complete = np.ones(len(data), dtype=bool)
    for name in used:
        missing = _missing(view[name], name, needed[name])
        if missing is not None:
            complete &= ~missing
    if parsed.response in data.columns:
        _check_numeric(view, parsed.response, "response")
    if off is not None:
        if np.isinf(off).any():
            label = f"offset column {offset!r}" if isinstance(offset, str) else "offset"
            raise DesignError(f"{label} has infinite values")
        complete &= ~np.isnan(off)
    fitted_rows = complete
    zero = None
    if w is not None:
        zero = check_weights(w, complete, data.index, weights_label(weights))
        if zero.any():
            fitted_rows = complete & ~zero  # lm's rule: weight 0 is not in the fit
        else:
            zero = None
    # all rows complete: the data itself (no copy); only the used columns are ever read
    if not fitted_rows.all():
        view = ColumnCache(data.loc[fitted_rows, used])
    frame = view.frame
    n_dropped = int((~complete).sum())
    if len(frame) == 0:
        raise DesignError("no complete rows: every row has a missing value in a used column")
    both = _materialize(f"{parsed.response} ~ {parsed.fixed}", view, "the formula", text)
    y = np.asarray(both.lhs, dtype=float)
    if y.ndim == 2:
        if y.shape[1] != 1:
            raise DesignError(f"the response {parsed.response!r} must be one numeric column")
        y = y[:, 0]
    if not np.isfinite(y).all():
        raise DesignError(f"the response {parsed.response!r} has non-finite values")
    y = shared_response(y, view, parsed.response)
    _check_response_varies(y, None if off is None else off[fitted_rows], parsed.response)
    zero_weight = None
    if zero is not None:
        positions = np.concatenate([np.flatnonzero(fitted_rows), np.flatnonzero(zero)])
        rows = data.loc[zero, used]
        zero_weight = ZeroWeightRows(
            data=rows,
            y=np.asarray(new_model_matrix(both.lhs.model_spec, rows, "the response"))[:, 0],
            offset=None if argument_offset is None else argument_offset[zero],
            order=np.argsort(positions, kind="stable"),
        )
    X_full = np.asarray(both.rhs, dtype=float)
    all_names = lme4_column_names(list(both.rhs.columns), parsed.labels)
    fixed_spec = both.rhs.model_spec
    del both  # formulaic's columns, when X_full is a copy of them
    keep = _drop_aliased(X_full, all_names)
    dropped = tuple(n for j, n in enumerate(all_names) if j not in set(keep.tolist()))
    if dropped:
        warn(
            "fixed-effect model matrix is rank deficient so dropping "
            f"{len(dropped)} column(s): {', '.join(dropped)}",
            RankDeficiencyWarning,
        )
    # every column kept of a column-major X_full (formulaic's and the plans' layout): X_full
    # itself, as X_full[:, keep] would be an identical column-major copy
    whole = keep.size == X_full.shape[1] and X_full.flags.f_contiguous
    X = X_full if whole else X_full[:, keep]
    fixed_names = tuple(all_names[j] for j in keep)
    n = len(frame)
    term_specs: list[TermSpec] = []
    raw_terms: list[tuple] = []  # (group, labels, codes, matrix, columns[, covariance])
    for term in parsed.random:
        mm = _materialize(term.lhs, view, f"term {term.text}", text)
        columns = lme4_column_names(list(mm.columns), parsed.labels)
        matrix = np.asarray(mm, dtype=float)
        model_spec = mm.model_spec
        del mm  # formulaic's columns, when matrix is a copy of them
        matrix = shared_columns(matrix, columns, X, fixed_names)
        if matrix.shape[1] == 0:
            raise FormulaError(f"random-effects term {term.text} has no columns", text)
        codes, labels = group_codes(view, term.group)
        if len(labels) < 2:
            raise DesignError(
                f"grouping factor {term.group_name!r} in {term.text} must have at least 2 levels,"
                f" it has {len(labels)}"
            )
        if residual_variance and len(labels) >= n:
            raise DesignError(
                f"number of levels of grouping factor {term.group_name!r} in {term.text} "
                f"({len(labels)}) must be less than the number of observations ({n})"
            )
        if term.split_columns and matrix.shape[1] > 1:  # zerocorr: a term per column
            for j, column in enumerate(columns):
                term_specs.append(TermSpec(term, model_spec, (column,), select=(j,)))
                raw_terms.append(
                    (term.group_name, tuple(labels), codes, matrix[:, [j]].copy(), (column,))
                )
            continue
        term_specs.append(TermSpec(term=term, model_spec=model_spec, columns=columns))
        covariance = term_covariance(term, columns, text)
        if residual_variance:
            check_identified(term, covariance.kind, codes, matrix, text)
        raw_terms.append((term.group_name, tuple(labels), codes, matrix, columns, covariance))
    terms, blocks = build_blocks(raw_terms)
    for block in blocks:
        if residual_variance and block.n_random_effects >= n and block.count_limited:
            raise DesignError(
                f"number of random effects for grouping factor {block.group_name!r} "
                f"({block.n_random_effects}) must be less than the number of observations ({n})"
            )
    if X.shape[1] >= n:
        raise DesignError(f"fewer observations ({n}) than fixed-effect parameters ({X.shape[1]})")
    return Design(
        formula=parsed,
        y=y,
        X=X,
        fixed_names=fixed_names,
        dropped_names=dropped,
        fixed_spec=fixed_spec,
        kept_columns=keep,
        terms=terms,
        blocks=blocks,
        term_specs=tuple(term_specs),
        weights=None if w is None else w[fitted_rows],
        offset=None if off is None else off[fitted_rows],
        row_index=frame.index,
        n_dropped=n_dropped,
        covariate_means=_covariate_means(frame, fixed_spec),
        zero_weight=zero_weight,
        offset_specs=tuple(offset_specs),
    )
