"""Missing values in statsmodels' MixedLM inputs: ``missing="none"``, ``"drop"`` or ``"raise"``.

statsmodels 0.15 behaves as follows, and the facade the same way but where statsmodels breaks:

* ``MixedLM.from_formula(..., missing="drop")`` drops every row with a missing value in a
  variable of ``formula``, ``re_formula`` or ``vc_formula``, or in ``groups``; so does the
  facade. With ``"none"`` (the default) or ``"raise"``, a missing value in any of them is an
  error (statsmodels raises patsy's error for the formula's variables, its
  ``MissingDataError`` for ``groups`` and a shape mismatch for ``re_formula`` and
  ``vc_formula`` variables); the facade raises :class:`MissingValuesError`, naming the
  columns and the first rows, which is statsmodels' ``MissingDataError`` when statsmodels is
  installed and, for a variable of ``formula``, patsy's ``PatsyError`` too when patsy is
  (:func:`formula_data_error`): ``except`` clauses written for statsmodels catch it.
* ``MixedLM(endog, exog, groups, exog_re, exog_vc, missing=...)``: ``"raise"`` raises
  ``MissingDataError`` ("NaNs were encountered in the data") as statsmodels does.
  ``"drop"`` drops the incomplete rows (of ``endog``, ``exog``, ``groups``, ``exog_re`` and
  the ``exog_vc`` matrices, whose rows are subset group by group), which statsmodels 0.15
  documents but fails on with an ``IndexError``. ``"none"`` (no check) lets statsmodels fit a
  missing response or ``exog_re`` value into NaN estimates; the facade raises
  ``MissingDataError`` instead, as statsmodels itself does for a missing ``exog`` value.
* An infinite value is not missing: statsmodels neither drops it nor fits it (``exog
  contains inf or nans``); the facade raises ``MissingDataError`` for any array.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any, Literal

import numpy as np
import pandas as pd

from mixedmodels.errors import DesignError
from mixedmodels.options import choose

__all__ = [
    "MissingPolicy",
    "MissingValuesError",
    "formula_data_error",
    "missing_policy",
    "prepare_arrays",
    "prepare_formula_data",
]

MissingPolicy = Literal["none", "drop", "raise"]
"""statsmodels' ``missing`` argument: no check, drop incomplete rows, or raise."""


class MissingValuesError(DesignError):
    """Missing values where the ``missing`` policy does not drop them.

    Also statsmodels' ``MissingDataError`` when statsmodels is installed (see
    :func:`missing_data_error`).
    """


@cache
def missing_data_error() -> type[MissingValuesError]:
    """The class raised: a subclass of statsmodels' ``MissingDataError`` when importable.

    Created at the first error, so that importing the facade does not import statsmodels.
    """
    try:
        from statsmodels.tools.sm_exceptions import MissingDataError
    except ImportError:
        return MissingValuesError
    doc = "Missing values (a MissingValuesError and statsmodels' MissingDataError)."
    return type(
        "MissingDataError",
        (MissingValuesError, MissingDataError),
        {"__module__": __name__, "__doc__": doc},
    )


@cache
def formula_data_error() -> type[MissingValuesError]:
    """The class raised for a missing value in a variable of the fixed-effects formula.

    statsmodels raises patsy's ``PatsyError`` there, so this is :func:`missing_data_error`'s
    class and, when patsy is importable, a ``PatsyError`` (its ``message`` and ``origin`` set,
    its text the message).
    """
    base = missing_data_error()
    try:
        from patsy import PatsyError  # type: ignore[import-untyped, import-not-found]
    except ImportError:
        return base

    def __init__(self, message: str, origin: Any = None) -> None:  # noqa: N807
        Exception.__init__(self, message)
        self.message, self.origin = message, None

    namespace = {
        "__module__": __name__,
        "__doc__": "A missing value in a formula variable (also patsy's PatsyError).",
        "__init__": __init__,
        "__str__": lambda self: str(self.args[0]),
    }
    return type("MissingDataError", (base, PatsyError), namespace)


def _error(message: str, formula: bool = False) -> MissingValuesError:
    return (formula_data_error() if formula else missing_data_error())(message)


SHOWN_ROWS = 5
"""How many row labels an error names."""


def _rows(mask: np.ndarray, labels: pd.Index) -> str:
    """`` [rows 'a', 'b', ...]``: the labels of the first rows flagged by ``mask``."""
    where = labels[np.flatnonzero(mask)]
    shown = ", ".join(repr(v) for v in where[:SHOWN_ROWS].tolist())
    more = f", ... ({len(where)} rows)" if len(where) > SHOWN_ROWS else ""
    return f" [row{'s' if len(where) > 1 else ''} {shown}{more}]"


