"""Model matrices without formulaic's overhead, for formulas seen before on same-shaped data.

Fitting the same formula to many data sets (simulations, resampling, the genomics pattern)
spends most of its time in formulaic. Here the first call of a (formula, data schema) pair goes
through formulaic; if every factor of the result is a plain column (numeric, or categorical with
treatment or full indicator coding), a *plan* is derived from its model spec, the plan's matrix
is checked against formulaic's, and later calls with the same schema build the matrix with
numpy alone. The schema holds each variable's dtype and, for categorical ones, the levels
present, so that a plan is only reused where formulaic would produce the same columns.
Anything else (functions of columns, other contrasts) always goes through formulaic.

The plans read formulaic internals (the ModelSpec's structure and encoder state) through two
functions only, :func:`encoded_factors` and :func:`default_treatment`;
``tests/test_fastmatrix.py::test_formulaic_internals_read_by_plans`` fails when formulaic
changes what they read, and so does the check that the simple formulas get a plan at all.
"""

from __future__ import annotations

import ast
import itertools
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from mixedmodels.columns import ColumnCache, category_codes

__all__ = [
    "cached_model_matrix",
    "default_treatment",
    "encoded_factors",
    "make_plan",
    "plan_matches",
    "remember",
    "required_variables",
]

_MAX_PLANS = 256
VERIFY_ROWS = 65_536  # rows per chunk when a new plan is checked against formulaic's matrix
_lock = threading.Lock()
_plans: dict[tuple, _Plan | None] = {}


def _expression_names(expr: str) -> set[str]:
    """Data names an expression reads: bare names that are neither called nor attribute bases."""
    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError:
        return {expr}
    skip = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            skip.add(id(node.func))
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            skip.add(id(node.value))
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and id(n) not in skip}


@lru_cache(maxsize=512)
def required_variables(spec_text: str) -> frozenset[str]:
    """Variables a formula (part) needs (cached by text).

    formulaic's own ``required_variables`` misses the arguments of stateful transforms
    (``scale(x)``, ``center(x)``), so the names read by every Python factor are added
    (formulaic's set already holds names of unknown functions, so those can be reported).
    """
    import formulaic

    formula = formulaic.Formula(spec_text)
    names = {str(v) for v in formula.required_variables}
    sides = [formula.lhs, formula.rhs] if hasattr(formula, "rhs") else [formula]
    for term in itertools.chain.from_iterable(sides):
        for factor in term.factors:
            method = str(getattr(factor.eval_method, "value", factor.eval_method)).lower()
            if method == "lookup":
                names.add(str(factor.expr))
            elif method == "python":
                names |= _expression_names(str(factor.expr))
    return frozenset(names)


class FastMatrix:
    """The parts of a formulaic ModelMatrix that the design layer uses."""

    def __init__(self, values: np.ndarray, columns: tuple[str, ...], model_spec) -> None:
        self.values = values
        self.columns = list(columns)
        self.model_spec = model_spec

    def __array__(self, dtype=None, copy=None):
        return self.values if dtype is None else self.values.astype(dtype, copy=False)

    @property
    def shape(self) -> tuple[int, int]:
        """Rows and columns."""
        return self.values.shape


@dataclass(frozen=True)
class FastMatrices:
    """Response and model matrices, as formulaic's ``ModelMatrices``."""

    lhs: FastMatrix
    rhs: FastMatrix


@dataclass(frozen=True)
class _Factor:
    name: str
    levels: tuple | None  # None: numeric
    reduced: bool


@dataclass(frozen=True)
class _Plan:
    terms: tuple[tuple[tuple[_Factor, ...], bool], ...]  # factors, first factor fastest
    columns: tuple[str, ...]
    spec: Any  # formulaic ModelSpec
    response: str | None
    response_spec: Any  # formulaic ModelSpec


def _kind(series: pd.Series):
    dtype = series.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "iuf":  # the common case, decided fast
        return ("num", dtype.str)  # "<f8": cheaper than str(dtype), as distinct
    if isinstance(dtype, pd.CategoricalDtype):
        codes = category_codes(series)
        used = np.bincount(codes[codes >= 0], minlength=len(dtype.categories)) > 0
        return ("cat", tuple(dtype.categories), used.tobytes())
    if pd.api.types.is_bool_dtype(dtype) or not pd.api.types.is_numeric_dtype(dtype):
        values = series.to_numpy()
        try:
            levels = tuple(sorted(pd.unique(values).tolist()))
        except TypeError:  # mixed types: leave it to formulaic
            return None
        return ("obj", str(dtype), levels)
    return ("num", str(dtype))


