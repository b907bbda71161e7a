"""statsmodels' MixedLM inputs (arrays or formulas) in one layout, and its lme4 formula.

statsmodels describes a model by ``endog``, ``exog``, ``groups``, ``exog_re`` (random
coefficients with an unstructured covariance per group) and ``exog_vc`` (variance components:
per group, a matrix whose columns get independent random coefficients with a common variance).
:class:`Layout` keeps those arrays row by row; :func:`engine_formula` writes the equivalent lme4
model for our engine: the ``exog_re`` columns become ``(0 + z0 + z1 | g)`` (or one term per
block of a block-diagonal ``free`` pattern) and every variance component becomes a term
``(0 + v | f)`` on a factor ``f`` whose levels are (group, column) pairs, nested in the group,
or, when its rows load on several columns, ``homdiag(0 + w1 + w2 | g)`` (one variance shared by
the columns, independent coefficients).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mixedmodels.errors import DesignError, FormulaError, MixedModelsError

__all__ = [
    "Layout",
    "VarianceComponent",
    "UnsupportedFeatureError",
    "layout_from_arrays",
    "layout_from_formula",
    "engine_formula",
]


class UnsupportedFeatureError(MixedModelsError, NotImplementedError):
    """A statsmodels feature that the facade does not map onto the engine."""


@dataclass(frozen=True, eq=False)
class VarianceComponent:
    """One variance component, row by row.

    A component whose rows each load on at most one column (``0 + C(x)``, ``0 + x``) is held
    as levels: every (group, column) pair is one random coefficient. A component whose rows
    load on several columns (``0 + x1 + x2``) keeps its matrix per group (``mats``), as
    statsmodels does: every column of a group is one coefficient, all with the same variance.

    Attributes
    ----------
    name
        The component's name (``vc_formula`` key).
    level
        ``(n,)`` index of the random coefficient (a (group, column) pair) each row loads on.
    value
        ``(n,)`` the row's entry in that column (0 when the row loads on no column).
    level_group
        Group index of every level.
    level_column
        Column name of every level.
    mats
        For a component loading on several columns per row: per group, the matrix of the
        group's rows (else None).
    mat_names
        Column names of every group's matrix (with ``mats``).
    """

    name: str
    level: np.ndarray
    value: np.ndarray
    level_group: np.ndarray
    level_column: tuple[str, ...]
    mats: tuple[np.ndarray, ...] | None = None
    mat_names: tuple[tuple[str, ...], ...] | None = None

    @property
    def single(self) -> bool:
        """Whether every row loads on at most one column."""
        return self.mats is None

    def group_matrix(self, i: int, rows: np.ndarray) -> tuple[np.ndarray, list[str]]:
        """Group ``i``'s design (its ``rows``, in order) and the column names."""
        if self.mats is not None:
            assert self.mat_names is not None
            return self.mats[i], list(self.mat_names[i])
        levels = np.unique(self.level[rows][self.value[rows] != 0])
        z = (self.level[rows][:, None] == levels[None, :]) * self.value[rows][:, None]
        return z, [self.level_column[lv] for lv in levels]


def _multi_component(name: str, groups: np.ndarray, mats, names) -> VarianceComponent:
    """A component with matrices per group (rows loading on several columns)."""
    n = groups.size
    empty = np.zeros(0, dtype=np.intp)
    return VarianceComponent(
        name,
        np.zeros(n, dtype=np.intp),
        np.zeros(n),
        empty,
        (),
        tuple(np.asarray(m, dtype=float) for m in mats),
        tuple(tuple(str(c) for c in nm) for nm in names),
    )


@dataclass(frozen=True, eq=False)
class Layout:
    """A statsmodels MixedLM specification, complete rows only, in data order."""

    endog: np.ndarray
    exog: np.ndarray
    groups: np.ndarray  # integer codes into group_labels
    group_labels: tuple
    exog_re: np.ndarray  # (n, k_re), possibly (n, 0)
    vcs: tuple[VarianceComponent, ...]
    endog_name: str
    exog_names: tuple[str, ...]
    exog_re_names: tuple[str, ...]
    row_index: pd.Index
    pandas: bool
    fixed_spec: object | None = None  # formulaic ModelSpec of the fixed part (formula models)
    default_re: bool = False  # the array interface's implied random intercept (no exog_re/vc)

    @property
    def nobs(self) -> int:
        """Number of rows."""
        return self.endog.size

    @property
    def k_re(self) -> int:
        """Number of correlated random coefficients."""
        return self.exog_re.shape[1]


