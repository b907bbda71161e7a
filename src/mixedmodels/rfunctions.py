"""R's functions, with R's meaning, for the calls of a formula.

The namespace :data:`R_CONTEXT` is handed to formulaic for every model matrix, at the fit and
for new data, in front of formulaic's own transforms (``poly``, ``scale``, ``center``, ``bs``
and ``C`` are formulaic's, which compute what R's do, and keep their state for new data).
Formula text reaches these through :mod:`mixedmodels.rsyntax` (``as.numeric`` is called
``as_numeric`` here, ``TRUE`` is ``True``).
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

__all__ = ["R_CONTEXT"]


def _values(x):
    """A column or array as numpy values (formulaic's FactorValues unwrapped)."""
    x = getattr(x, "__wrapped__", x)
    return x.to_numpy() if isinstance(x, pd.Series) else np.asarray(x)


def log(x, base=None):
    """R's ``log(x, base = exp(1))``."""
    values = np.log(_values(x).astype(float))
    return values if base is None else values / np.log(base)


def as_numeric(x):
    """R's ``as.numeric`` of a numeric or logical column; a factor is refused.

    R turns a factor into its level codes, which is rarely what is meant: convert the column
    in the data instead.
    """
    raw = getattr(x, "__wrapped__", x)
    dtype = getattr(raw, "dtype", None)
    if isinstance(dtype, pd.CategoricalDtype) or not (
        pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)
    ):
        raise ValueError(
            "as.numeric() of a non-numeric column: R would give the level codes of a factor; "
            "convert the column in the data (e.g. pandas.to_numeric) instead"
        )
    return _values(x).astype(float)


def as_integer(x):
    """R's ``as.integer``: truncation towards zero, as floats (the model matrix is float)."""
    return np.trunc(as_numeric(x))


def factor(x, levels=None):
    """R's ``factor(x)``: x as a categorical variable, levels sorted (or as given)."""
    from formulaic.transforms import C

    return C(x, levels=levels)


def ordered(x, levels=None):
    """R's ``ordered(x)``: a factor coded by orthogonal polynomials (R's ``contr.poly``)."""
    from formulaic.transforms import C
    from formulaic.transforms.contrasts import PolyContrasts

    return C(x, PolyContrasts(), levels=levels)


def relevel(x, ref):
    """R's ``relevel(f, ref)``: treatment coding with ``ref`` as the reference level.

    ``ref`` is matched to a level by value or, as R's levels are strings, by its text.
    """
    from formulaic.transforms import C
    from formulaic.transforms.contrasts import TreatmentContrasts

    values = _values(x)
    levels = list(pd.unique(values[~pd.isna(values)]))
    if ref not in levels:
        matches = [level for level in levels if str(level) == str(ref)]
        if not matches:
            raise ValueError(f"relevel(): {ref!r} is not a level ({', '.join(map(str, levels))})")
        ref = matches[0]
    # the column itself (as factor() hands it on): formulaic's null check of an object array
    # of text would call np.isnan on it
    raw = getattr(x, "__wrapped__", x)
    column = raw if isinstance(raw, pd.Series) else pd.Series(values)
    return C(column, TreatmentContrasts(base=ref))


def _poly(x, degree=1, raw=False, _state=None):
    """R's ``poly(x, degree, raw = FALSE)``: orthonormal or raw powers.

    Orthonormal polynomials are formulaic's, which are R's (their coefficients kept for new
    data); columns are named ``1..degree`` as R names them.
    """
    from formulaic.materializers.types import FactorValues
    from formulaic.transforms import poly as formulaic_poly

    if not raw:
        return formulaic_poly(x, degree, _state=_state)
    values = _values(x).astype(float)
    powers = np.stack([values**k for k in range(1, int(degree) + 1)], axis=1)
    return FactorValues(powers, column_names=tuple(str(k) for k in range(1, int(degree) + 1)))


def _as_is(x):
    """R's ``I(x)``: x as it is; a logical result is a factor (FALSE, TRUE), as R codes it."""
    from formulaic.transforms import C

    values = getattr(x, "__wrapped__", x)
    if pd.api.types.is_bool_dtype(getattr(values, "dtype", None)):
        return C(values, levels=[False, True])
    return x


def ifelse(test, yes, no):
    """R's ``ifelse(test, yes, no)``."""
    return np.where(_values(test).astype(bool), yes, no)


def pmin(*args):
    """R's ``pmin``: the elementwise minimum."""
    return functools.reduce(np.minimum, [_values(a) for a in args])


def pmax(*args):
    """R's ``pmax``: the elementwise maximum."""
    return functools.reduce(np.maximum, [_values(a) for a in args])


def _stateful(function):
    from formulaic.utils.stateful_transforms import stateful_transform

    return stateful_transform(function)


R_CONTEXT: dict[str, object] = {
    "np": np,
    "I": _as_is,
    "poly": _stateful(_poly),
    "log": log,
    "log2": np.log2,
    "log10": np.log10,
    "log1p": np.log1p,
    "exp": np.exp,
    "expm1": np.expm1,
    "sqrt": np.sqrt,
    "abs": np.abs,
    "sign": np.sign,
    "sin": np.sin,
    "cos": np.cos,
    "tan": np.tan,
    "floor": np.floor,
    "ceiling": np.ceil,
    "trunc": np.trunc,
    "as_numeric": as_numeric,
    "as_double": as_numeric,
    "as_integer": as_integer,
    "factor": factor,
    "as_factor": factor,
    "ordered": ordered,
    "relevel": relevel,
    "ifelse": ifelse,
    "pmin": pmin,
    "pmax": pmax,
    "pi": np.pi,
    "inf": np.inf,
    "nan": np.nan,
}
"""Names a formula's calls are evaluated with (R's meaning), ahead of formulaic's transforms."""