def _schema(spec_text: str, frame: pd.DataFrame | ColumnCache) -> tuple | None:
    parts: list[object] = [spec_text]
    for name in sorted(required_variables(spec_text)):
        if name not in frame.columns:
            return None
        kind = _kind(frame[name])
        if kind is None:
            return None
        parts.append((name, *kind))
    return tuple(parts)


def _factor_columns(factor: _Factor, frame: pd.DataFrame | ColumnCache, n: int):
    series = frame[factor.name]
    if factor.levels is None:
        return [series.to_numpy(dtype=float)]
    if isinstance(series.dtype, pd.CategoricalDtype):
        lookup = {level: i for i, level in enumerate(series.dtype.categories)}
        codes = category_codes(series)
        mapping = np.array([lookup.get(level, -2) for level in factor.levels])
        wanted = mapping
    else:
        codes = pd.Categorical(series.to_numpy(), categories=list(factor.levels)).codes
        wanted = np.arange(len(factor.levels))
    start = 1 if factor.reduced else 0
    return [(codes == wanted[i]).astype(float) for i in range(start, len(factor.levels))]


def _factor_names(factor: _Factor) -> list[str]:
    if factor.levels is None:
        return [factor.name]
    if factor.reduced:
        return [f"{factor.name}[T.{level}]" for level in factor.levels[1:]]
    return [f"{factor.name}[{level}]" for level in factor.levels]


def _combine(parts: list[list], first_fastest: bool, join) -> list:
    """All products of one entry per part, in factor order, the first or the last fastest."""
    ranges = [range(len(part)) for part in parts]
    if first_fastest:
        combos = [tuple(reversed(c)) for c in itertools.product(*reversed(ranges))]
    else:
        combos = list(itertools.product(*ranges))
    out = []
    for combo in combos:
        value = None
        for part, i in zip(parts, combo, strict=True):
            value = join(value, part[i])
        out.append(value)
    return out


def _join_names(a, b):
    if a is None:
        return b
    if b is None:
        return a
    return f"{a}:{b}"


def _join_values(a, b):
    if a is None:
        return b
    if b is None:
        return a
    return a * b


def _build(plan: _Plan, frame: pd.DataFrame | ColumnCache) -> np.ndarray:
    n = len(frame)
    columns = []
    for factors, first_fastest in plan.terms:
        if not factors:
            columns.append(np.ones(n))
            continue
        parts = [_factor_columns(f, frame, n) for f in factors]
        columns.extend(_combine(parts, first_fastest, _join_values))
    if not columns:
        return np.zeros((n, 0))
    out = np.empty((n, len(columns)), order="F")  # column-major, as formulaic's matrices
    for j, column in enumerate(columns):
        out[:, j] = column
    return out


# -- the formulaic internals a plan reads: here only, each checked by tests/test_fastmatrix.py
# (test_formulaic_internals_read_by_plans), which fails when formulaic changes them. A change
# makes plans None (formulaic is then always used: slower, never wrong).
def encoded_factors(spec) -> list[list[tuple[str, str, dict, bool]]] | None:
    """Per scoped term of a formulaic ModelSpec: ``(expr, kind, state, reduced)`` per factor.

    Reads ``spec.structure[i].scoped_terms[j].factors[k]`` (``.factor.expr``, ``.reduced``)
    and ``spec.encoder_state[expr] == (Kind, state)``; None where the layout is not that.
    """
    try:
        states = spec.encoder_state
        terms = []
        for structure in spec.structure:
            for scoped in structure.scoped_terms:
                factors = []
                for scoped_factor in scoped.factors:
                    expr = str(scoped_factor.factor.expr)
                    if expr not in states:
                        return None
                    kind, state = states[expr]
                    factors.append((expr, str(kind.value), state, bool(scoped_factor.reduced)))
                terms.append(factors)
        return terms
    except (AttributeError, TypeError, ValueError):
        return None


def default_treatment(state: dict) -> bool:
    """Whether a categorical factor's encoder state is formulaic's default treatment coding."""
    try:
        from formulaic.transforms.contrasts import TreatmentContrasts
    except ImportError:  # pragma: no cover - formulaic layout changed
        return False
    contrasts = state.get("contrasts")
    if contrasts is None:
        return True
    coding = getattr(contrasts, "contrasts", None)
    return isinstance(coding, TreatmentContrasts) and "UNSET" in str(coding.base)