def _default_exog_names(exog: np.ndarray) -> list[str]:
    """statsmodels' names for an unnamed exog: ``const`` for a constant column, ``x1``..."""
    constant = [j for j in range(exog.shape[1]) if np.ptp(exog[:, j]) == 0 and exog[0, j] != 0]
    names = [f"x{i}" for i in range(1, exog.shape[1] + (0 if constant else 1))]
    if constant:
        names.insert(constant[0], "const")
    return names


def _matrix_and_names(value, default: Sequence[str] | None, what: str):
    if isinstance(value, pd.DataFrame):
        return value.to_numpy(dtype=float), [str(c) for c in value.columns]
    if isinstance(value, pd.Series):
        names = [str(value.name)] if value.name is not None else None
        return value.to_numpy(dtype=float)[:, None], names
    try:
        matrix = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as exc:
        raise DesignError(f"{what} must be numeric") from exc
    if matrix.ndim == 1:
        matrix = matrix[:, None]
    if matrix.ndim != 2:
        raise DesignError(f"{what} must be one- or two-dimensional, got shape {matrix.shape}")
    return matrix, (list(default) if default is not None else None)


def _group_codes(groups) -> tuple[np.ndarray, tuple]:
    values = pd.Series(np.asarray(groups))
    if values.isna().any():
        raise DesignError("groups has missing values")
    codes, uniques = pd.factorize(values, sort=True)
    return codes.astype(np.intp), tuple(pd.Index(uniques).tolist())


