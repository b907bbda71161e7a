"""From a parsed formula and a data frame to the arrays the engine needs.

Fixed-effects model matrices and the left sides of the random-effect terms are built by
formulaic, whose model specs are kept for ``predict(newdata)``. Grouping factors are coded
here. Every check on the data happens in this module and raises one of our own errors naming
the column or term at fault.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial

import numpy as np
import pandas as pd

from mixedmodels._warn import warn
from mixedmodels.aliasing import SMALL_X, drop_aliased
from mixedmodels.column_names import lme4_column_names
from mixedmodels.columns import ColumnCache
from mixedmodels.contrasts import apply_contrasts
from mixedmodels.design_spec import DesignSpec, RowChunk, TermSpec
from mixedmodels.errors import (
    DesignError,
    FormulaError,
    MissingColumnError,
    RankDeficiencyWarning,
)
from mixedmodels.formula import ParsedFormula
from mixedmodels.identifiability import (
    check_fixed_count,
    check_identified,
    check_levels,
    check_random_effects,
    check_term_columns,
    term_covariance,
)
from mixedmodels.levels import group_codes
from mixedmodels.newdata import new_model_matrix
from mixedmodels.options import NobsCheck, choose
from mixedmodels.rfunctions import R_CONTEXT
from mixedmodels.terms import build_blocks
from mixedmodels.variables import (
    check_columns,
    check_numeric,
    check_response_varies,
    column_dtype,
    dated_columns_hint,
    is_numeric_column,
    missing_rows,
    needed_variables,
    parse_cached,
    without_functions,
)
from mixedmodels.weights import ZeroWeightRows, check_weights, weights_label

__all__ = [
    "Design",
    "build_design",
    "shared_columns",
    "shared_response",
]


@dataclass(frozen=True, eq=False)
class Design(DesignSpec):
    """The model's data in engine form: the :class:`~mixedmodels.design_spec.DesignSpec` and rows.

    Attributes
    ----------
    y, X
        Response and fixed-effects model matrix (aliased columns dropped).
    weights, offset
        Prior weights and offset per kept row, or None.
    row_index
        Index labels of the rows used (after dropping incomplete rows).
    covariate_means
        Mean over the rows used of every numeric variable of the fixed part (emmeans' reference
        grid holds covariates at these values).
    zero_weight
        The complete rows with prior weight zero (not in the fit, given fitted values), or
        None.
    offset_specs
        formulaic specs of the formula's ``offset(...)`` terms, for new data.

    The others (names, specs, terms, blocks) are the spec's.
    """

    y: np.ndarray
    X: np.ndarray
    weights: np.ndarray | None
    offset: np.ndarray | None
    row_index: pd.Index
    covariate_means: Mapping[str, float] = field(default_factory=dict)
    zero_weight: ZeroWeightRows | None = None
    offset_specs: tuple = ()

    has_rows = True
    """Whether the design holds its rows (an out-of-core fit's holds none)."""

    @property
    def n(self) -> int:
        """Number of observations used."""
        return self.y.shape[0]

    @property
    def weighted(self) -> bool:
        """Whether the fit has prior weights."""
        return self.weights is not None

    def fixed_crossproduct(self) -> np.ndarray:
        """``X'X`` of the kept columns, unweighted (the fixed part's Gram matrix)."""
        return self.X.T @ self.X

    @property
    def working_response(self) -> np.ndarray:
        """The response with the offset removed."""
        return self.y if self.offset is None else self.y - self.offset

    def response_sums(self) -> np.ndarray:
        """Sum and sum of squares of the working response (the offset removed)."""
        y = self.working_response
        return np.array([np.sum(y), y @ y])

    def row_chunk(self) -> RowChunk:
        """All the rows, as one :class:`RowChunk`."""
        return RowChunk(
            y=self.working_response,
            X=self.X,
            blocks=tuple((b.codes, b.matrix) for b in self.blocks),
            weights=self.weights,
            offset=self.offset,
        )


def _covariate_means(view: ColumnCache, spec) -> dict[str, float]:
    """Mean of every numeric (non-boolean) variable the fixed part reads, over ``view``'s rows."""
    out = {}
    for name in sorted(str(v) for v in getattr(spec, "required_variables", ())):
        if name in view.columns:
            column = view[name]
            dtype = getattr(column, "dtype", None)  # None: a duplicated name (a frame)
            if dtype is None:
                continue
            if isinstance(dtype, np.dtype):  # numpy numbers: no Series, no pandas type tests
                if dtype.kind not in "iuf":
                    continue
            elif not pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
                continue
            out[name] = float(np.mean(column.to_numpy(dtype=float)))
    return out


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
            f"cannot evaluate {where} {spec_text!r}: {dated_columns_hint(spec_text, frame)}{exc}",
            formula,
        ) from exc
    remember(spec_text, frame, result)
    return result


