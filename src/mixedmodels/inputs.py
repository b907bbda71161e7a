"""A call's arguments checked before any work: what was passed where, and of which kind.

``lmer(data, formula)`` (swapped), ``lmer(5, data)``, a polars or pyarrow table: each gets an
error of our own saying what is wrong and what to pass, or, for data frames of other
libraries, a conversion to pandas. (The optimiser's settings are checked by
:mod:`mixedmodels.control`.)
"""

from __future__ import annotations

import pandas as pd

from mixedmodels.errors import ArgumentError
from mixedmodels.formula import ParsedFormula

__all__ = ["as_pandas", "check_formula_and_data"]


def _looks_like_formula(value) -> bool:
    return isinstance(value, str) and "~" in value


def _is_frame(value) -> bool:
    return isinstance(value, pd.DataFrame) or callable(getattr(value, "to_pandas", None))


def check_formula_and_data(formula, data) -> None:
    """Refuse a formula that is not one, and arguments given in the wrong order.

    Raises
    ------
    ArgumentError
        ``lmer(data, formula)``: the arguments look swapped; a formula that is not text.
    """
    if isinstance(formula, str | ParsedFormula):
        if _looks_like_formula(data):
            raise ArgumentError(
                "data is a formula: call lmer(formula, data) with one formula and a data frame"
            )
        return
    if _looks_like_formula(data):
        raise ArgumentError(
            f"the arguments look swapped: the formula {data!r} was given as data and a "
            f"{type(formula).__name__} as the formula; call lmer(formula, data)"
        )
    raise ArgumentError(
        f"formula must be a string such as 'y ~ x + (1 | g)', got {type(formula).__name__}"
        f" {formula!r:.60}"
    )


def as_pandas(data, what: str = "data") -> pd.DataFrame:
    """``data`` as a pandas DataFrame: pandas as is; polars, pyarrow and others converted.

    A frame of another library is converted by its own ``to_pandas()`` (polars, pyarrow
    tables and record batches, ...); a polars LazyFrame is collected first; a mapping of
    columns goes through ``pandas.DataFrame``.

    Raises
    ------
    ArgumentError
        For data that is none of these, naming its type.
    """
    if isinstance(data, pd.DataFrame):
        return data
    module = type(data).__module__.split(".")[0]
    if module == "polars" and callable(getattr(data, "collect", None)) and not _is_frame(data):
        data = data.collect()  # a LazyFrame
    convert = getattr(data, "to_pandas", None)
    if callable(convert):
        try:
            frame = convert()
        except ImportError as exc:  # polars needs pyarrow for this
            raise ArgumentError(
                f"converting the {type(data).__name__} {what} to pandas needs a package that "
                f"is not installed: {exc}"
            ) from exc
        if isinstance(frame, pd.DataFrame):
            return frame
    if isinstance(data, dict):
        try:
            return pd.DataFrame(data)
        except (TypeError, ValueError) as exc:
            raise ArgumentError(
                f"{what} as a dict of columns cannot be a data frame: {exc}"
            ) from exc
    raise ArgumentError(
        f"{what} must be a data frame (pandas, polars, pyarrow) or a dict of columns, got "
        f"{type(data).__name__}"
    )
