"""First pass of an out-of-core fit: what the whole data fixes before any row is accumulated.

A :class:`StreamPlan` holds everything that in the in-memory path is read off the full data
frame: which rows are complete, the levels of every factor and grouping factor, the state of
formulaic's stateful transforms and so the model specs that turn any chunk of rows into model
matrices that agree with those of every other chunk. Backends (DuckDB, dask) answer a few
aggregate questions through the :class:`Backend` protocol; this module turns the answers into
the plan, with the checks of :func:`mixedmodels.design.build_design` (the same functions, of
:mod:`mixedmodels.identifiability`, on the first pass's counts).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import numpy as np
import pandas as pd

from mixedmodels.column_names import lme4_column_names
from mixedmodels.design import apply_contrasts
from mixedmodels.design_spec import TermSpec
from mixedmodels.errors import DesignError, FormulaError, MissingColumnError
from mixedmodels.formula import ParsedFormula, parse_formula
from mixedmodels.identifiability import (
    check_levels,
    check_random_effects,
    check_term_columns,
    term_covariance,
)
from mixedmodels.levels import group_codes
from mixedmodels.linalg.conditioning import Conditioning
from mixedmodels.options import NobsCheck, choose
from mixedmodels.rfunctions import R_CONTEXT
from mixedmodels.sources.accumulate import sample_conditioning
from mixedmodels.terms import ReBlock, ReTerm, build_blocks, term_order
from mixedmodels.variables import needed_variables, without_functions

__all__ = ["Backend", "ColumnKind", "GroupCoding", "ScanResult", "StreamPlan", "build_plan"]

SAMPLE_ROWS = 1000  # rows used to let formulaic build its model specs
_STATEFUL = re.compile(r"^(center|scale|standardize)\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*(,.*)?\)$")


@dataclass(frozen=True)
class ColumnKind:
    """How a source column enters the model.

    ``kind`` is ``"numeric"``, ``"factor"`` (strings, booleans, categoricals, columns named in
    ``factors``) or ``"other"`` (types we cannot model). ``categories`` is the declared level
    order of a categorical column (pandas categorical, DuckDB ENUM), or None when the levels
    are the sorted distinct values. ``is_float`` says whether NaN counts as missing.
    """

    kind: str
    categories: tuple | None = None
    is_float: bool = False


@dataclass(frozen=True)
class ScanResult:
    """Answers of the first aggregate pass over the data."""

    n_total: int
    n_complete: int
    infinite: tuple[str, ...]
    min_weight: float | None
    moments: dict[str, tuple[float, float, int]]  # column -> (mean, mean of squares, count)


class Backend(Protocol):
    """Aggregate questions a data source answers for the first pass (over complete rows)."""

    def column_kinds(self) -> dict[str, ColumnKind]:
        """Kind of every column of the source."""

    def scan(
        self,
        used: Sequence[str],
        float_columns: Sequence[str],
        moment_columns: Sequence[str],
        weights: str | None,
    ) -> ScanResult:
        """Counts, infinite-value checks, the smallest weight and moments of some columns."""

    def distinct(self, used: Sequence[str], columns: Sequence[str]) -> pd.DataFrame:
        """Distinct combinations of ``columns`` among the complete rows.

        A backend may also offer ``distinct_many(used, column_sets)``, a dict from each tuple
        of columns to its distinct combinations, computed in one pass.
        """

    def head(self, used: Sequence[str], k: int) -> pd.DataFrame:
        """Up to ``k`` complete rows."""


@dataclass(frozen=True, eq=False)
class GroupCoding:
    """Codes of a grouping factor (or an interaction ``a:b``) for any chunk of rows.

    Levels are those of :func:`mixedmodels.levels.group_codes` on the whole data: each part's
    used levels in their order, combinations sorted lexicographically by part position.
    """

    columns: tuple[str, ...]
    part_levels: tuple[pd.Index, ...]
    keys: np.ndarray  # sorted mixed-radix keys of the used combinations (None-free)
    labels: tuple[str, ...]

    def codes(self, frame: pd.DataFrame) -> np.ndarray:
        """Level index of every row of ``frame`` (complete rows only)."""
        key = np.zeros(len(frame), dtype=np.int64)
        for name, levels in zip(self.columns, self.part_levels, strict=True):
            pos = pd.Categorical(frame[name], categories=levels).codes.astype(np.int64)
            if (pos < 0).any():
                raise DesignError(f"a chunk has a level of {name!r} not seen in the first pass")
            key = key * len(levels) + pos
        if len(self.columns) == 1:
            return key.astype(np.intp)
        codes = np.searchsorted(self.keys, key)
        return codes.astype(np.intp)


@dataclass(frozen=True, eq=False)
class StreamPlan:
    """Everything fixed by the first pass.

    Attributes
    ----------
    formula
        The parsed formula.
    used
        Every column the fit reads (formula variables, weights, offset).
    factors
        Categories (formulaic's level order) of every factor column.
    response_spec, fixed_spec
        formulaic specs of the response and of the fixed part (all columns, aliased included).
    fixed_names
        lme4 names of every fixed-effect column.
    term_specs
        Per formula term, how to build its columns.
    codings
        Grouping factor name -> coding.
    terms, blocks
        lme4 terms and engine blocks (blocks without rows).
    block_members
        For each block, the formula-term indices whose columns it stacks.
    weights, offset
        Column names or None.
    n, n_dropped
        Complete rows and rows dropped for missing values.
    conditioning
        The centring of the columns summed (:mod:`mixedmodels.linalg.conditioning`), chosen
        by the in-memory rule from the first pass's sample of rows.
    covariate_means
        Mean over the complete rows of every numeric variable of the fixed part.
    """

    formula: ParsedFormula
    used: tuple[str, ...]
    factors: dict[str, tuple]
    response_spec: Any  # formulaic ModelSpec
    fixed_spec: Any  # formulaic ModelSpec
    fixed_names: tuple[str, ...]
    term_specs: tuple[TermSpec, ...]
    codings: dict[str, GroupCoding]
    terms: tuple[ReTerm, ...]
    blocks: tuple[ReBlock, ...]
    block_members: tuple[tuple[int, ...], ...]
    weights: str | None
    offset: str | None
    n: int
    n_dropped: int
    conditioning: Conditioning | None = None
    covariate_means: dict[str, float] = field(default_factory=dict)

    @property
    def p_full(self) -> int:
        """Fixed-effect columns before dropping aliased ones."""
        return len(self.fixed_names)

    def prepare(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Give factor columns their full categories, so formulaic codes every chunk alike."""
        frame = frame.copy() if self.factors else frame
        for name, categories in self.factors.items():
            frame[name] = pd.Categorical(frame[name], categories=list(categories))
        return frame


def _sorted_levels(values: pd.Series, categories: tuple | None) -> pd.Index:
    """Used levels in lme4's order: declared category order, else sorted."""
    used = pd.unique(values.dropna())
    if categories is not None:
        present = set(used.tolist())
        return pd.Index([c for c in categories if c in present])
    return pd.Index(sorted(used.tolist()))


def _materialize_spec(spec_text: str, frame: pd.DataFrame, where: str, formula: str):
    import formulaic

    try:
        return formulaic.model_matrix(spec_text, frame, na_action="raise", context=R_CONTEXT)
    except Exception as exc:
        raise FormulaError(f"cannot evaluate {where} {spec_text!r}: {exc}", formula) from exc


def _stateful_columns(specs: Sequence[object], formula: str) -> set[str]:
    """Columns whose moments the stateful transforms need; raise for unsupported transforms."""
    columns = set()
    for spec in specs:
        for key in getattr(spec, "transform_state", {}) or {}:
            match = _STATEFUL.match(str(key))
            if match is None:
                raise DesignError(
                    f"an out-of-core fit cannot compute the state of the transform {key!r} "
                    "from the whole data; precompute the column, or use center(x), scale(x) or "
                    "standardize(x) of a plain column x"
                )
            columns.add(match.group(2))
    return columns


def _fix_state(spec, moments: dict[str, tuple[float, float, int]]):
    """Replace sample-based transform state by state computed from whole-data moments."""
    state = dict(getattr(spec, "transform_state", {}) or {})
    if not state:
        return spec
    for key, value in state.items():
        column = _STATEFUL.match(str(key)).group(2)  # type: ignore[union-attr]  # keys match
        mean, mean_sq, count = moments[column]
        value = dict(value)
        ddof = int(value.get("ddof", 1))
        if value.get("center") is not None:
            value["center"] = np.float64(mean)
            if value.get("scale") is not None:
                var = max(mean_sq - mean * mean, 0.0) * count / (count - ddof)
                value["scale"] = np.float64(np.sqrt(var))
        elif value.get("scale") is not None:
            value["scale"] = np.float64(np.sqrt(mean_sq * count / (count - ddof)))
        state[key] = value
    return spec.update(transform_state=state)


def build_plan(
    formula: str | ParsedFormula,
    backend: Backend,
    *,
    weights: str | None = None,
    offset: str | None = None,
    factors: Sequence[str] = (),
    contrasts: dict[str, str] | None = None,
    check_nobs_vs_nre: str = "stop",
    check_nobs_vs_nlev: str = "stop",
) -> StreamPlan:
    """Run the first pass over a data source and fix levels, transforms and specs.

    Parameters
    ----------
    formula
        lme4 formula.
    backend
        The data source's answers to aggregate questions.
    weights, offset
        Column names (an out-of-core fit cannot take per-row arrays).
    factors
        Numeric columns to treat as factors (R's ``factor()``), e.g. integer codes.
    contrasts
        Coding of factors in the fixed part, as for :func:`mixedmodels.lmer`.
    check_nobs_vs_nre
        What a block with as many random effects as observations does (lme4's
        ``check.nobs.vs.nRE``): ``"stop"``, ``"warning"`` or ``"ignore"``, as for
        :func:`mixedmodels.design.build_design` (the same check).
    check_nobs_vs_nlev
        The same for a grouping factor with as many levels as observations.

    Returns
    -------
    StreamPlan
    """
    check_nobs_vs_nre = choose("check_nobs_vs_nre", check_nobs_vs_nre, NobsCheck)
    check_nobs_vs_nlev = choose("check_nobs_vs_nlev", check_nobs_vs_nlev, NobsCheck)
    parsed = parse_formula(formula) if isinstance(formula, str) else formula
    text = parsed.formula
    if contrasts:
        parsed = replace(parsed, fixed=apply_contrasts(parsed.fixed, contrasts, text))
    for value, what in ((weights, "weights"), (offset, "offset")):
        if value is not None and not isinstance(value, str):
            raise DesignError(
                f"{what} of an out-of-core fit must be a column name, got {type(value).__name__}"
            )
    if parsed.offsets:
        raise DesignError(
            "offset(...) terms in the formula are not available out of core: compute the "
            "offset as a column and pass offset='column'"
        )
    needed = without_functions(needed_variables(parsed), backend.column_kinds())
    for value, what in ((weights, "weights"), (offset, "offset")):
        if value is not None:
            needed.setdefault(value, what)
    kinds = backend.column_kinds()
    missing = [name for name in needed if name not in kinds]
    if missing:
        details = ", ".join(f"{name!r} (in {needed[name]})" for name in missing)
        raise MissingColumnError(f"column(s) not found in the data: {details}")
    kinds = {name: kinds[name] for name in needed}
    for name in factors:
        if name in kinds and kinds[name].kind == "numeric":
            kinds[name] = ColumnKind("factor", None, kinds[name].is_float)
    for name, kind in kinds.items():
        if kind.kind == "other":
            raise DesignError(f"column {name!r} ({needed[name]}) has a type the model cannot use")
    if kinds.get(parsed.response, ColumnKind("numeric")).kind != "numeric":
        raise DesignError(f"the response {parsed.response!r} must be numeric")
    for value, what in ((weights, "weights"), (offset, "offset")):
        if value is not None and kinds[value].kind != "numeric":
            raise DesignError(f"{what} column {value!r} must be numeric")
    used = tuple(needed)
    floats = [n for n, k in kinds.items() if k.is_float]
    numeric = [n for n, k in kinds.items() if k.kind == "numeric"]
    factor_names = [n for n, k in kinds.items() if k.kind == "factor"]

    # levels of every factor (formulaic order) and of every grouping factor, in one go
    column_sets = [(name,) for name in factor_names] + [tuple(t.group) for t in parsed.random]
    distinct = _distinct_all(backend, used, list(dict.fromkeys(column_sets)))
    factor_levels = {
        name: _sorted_levels(distinct[(name,)][name], kinds[name].categories)
        for name in factor_names
    }
    sample = backend.head(used, SAMPLE_ROWS)
    if len(sample) == 0:
        raise DesignError("no complete rows: every row has a missing value in a used column")
    categories = {
        name: tuple(kinds[name].categories)  # type: ignore[arg-type]  # not None: tested
        if kinds[name].categories is not None
        else tuple(factor_levels[name])
        for name in factor_names
    }
    prototype = sample.copy()
    for name, cats in categories.items():
        prototype[name] = pd.Categorical(prototype[name], categories=list(cats))

    both = _materialize_spec(f"{parsed.response} ~ {parsed.fixed}", prototype, "the formula", text)
    response_spec, fixed_spec = both.lhs.model_spec, both.rhs.model_spec
    lhs_specs = [_materialize_spec(t.lhs, prototype, f"term {t.text}", text) for t in parsed.random]
    moment_columns = _stateful_columns(
        [response_spec, fixed_spec] + [m.model_spec for m in lhs_specs], text
    )
    bad = sorted(c for c in moment_columns if c not in numeric)
    if bad:
        raise DesignError(f"stateful transforms need numeric columns, not {', '.join(bad)}")

    # numeric variables of the fixed part: their means are emmeans' reference values
    covariates = sorted(str(v) for v in fixed_spec.required_variables if str(v) in numeric)
    scan = backend.scan(used, floats, sorted(moment_columns | set(covariates)), weights)
    if scan.infinite:
        name = scan.infinite[0]
        raise DesignError(f"column {name!r} ({needed[name]}) has infinite values")
    if scan.n_complete == 0:
        raise DesignError("no complete rows: every row has a missing value in a used column")
    if weights is not None and scan.min_weight is not None and scan.min_weight <= 0:
        raise DesignError(
            f"weights column {weights!r} has values <= 0: an out-of-core fit needs positive "
            "weights (leave the rows with weight 0 out of the source; negative weights are "
            "never valid)"
        )
    n = scan.n_complete
    response_spec = _fix_state(response_spec, scan.moments)
    fixed_spec = _fix_state(fixed_spec, scan.moments)

    fixed_names = lme4_column_names(list(both.rhs.columns), parsed.labels)
    codings: dict[str, GroupCoding] = {}
    term_specs, raw_terms = [], []
    for term, mm in zip(parsed.random, lhs_specs, strict=True):
        columns = lme4_column_names(list(mm.columns), parsed.labels)
        check_term_columns(term, columns, text)
        coding = codings.get(term.group_name)
        if coding is None:
            coding = _group_coding(distinct[tuple(term.group)], term.group, kinds)
            codings[term.group_name] = coding
        check_levels(term, len(coding.labels), n, action=check_nobs_vs_nlev)
        spec = _fix_state(mm.model_spec, scan.moments)
        term_specs.append(TermSpec(term=term, model_spec=spec, columns=columns))
        covariance = term_covariance(term, columns, text)
        rows = (np.zeros(0, np.intp), np.zeros((0, len(columns))))  # blocks without rows
        raw_terms.append((term.group_name, coding.labels, *rows, columns, covariance))
    terms, blocks = build_blocks(raw_terms)
    # the formula terms each block stacks: build_blocks's terms come in lme4's term order
    order = term_order([len(raw[1]) for raw in raw_terms])
    formula_index = {id(t): order[k] for k, t in enumerate(terms)}
    members = [tuple(formula_index[id(t)] for t in block.terms) for block in blocks]
    check_random_effects(blocks, n, check_nobs_vs_nre)
    plan = StreamPlan(
        formula=parsed,
        used=used,
        factors=categories,
        response_spec=response_spec,
        fixed_spec=fixed_spec,
        fixed_names=fixed_names,
        term_specs=tuple(term_specs),
        codings=codings,
        terms=terms,
        blocks=tuple(blocks),
        block_members=tuple(members),
        weights=weights,
        offset=offset,
        n=n,
        n_dropped=scan.n_total - n,
        covariate_means={name: scan.moments[name][0] for name in covariates},
    )
    return replace(plan, conditioning=sample_conditioning(plan, sample))


def _distinct_all(backend: Backend, used: Sequence[str], column_sets: list[tuple[str, ...]]):
    """Distinct combinations of every column set, in one pass when the backend can."""
    many = getattr(backend, "distinct_many", None)
    if many is not None:
        return many(used, column_sets)
    return {cols: backend.distinct(used, list(cols)) for cols in column_sets}


def _group_coding(
    combos: pd.DataFrame, group: tuple[str, ...], kinds: dict[str, ColumnKind]
) -> GroupCoding:
    """Coding of a grouping factor from its distinct combinations among complete rows."""
    part_levels = tuple(_sorted_levels(combos[g], kinds[g].categories) for g in group)
    ordered = combos.copy()
    for g, levels in zip(group, part_levels, strict=True):
        ordered[g] = pd.Categorical(ordered[g], categories=levels)
    codes, labels = group_codes(ordered, group)
    key = np.zeros(len(combos), dtype=np.int64)
    radix = 1.0
    for g, levels in zip(group, part_levels, strict=True):
        radix *= len(levels)
        key = key * len(levels) + pd.Categorical(ordered[g], categories=levels).codes
    if radix >= 2.0**62:
        raise DesignError(f"too many level combinations in grouping factor {':'.join(group)!r}")
    keys = np.empty(len(labels), dtype=np.int64)
    keys[codes] = key
    return GroupCoding(
        columns=tuple(group), part_levels=part_levels, keys=keys, labels=tuple(labels)
    )