def _grouping(view: ColumnCache, levels_view: ColumnCache | None, fitted, group):
    """Codes of the fitted rows and the levels, these from ``levels_view``'s rows when given."""
    if levels_view is None:
        return group_codes(view, group)
    codes, labels = group_codes(levels_view, group)
    return codes[fitted], labels


def _logical_as_factors(data: pd.DataFrame, needed: dict[str, str], parsed) -> pd.DataFrame:
    """Boolean predictors as factors with levels FALSE, TRUE, as R codes logical columns.

    formulaic would code them as 0/1 numbers: the same columns beside an intercept, but not
    without one (``0 + b`` has two columns in R) nor in ``(0 + b | g)``.
    """
    dtypes = [
        (name, column_dtype(data, name))
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


def build_design(
    formula: str | ParsedFormula,
    data: pd.DataFrame,
    *,
    weights=None,
    offset=None,
    contrasts: dict[str, str] | None = None,
    residual_variance: bool = True,
    check_nobs_vs_nre: str = "stop",
    check_nobs_vs_nlev: str = "stop",
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
    check_nobs_vs_nre
        What a block with as many random effects as observations does (lme4's
        ``check.nobs.vs.nRE``): ``"stop"`` (a DesignError), ``"warning"`` or ``"ignore"``.
    check_nobs_vs_nlev
        The same for a grouping factor with as many levels as observations (lme4's
        ``check.nobs.vs.nlev``).

    Returns
    -------
    Design
    """
    check_nobs_vs_nre = choose("check_nobs_vs_nre", check_nobs_vs_nre, NobsCheck)
    check_nobs_vs_nlev = choose("check_nobs_vs_nlev", check_nobs_vs_nlev, NobsCheck)
    parsed = parse_cached(formula) if isinstance(formula, str) else formula
    text = parsed.formula
    if not isinstance(data, pd.DataFrame):
        try:
            data = pd.DataFrame(data)
        except Exception as exc:
            raise DesignError(
                f"data must be a pandas DataFrame, got {type(data).__name__}"
            ) from exc
    if contrasts:
        numeric = partial(is_numeric_column, data)
        parsed = replace(parsed, fixed=apply_contrasts(parsed.fixed, contrasts, text, numeric))
    needed = without_functions(needed_variables(parsed), data.columns)  # never modified
    check_columns(data, needed, text)
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
        missing = missing_rows(view[name], name, needed[name])
        if missing is not None:
            complete &= ~missing
    if parsed.response in data.columns:
        check_numeric(view, parsed.response, "response")
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
    check_response_varies(y, None if off is None else off[fitted_rows], parsed.response)
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
    keep = drop_aliased(X_full, all_names)
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
    # lme4 keeps the levels of rows of weight zero (their random effects are the prior's:
    # zero, with the prior variance), so such a group is known to predict()
    levels_view, fitted_of_complete = None, None
    if zero is not None:
        levels_view = ColumnCache(data.loc[complete, used])
        fitted_of_complete = fitted_rows[complete]
    for term in parsed.random:
        mm = _materialize(term.lhs, view, f"term {term.text}", text)
        columns = lme4_column_names(list(mm.columns), parsed.labels)
        matrix = np.asarray(mm, dtype=float)
        model_spec = mm.model_spec
        del mm  # formulaic's columns, when matrix is a copy of them
        matrix = shared_columns(matrix, columns, X, fixed_names)
        check_term_columns(term, columns, text)
        codes, labels = _grouping(view, levels_view, fitted_of_complete, term.group)
        check_levels(term, len(labels), n, residual_variance, check_nobs_vs_nlev)
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
    check_random_effects(blocks, n, check_nobs_vs_nre, residual_variance)
    check_fixed_count(X.shape[1], n)
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
        covariate_means=_covariate_means(view, fixed_spec),
        zero_weight=zero_weight,
        offset_specs=tuple(offset_specs),
    )
