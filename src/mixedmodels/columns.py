"""A data frame's columns, each looked up once (for setting small models up many times).

pandas' column access costs microseconds (a new Series each time); :class:`ColumnCache` hands
out the same column for a name every time, a :class:`Column` over the frame's own values.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pandas.api.extensions import no_default as lib_no_default

__all__ = ["Column", "ColumnCache", "category_codes"]


class ColumnCache:
    """A data frame's columns, each looked up once.

    pandas' column access costs microseconds (a new Series each time), which matters when a
    small model is set up thousands of times; this read-only view hands out, for a name, the
    same column every time and offers what the design layer reads of a frame: ``[name]``,
    ``columns`` and ``len``. A column is a :class:`Column` over the frame's own values, or the
    Series itself where that is needed (duplicated names).

    Parameters
    ----------
    frame
        The data frame viewed (not copied).
    """

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self.columns = frame.columns
        self._n = len(frame)
        self._cache: dict[str, pd.Series | Column] = {}

    def __getitem__(self, name: str) -> pd.Series | Column:
        """The column ``name``, read from the frame once."""
        col = self._cache.get(name)
        if col is None:
            col = self._cache[name] = _column(self.frame, name)
        return col

    def __len__(self) -> int:
        """Number of rows."""
        return self._n


def _column(frame: pd.DataFrame, name: str) -> pd.Series | Column:
    """A :class:`Column` of ``frame[name]``, or the Series where a Column would not do."""
    try:
        loc = frame.columns.get_loc(name)
        if not isinstance(loc, int):  # duplicated name: pandas decides what it means
            return frame[name]
        values = frame._get_column_array(loc)
    except (AttributeError, TypeError):  # pragma: no cover - another pandas layout
        return frame[name]
    return Column(values, frame, name)


class Column:
    """The values of one data-frame column, read only, with the Series methods we use.

    ``dtype``, ``array``, ``to_numpy`` and ``len`` behave as the Series' do (``to_numpy``
    hands out a read-only view where no conversion is needed, as pandas does); anything else
    is read from the Series, made on first need.

    Parameters
    ----------
    values
        The column's ndarray or ExtensionArray, as the frame stores it (not copied).
    frame, name
        Where it comes from.
    """

    __slots__ = ("_values", "_frame", "_name", "_series")

    def __init__(self, values, frame: pd.DataFrame, name: str) -> None:
        self._values = values
        self._frame = frame
        self._name = name
        self._series: pd.Series | None = None

    @property
    def dtype(self):
        """The column's dtype."""
        return self._values.dtype

    @property
    def array(self):
        """The stored values (ndarray or ExtensionArray)."""
        return self._values

    def to_numpy(self, dtype=None, na_value=lib_no_default):
        """As ``Series.to_numpy``."""
        values = self._values
        if not isinstance(values, np.ndarray):
            if na_value is lib_no_default:
                return values.to_numpy(dtype=dtype)
            return values.to_numpy(dtype=dtype, na_value=na_value)
        if na_value is not lib_no_default:
            return self.series.to_numpy(dtype=dtype, na_value=na_value)
        result = np.asarray(values, dtype=dtype)
        if result is values:
            result = result.view()
            result.flags.writeable = False
        return result

    @property
    def series(self) -> pd.Series:
        """The column as a pandas Series (made once)."""
        if self._series is None:
            self._series = self._frame[self._name]
        return self._series

    def __getattr__(self, attr: str):
        """Anything else is the pandas Series' (built on first use)."""
        return getattr(self.series, attr)

    def __len__(self) -> int:
        """Number of rows."""
        return len(self._values)


def category_codes(values: pd.Series | Column) -> np.ndarray:
    """The integer codes of a categorical column (-1: missing), read from its Categorical.

    ``Series.cat.codes`` builds an accessor and a new Series (about 40 us); the codes are
    the Categorical's own array.
    """
    return np.asarray(values.array.codes)