def _component(name, groups, column, value, colnames_by_group) -> VarianceComponent:
    """Levels = distinct (group, column) pairs, ordered by group then column."""
    width = max(1, max(len(c) for c in colnames_by_group))
    key = groups.astype(np.int64) * width + column
    used, level = np.unique(key, return_inverse=True)
    level_group = (used // width).astype(np.intp)
    level_col = (used % width).astype(np.intp)
    names = tuple(str(colnames_by_group[g][c]) for g, c in zip(level_group, level_col, strict=True))
    return VarianceComponent(name, level.astype(np.intp), value, level_group, names)


def _loadings(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Per row: the one column it loads on (0 if none) and the loading (0 if none).

    None when some row loads on several columns.
    """
    nonzero = matrix != 0
    count = nonzero.sum(axis=1)
    if (count > 1).any():
        return None
    column = np.where(count == 1, nonzero.argmax(axis=1), 0) if matrix.shape[1] else count * 0
    value = np.where(count == 1, matrix[np.arange(matrix.shape[0]), column], 0.0)
    return column.astype(np.intp), value.astype(float)


def _vc_from_group_matrices(exog_vc, group_labels, groups, n) -> list[VarianceComponent]:
    """statsmodels' VCSpec (``mats[j][group]``) or the deprecated dict of dicts."""
    from mixedmodels.compat._sm_params import VCSpec

    if isinstance(exog_vc, Mapping):
        names = sorted(exog_vc)
        mats = [[np.asarray(exog_vc[nm][g], dtype=float) for g in group_labels] for nm in names]
        colnames = [
            [
                list(getattr(exog_vc[nm][g], "columns", range(np.shape(exog_vc[nm][g])[1])))
                for g in group_labels
            ]
            for nm in names
        ]
    elif isinstance(exog_vc, VCSpec):
        names, mats, colnames = exog_vc.names, exog_vc.mats, exog_vc.colnames
    else:
        raise DesignError("exog_vc must be a VCSpec or a dict of dicts of matrices")
    rows = [np.flatnonzero(groups == i) for i in range(len(group_labels))]
    out = []
    for j, name in enumerate(names):
        column = np.zeros(n, dtype=np.intp)
        value = np.zeros(n)
        dense, single = [], True
        for i, idx in enumerate(rows):
            mat = mats[j][i]
            mat = np.asarray(mat.toarray() if hasattr(mat, "toarray") else mat, dtype=float)
            if mat.ndim == 1:
                mat = mat[:, None]
            if mat.shape[0] != idx.size:
                raise DesignError(
                    f"variance component {name!r}: group {group_labels[i]!r} has {idx.size} "
                    f"rows but its matrix has {mat.shape[0]}"
                )
            dense.append(mat)
            loads = _loadings(mat) if single else None
            if loads is None:
                single = False
            else:
                column[idx], value[idx] = loads
        names_by_group = [[str(c) for c in colnames[j][i]] or ["0"] for i in range(len(rows))]
        if single:
            out.append(_component(str(name), groups, column, value, names_by_group))
        else:
            by_group = [[str(c) for c in colnames[j][i]] for i in range(len(rows))]
            out.append(_multi_component(str(name), groups, dense, by_group))
    return out


def layout_from_arrays(
    endog, exog, groups, exog_re=None, exog_vc=None, missing: str = "none"
) -> Layout:
    """Layout of ``MixedLM(endog, exog, groups, exog_re, exog_vc, missing)``."""
    pandas = isinstance(exog, pd.DataFrame | pd.Series)
    y = np.asarray(endog, dtype=float).ravel()
    endog_name = str(endog.name) if isinstance(endog, pd.Series) and endog.name else "y"
    if isinstance(endog, pd.Series | pd.DataFrame):
        row_index = endog.index
    elif isinstance(exog, pd.Series | pd.DataFrame):
        row_index = exog.index
    else:
        row_index = pd.RangeIndex(y.size)
    X, x_names = _matrix_and_names(exog, None, "exog")
    if x_names is None:
        x_names = _default_exog_names(X)
    g = np.asarray(groups)
    if exog_re is None:
        Z, z_names = (
            (np.ones((y.size, 1)), ["Group"]) if exog_vc is None else (np.zeros((y.size, 0)), [])
        )
    else:
        Z, z_names = _matrix_and_names(exog_re, None, "exog_re")
        if z_names is None:
            z_names = [f"x_re{k + 1}" for k in range(Z.shape[1])]
    for arr, what in ((X, "exog"), (Z, "exog_re"), (g, "groups")):
        if arr.shape[0] != y.size:
            raise DesignError(f"{what} has {arr.shape[0]} rows, endog has {y.size}")
    complete = np.isfinite(y) & np.isfinite(X).all(axis=1) & np.isfinite(Z).all(axis=1)
    complete &= pd.notna(pd.Series(g)).to_numpy()
    if not complete.all():
        if missing != "drop":
            raise DesignError(
                f"{int((~complete).sum())} row(s) have missing values; "
                "pass missing='drop' to drop them"
            )
        if exog_vc is not None:
            raise DesignError("missing='drop' cannot subset exog_vc; drop the rows beforehand")
        y, X, Z, g = y[complete], X[complete], Z[complete], g[complete]
        row_index = row_index[complete]
    codes, labels = _group_codes(g)
    vcs = [] if exog_vc is None else _vc_from_group_matrices(exog_vc, labels, codes, y.size)
    return Layout(
        endog=y,
        exog=X,
        groups=codes,
        group_labels=labels,
        exog_re=Z,
        vcs=tuple(vcs),
        endog_name=endog_name,
        exog_names=tuple(x_names),
        exog_re_names=tuple(z_names),
        row_index=row_index,
        pandas=pandas,
        default_re=exog_re is None and exog_vc is None,
    )


def _model_matrix(text: str, frame: pd.DataFrame, where: str):
    import formulaic

    try:
        return formulaic.model_matrix(text, frame, na_action="raise")
    except Exception as exc:
        raise FormulaError(f"cannot evaluate {where} {text!r}: {exc}") from exc


def _patsy_ordered(formula: str, frame: pd.DataFrame):
    """The formula with its terms in patsy's order (statsmodels' ``legacy`` ordering).

    The intercept, then the terms of categorical factors only (by degree), then the other
    terms grouped by their numeric factors (groups in formula order, by degree within).
    """
    import formulaic
    from formulaic.parser import DefaultFormulaParser

    flags = DefaultFormulaParser.FeatureFlags.TWOSIDED
    parsed = formulaic.Formula(
        formula, _parser=DefaultFormulaParser(feature_flags=flags), _ordering="none"
    )
    categorical = set(formulaic.model_matrix(formula, frame).rhs.model_spec.factor_contrasts)
    terms = list(parsed.rhs)
    intercept = [t for t in terms if t.degree == 0]
    cats = sorted(
        (t for t in terms if t.degree and all(f in categorical for f in t.factors)),
        key=lambda t: t.degree,
    )
    by_numeric: dict[tuple[str, ...], list] = {}
    for t in terms:
        if t.degree and t not in cats:
            key = tuple(sorted(str(f) for f in t.factors if f not in categorical))
            by_numeric.setdefault(key, []).append(t)
    numeric = [t for group in by_numeric.values() for t in sorted(group, key=lambda t: t.degree)]
    return formulaic.Formula(
        lhs=formulaic.Formula(parsed.lhs, _ordering="none"),
        rhs=formulaic.Formula(intercept + cats + numeric, _ordering="none"),
        _ordering="none",
    )


def _fixed_matrices(formula: str, frame: pd.DataFrame):
    """Response and fixed design of ``formula``, columns in statsmodels' (patsy's) order."""
    import formulaic

    try:
        return formulaic.model_matrix(_patsy_ordered(formula, frame), frame, na_action="raise")
    except Exception as exc:
        raise FormulaError(f"cannot evaluate the formula {formula!r}: {exc}") from exc


def _variables(text: str, where: str) -> set[str]:
    import formulaic

    try:
        return {str(v) for v in formulaic.Formula(text).required_variables}
    except Exception as exc:
        raise FormulaError(f"cannot parse {where} {text!r}: {exc}") from exc


def _one_sided(text: str) -> str:
    text = text.strip()
    return text[1:].strip() if text.startswith("~") else text


def layout_from_formula(
    formula: str,
    data,
    groups,
    re_formula: str | None = None,
    vc_formula: Mapping[str, str] | None = None,
    subset=None,
    missing: str = "none",
) -> Layout:
    """Layout of ``MixedLM.from_formula``: patsy-style formulas evaluated by formulaic."""
    frame = data if isinstance(data, pd.DataFrame) else pd.DataFrame(data)
    group_name = "Group"
    if isinstance(groups, str):
        if groups not in frame.columns:
            raise DesignError(f"groups column {groups!r} is not in the data")
        group_name, group_values = groups, frame[groups]
    else:
        group_values = pd.Series(np.asarray(groups), index=frame.index)
        if len(group_values) != len(frame):
            raise DesignError(f"groups has {len(group_values)} values, data has {len(frame)} rows")
    if subset is not None:
        frame = frame.loc[subset]
        group_values = group_values.loc[frame.index]
    if "~" not in formula:
        raise FormulaError(f"the formula {formula!r} has no response ('y ~ x')")
    re_text = None if re_formula is None else _one_sided(re_formula)
    vc_texts = {str(k): _one_sided(v) for k, v in sorted((vc_formula or {}).items())}
    needed = _variables(formula, "the formula")
    if re_text is not None:
        needed |= _variables(re_text, "re_formula")
    for key, text in vc_texts.items():
        needed |= _variables(text, f"vc_formula[{key!r}]")
    absent = sorted(v for v in needed if v not in frame.columns)
    if absent:
        from mixedmodels.errors import MissingColumnError

        raise MissingColumnError(f"column(s) not found in the data: {', '.join(absent)}")
    complete = frame[sorted(needed)].notna().all(axis=1) & group_values.notna()
    if not complete.all() and missing == "raise":
        raise DesignError(f"{int((~complete).sum())} row(s) have missing values")
    frame, group_values = frame.loc[complete.to_numpy()], group_values.loc[complete.to_numpy()]
    both = _fixed_matrices(formula, frame)
    y = np.asarray(both.lhs, dtype=float)
    if y.ndim == 2 and y.shape[1] != 1:
        raise DesignError("the response must be one numeric column")
    X = np.asarray(both.rhs, dtype=float)  # in statsmodels' (patsy's) order: _fixed_matrices
    codes, labels = _group_codes(group_values)
    n = X.shape[0]
    if re_text is None:
        Z, z_names = (np.ones((n, 1)), [group_name]) if not vc_texts else (np.zeros((n, 0)), [])
    elif re_text == "1":
        Z, z_names = np.ones((n, 1)), [group_name]
    else:
        mm = _model_matrix(re_text, frame, "re_formula")
        Z = np.asarray(mm, dtype=float)
        z_names = [str(c).replace("Intercept", group_name) for c in mm.columns]
    vcs = []
    for key, text in vc_texts.items():
        mm = _model_matrix(text, frame, f"vc_formula[{key!r}]")
        matrix = np.asarray(mm, dtype=float)
        loads = _loadings(matrix)
        names = [str(c) for c in mm.columns] or ["0"]
        if loads is not None:
            vcs.append(_component(key, codes, loads[0], loads[1], [names] * len(labels)))
            continue
        # as statsmodels evaluates the formula group by group: a group's columns are those
        # not identically zero in it (the levels of a factor that occur in the group)
        mats, by_group = [], []
        for i in range(len(labels)):
            block = matrix[codes == i]
            keep = np.flatnonzero((block != 0).any(axis=0))
            mats.append(block[:, keep])
            by_group.append([names[c] for c in keep])
        vcs.append(_multi_component(key, codes, mats, by_group))
    return Layout(
        endog=y.ravel(),
        exog=X,
        groups=codes,
        group_labels=labels,
        exog_re=Z,
        vcs=tuple(vcs),
        endog_name=str(both.lhs.columns[0]),
        exog_names=tuple(str(c) for c in both.rhs.columns),
        exog_re_names=tuple(z_names),
        row_index=frame.index,
        pandas=True,
        fixed_spec=both.rhs.model_spec,
    )


def engine_formula(layout: Layout, components: Sequence[Sequence[int]]) -> tuple[str, pd.DataFrame]:
    """The lme4 formula and data frame of the layout for our engine.

    ``components`` partitions the ``exog_re`` columns into correlated blocks (one term each).
    Columns are named ``y``, ``x<j>`` (exog), ``z<k>`` (exog_re), ``g`` (group codes), ``v<j>``
    and ``f<j>`` (variance component loadings and levels).
    """
    columns: dict[str, np.ndarray] = {"y": layout.endog}
    fixed = []
    for j in range(layout.exog.shape[1]):
        columns[f"x{j}"] = layout.exog[:, j]
        fixed.append(f"x{j}")
    random = []
    for block in components:
        for k in block:
            columns[f"z{k}"] = layout.exog_re[:, k]
        random.append(f"(0 + {' + '.join(f'z{k}' for k in sorted(block))} | g)")
    columns["g"] = layout.groups
    for j, vc in enumerate(layout.vcs):
        if vc.mats is None:
            columns[f"v{j}"] = vc.value
            columns[f"f{j}"] = vc.level
            random.append(f"(0 + v{j} | f{j})")
            continue
        # several columns per group, one variance: homdiag(0 + w.. | h) on a copy of g
        width = max(m.shape[1] for m in vc.mats)
        loads = np.zeros((layout.nobs, width))
        for i, mat in enumerate(vc.mats):
            loads[layout.groups == i, : mat.shape[1]] = mat
        names = [f"w{j}_{c}" for c in range(width)]
        for c, name in enumerate(names):
            columns[name] = loads[:, c]
        columns[f"h{j}"] = layout.groups
        random.append(f"homdiag(0 + {' + '.join(names)} | h{j})")
    if not random:
        raise DesignError("the model has no random effects")
    rhs = " + ".join(["0", *fixed, *random])
    return f"y ~ {rhs}", pd.DataFrame(columns)