def _row_labels(n: int, *values) -> pd.Index:
    """The row labels of the first pandas input of ``n`` rows, else positions."""
    for value in values:
        if isinstance(value, pd.DataFrame | pd.Series) and len(value) == n:
            return value.index
    return pd.RangeIndex(n)


def missing_policy(missing: object) -> str:
    """The checked ``missing`` argument (``"none"``, ``"drop"`` or ``"raise"``)."""
    return choose("missing", missing, MissingPolicy)


# -- the array interface ----------------------------------------------------------------------
def _dense(value) -> np.ndarray:
    if isinstance(value, pd.DataFrame | pd.Series):
        return value.to_numpy()
    if hasattr(value, "toarray"):  # a scipy sparse matrix
        return np.asarray(value.toarray())
    return np.asarray(value)


def _row_flags(value) -> tuple[np.ndarray, np.ndarray] | None:
    """Rows with a missing value and rows with an infinite value (None if not an array)."""
    array = _dense(value)
    if array.ndim == 0 or array.ndim > 2:
        return None
    table = array.reshape(len(array), -1)
    if table.dtype.kind in "fc":
        nan, inf = np.isnan(table), np.isinf(table)
    elif table.dtype.kind in "biu":
        nan = inf = np.zeros(table.shape, dtype=bool)
    else:
        nan = pd.isna(pd.DataFrame(table)).to_numpy()
        inf = np.zeros(table.shape, dtype=bool)
    return np.asarray(nan.any(axis=1)), np.asarray(inf.any(axis=1))


def _take(value, keep: np.ndarray):
    if value is None:
        return None
    if isinstance(value, pd.DataFrame | pd.Series):
        return value.iloc[keep]
    if hasattr(value, "toarray"):
        return value[np.flatnonzero(keep)]
    return np.asarray(value)[keep]


def _group_rows(groups: np.ndarray, nan_group: np.ndarray) -> tuple[list, list[np.ndarray]]:
    """Sorted group labels (missing ones left out) and the positions of each group's rows."""
    codes, labels = pd.factorize(pd.Series(groups[~nan_group]), sort=True)
    positions = np.flatnonzero(~nan_group)
    return list(labels), [positions[codes == i] for i in range(len(labels))]


def _vc_matrices(exog_vc, labels: list) -> list[tuple[str, list]] | None:
    """``(name, matrix of every group)`` of each component, or None if unreadable here."""
    from mixedmodels.compat._sm_params import VCSpec

    if isinstance(exog_vc, VCSpec):
        return [(str(n), list(m)) for n, m in zip(exog_vc.names, exog_vc.mats, strict=False)]
    if isinstance(exog_vc, Mapping):
        try:
            return [(str(n), [exog_vc[n][g] for g in labels]) for n in sorted(exog_vc)]
        except (KeyError, TypeError):
            return None
    return None


def _vc_flags(exog_vc, labels, rows, n: int) -> tuple[np.ndarray, np.ndarray] | None:
    nan, inf = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    components = _vc_matrices(exog_vc, labels)
    if components is None:
        return None
    for _, mats in components:
        if len(mats) != len(rows):
            return None
        for mat, idx in zip(mats, rows, strict=True):
            flags = _row_flags(mat)
            if flags is None or flags[0].size != idx.size:
                return None  # the layout names the mismatch
            nan[idx] |= flags[0]
            inf[idx] |= flags[1]
    return nan, inf


def _subset_vc(exog_vc, labels: list, rows: list[np.ndarray], keep: np.ndarray):
    """``exog_vc`` with the dropped rows taken out of every group's matrix."""
    from mixedmodels.compat._sm_params import VCSpec

    inside = [keep[idx] for idx in rows]
    alive = [i for i, k in enumerate(inside) if k.any()]
    if isinstance(exog_vc, VCSpec):
        mats = [[_take(m[i], inside[i]) for i in alive] for m in exog_vc.mats]
        colnames = [[c[i] for i in alive] for c in exog_vc.colnames]
        return VCSpec(exog_vc.names, colnames, mats)
    return {
        name: {labels[i]: _take(exog_vc[name][labels[i]], inside[i]) for i in alive}
        for name in exog_vc
    }