def make_plan(spec, response_spec) -> _Plan | None:
    """The plan that rebuilds formulaic's matrices of ``spec`` (and the response's), or None.

    None where a factor of the formula is beyond what the plans build (formulaic then
    materialises every time); a plan is used only once :func:`plan_matches` has checked it.
    """
    encoded = encoded_factors(spec)
    if encoded is None:
        return None
    terms: list[tuple[_Factor, ...]] = []
    for scoped in encoded:
        factors: list[_Factor] = []
        for expr, kind, state, reduced in scoped:
            if not expr.isidentifier():
                return None
            if kind == "numerical":
                if state:
                    return None
                factors.append(_Factor(expr, None, False))
            elif kind == "categorical":
                if not default_treatment(state):
                    return None
                factors.append(_Factor(expr, tuple(state["categories"]), reduced))
            else:
                return None
        terms.append(tuple(factors))
    # the column order within a product: try both nestings against formulaic's names
    ordered: list[tuple[tuple[_Factor, ...], bool]] = []
    position = 0
    names = list(spec.column_names)
    for product in terms:
        if not product:
            ordered.append((product, False))
            position += 1
            continue
        parts = [_factor_names(f) for f in product]
        width = int(np.prod([len(p) for p in parts]))
        target = names[position : position + width]
        for first_fastest in (True, False):
            if _combine(parts, first_fastest, _join_names) == target:
                ordered.append((product, first_fastest))
                break
        else:
            return None
        position += width
    if position != len(names):
        return None
    response = None
    if response_spec is not None:
        rstates = response_spec.encoder_state
        rnames = list(response_spec.column_names)
        if len(rnames) != 1 or rnames[0] not in rstates:
            return None
        kind, state = rstates[rnames[0]]
        if kind.value != "numerical" or state or not rnames[0].isidentifier():
            return None
        response = rnames[0]
    return _Plan(tuple(ordered), tuple(names), spec, response, response_spec)


def _apply(plan: _Plan, frame: pd.DataFrame | ColumnCache):
    rhs = FastMatrix(_build(plan, frame), plan.columns, plan.spec)
    if plan.response_spec is None or plan.response is None:
        return rhs
    y = frame[plan.response].to_numpy(dtype=float)[:, None]
    return FastMatrices(lhs=FastMatrix(y, (plan.response,), plan.response_spec), rhs=rhs)


def cached_model_matrix(spec_text: str, frame: pd.DataFrame | ColumnCache):
    """The model matrix (or matrices, for ``lhs ~ rhs``) from a verified plan, or None.

    ``frame`` may be a :class:`ColumnCache` of the data, so columns are looked up once.
    """
    try:
        key = _schema(spec_text, frame)
    except Exception:  # any surprise in the data: formulaic decides
        return None
    if key is None:
        return None
    plan = _plans.get(key)
    if plan is None:
        return None
    return _apply(plan, frame)


def plan_matches(plan: _Plan, frame: pd.DataFrame, result, has_lhs: bool) -> bool:
    """Whether the plan rebuilds formulaic's ``result`` (to 1e-13 relative; the response exactly).

    Compared :data:`VERIFY_ROWS` rows at a time, so the check holds a chunk of the plan's
    matrix rather than a second full copy of the model matrix and its temporaries.
    """
    rhs = result.rhs if has_lhs else result
    lhs = result.lhs if has_lhs else None
    n = len(frame)
    if np.shape(rhs) != (n, len(plan.columns)) or (lhs is not None and np.shape(lhs) != (n, 1)):
        return False
    for start in range(0, max(n, 1), VERIFY_ROWS):
        rows = slice(start, start + VERIFY_ROWS)
        fast = _apply(plan, frame.iloc[rows])
        fast_rhs = np.asarray(fast.rhs if has_lhs else fast)
        if not np.allclose(fast_rhs, _row_chunk(rhs, rows), rtol=1e-13, atol=0.0):
            return False
        if lhs is not None and not np.array_equal(np.asarray(fast.lhs), _row_chunk(lhs, rows)):
            return False
    return True


def _row_chunk(matrix, rows: slice) -> np.ndarray:
    """Rows of a formulaic model matrix (a data frame) or of an array, as floats."""
    part = matrix.iloc[rows] if isinstance(matrix, pd.DataFrame) else matrix[rows]
    return np.asarray(part, dtype=float)


def remember(spec_text: str, frame: pd.DataFrame, result) -> None:
    """Derive, verify and store a plan from formulaic's ``result`` for this schema."""
    key = None
    try:
        key = _schema(spec_text, frame)
        if key is None or key in _plans:
            return
        has_lhs = hasattr(result, "lhs") and hasattr(result, "rhs")
        rhs = result.rhs if has_lhs else result
        plan = make_plan(rhs.model_spec, result.lhs.model_spec if has_lhs else None)
        if plan is not None and not plan_matches(plan, frame, result, has_lhs):
            plan = None
    except Exception:  # a plan is an optimisation only
        plan = None
    if key is None:
        return
    with _lock:
        if len(_plans) >= _MAX_PLANS:
            _plans.pop(next(iter(_plans)))
        _plans[key] = plan