def _describe(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{name} ({k} row{'s' if k > 1 else ''})" for name, k in counts.items())


def prepare_arrays(endog, exog, groups, exog_re, exog_vc, missing: str):
    """``(endog, exog, groups, exog_re, exog_vc)`` under the ``missing`` policy.

    Rows with a missing value are dropped (``"drop"``) or refused (``"none"``, ``"raise"``);
    inputs of unequal lengths are returned as given, for the layout to name.

    Raises
    ------
    MissingValuesError
        For a missing value not dropped, or an infinite value anywhere.
    """
    policy = missing_policy(missing)
    inputs = {"endog": endog, "exog": exog, "groups": groups}
    if exog_re is not None:
        inputs["exog_re"] = exog_re
    read = {name: _row_flags(value) for name, value in inputs.items()}
    n = len(np.ravel(_dense(endog)))
    flags = {name: f for name, f in read.items() if f is not None and f[0].size == n}
    if len(flags) < len(read):
        return endog, exog, groups, exog_re, exog_vc
    group_values = _dense(groups).ravel()
    labels, rows = _group_rows(group_values, flags["groups"][0])
    if exog_vc is not None:
        vc = _vc_flags(exog_vc, labels, rows, n)
        if vc is None:
            return endog, exog, groups, exog_re, exog_vc
        flags["exog_vc"] = vc
    infinite = {k: int(f[1].sum()) for k, f in flags.items() if f[1].any()}
    row_labels = _row_labels(n, endog, exog, exog_re, groups)
    if infinite:
        where = _rows(np.logical_or.reduce([f[1] for f in flags.values()]), row_labels)
        raise _error(
            f"infinite values in {_describe(infinite)}{where}: they are not missing values"
        )
    nan = {k: int(f[0].sum()) for k, f in flags.items() if f[0].any()}
    if not nan:
        return endog, exog, groups, exog_re, exog_vc
    keep = ~np.logical_or.reduce([f[0] for f in flags.values()])
    where = _rows(~keep, row_labels)
    if policy == "raise":
        raise _error(f"NaNs were encountered in the data: {_describe(nan)}{where}")
    if policy == "none":
        raise _error(
            f"missing values in {_describe(nan)}{where} with missing='none': pass "
            "missing='drop' to drop those rows"
        )
    if not keep.any():
        raise _error("no complete rows: every row has a missing value")
    if exog_vc is not None:
        exog_vc = _subset_vc(exog_vc, labels, rows, keep)
    return (
        _take(endog, keep),
        _take(exog, keep),
        _take(groups, keep),
        _take(exog_re, keep),
        exog_vc,
    )


# -- the formula interface --------------------------------------------------------------------
def _formula_variables(formula: str, re_formula, vc_formula) -> set[str]:
    from mixedmodels.compat._sm_design import _one_sided, _variables

    needed = _variables(formula, "the formula") if "~" in formula else set()
    if re_formula is not None:
        needed |= _variables(_one_sided(re_formula), "re_formula")
    for key, text in (vc_formula or {}).items():
        needed |= _variables(_one_sided(text), f"vc_formula[{key!r}]")
    return needed


def prepare_formula_data(
    formula: str, data, groups, re_formula, vc_formula, subset, missing: str
) -> tuple[pd.DataFrame, Any]:
    """The data (``subset`` applied) and groups of ``from_formula`` under the ``missing`` policy.

    Returns
    -------
    data, groups
        The rows kept; ``groups`` a column name as given, else its values for those rows.

    Raises
    ------
    MissingValuesError
        For a missing value in a used variable or in ``groups`` unless ``missing="drop"``.
    """
    policy = missing_policy(missing)
    frame = data if isinstance(data, pd.DataFrame) else pd.DataFrame(data)
    if isinstance(groups, str):
        if groups not in frame.columns:
            raise DesignError(f"groups column {groups!r} is not in the data")
        group_values = frame[groups]
    else:
        values = np.asarray(groups)
        if values.ndim != 1 or len(values) != len(frame):
            raise DesignError(f"groups has {len(values)} values, data has {len(frame)} rows")
        group_values = pd.Series(values, index=frame.index)
    if subset is not None:
        frame = frame.loc[subset]
        group_values = group_values.loc[frame.index]
    used = sorted(v for v in _formula_variables(formula, re_formula, vc_formula) if v in frame)
    absent = frame[used].isna()
    absent["groups" if not isinstance(groups, str) else groups] = group_values.isna()
    incomplete = absent.any(axis=1).to_numpy()
    if incomplete.any() and policy != "drop":
        counts = {str(c): int(k) for c, k in absent.sum().items() if k}
        fixed = _formula_variables(formula, None, None)
        raise _error(
            f"missing values in {_describe(counts)}{_rows(incomplete, frame.index)} with "
            f"missing={policy!r}: pass missing='drop' to drop those rows",
            formula=any(c in fixed for c in counts),
        )
    if incomplete.all():
        raise _error("no complete rows: every row has a missing value in a used variable")
    frame, group_values = frame.loc[~incomplete], group_values.loc[~incomplete]
    return frame, (groups if isinstance(groups, str) else group_values.to_numpy())
