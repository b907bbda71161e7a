"""Prior weights: their checks, and the rows whose weight is zero.

lm's and glm's rule for a zero prior weight: the row does not contribute to the fit (it is not
counted in the number of observations, nor in the residual degrees of freedom) but it keeps its
fitted value. lme4 has no such rule: a zero weight there makes the criterion infinite and the
optimiser stops at its starting values. Here the rows with weight zero are set aside before
the model matrices are built, so the fit is exactly the fit without them, and their data are
kept so that their fitted values can be computed from the fit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from mixedmodels.errors import DesignError
from mixedmodels.newdata import uncodable_rows

__all__ = ["ZeroWeightRows", "check_weights", "weights_label", "zero_weight_predictions"]

_SHOWN = 5


@dataclass(frozen=True, eq=False)
class ZeroWeightRows:
    """The complete rows with prior weight zero: not in the fit, but given fitted values.

    Attributes
    ----------
    data
        Those rows of the data (the columns the formula reads), index labels kept.
    offset
        Their values of the ``offset`` argument, or None (the formula's ``offset(...)`` terms
        are evaluated with their other columns).
    order
        Positions that put the fit's rows followed by these rows back in data order.
    """

    data: pd.DataFrame
    y: np.ndarray
    offset: np.ndarray | None
    order: np.ndarray

    @property
    def n(self) -> int:
        """Number of rows with weight zero."""
        return len(self.data)

    def in_data_order(self, fit_values: np.ndarray, zero_values: np.ndarray) -> np.ndarray:
        """Values of the fit's rows and of these rows, together in data order."""
        return np.concatenate([fit_values, zero_values])[self.order]

    def fit_rows(self, values: np.ndarray) -> np.ndarray:
        """The fit's rows of values in data order (the inverse of :meth:`in_data_order`)."""
        return np.asarray(values)[self.order < self.order.size - self.n]


def zero_weight_predictions(result, include_random: bool = True) -> np.ndarray:
    """Fitted values of the rows with weight zero (their random effects where they have some).

    A level of a grouping factor seen only in rows with weight zero has no estimated random
    effect, so such a row is predicted with the random effect zero (lme4's
    ``allow.new.levels``); a fixed-effect level seen only there has no coefficient, so its row
    gets NaN.
    """
    zero = result.design.zero_weight
    values = np.full(zero.n, np.nan)
    codable = ~uncodable_rows(result.design, zero.data)
    if codable.any():
        re_form = None if include_random else "~0"
        rows = zero.data[codable]
        predicted = result.predict(rows, re_form=re_form, allow_new_levels=True)
        values[codable] = predicted.to_numpy()
    if zero.offset is not None:
        values = values + zero.offset
    return values


def weights_label(weights) -> str:
    """How messages name the weights: ``weights column 'w'``, or ``weights``."""
    return f"weights column {weights!r}" if isinstance(weights, str) else "weights"


def _rows(index: pd.Index, mask: np.ndarray) -> str:
    labels = index[mask].tolist()
    shown = ", ".join(str(label) for label in labels[:_SHOWN])
    return shown + (f" and {len(labels) - _SHOWN} more" if len(labels) > _SHOWN else "")


def check_weights(w: np.ndarray, complete: np.ndarray, index: pd.Index, label: str) -> np.ndarray:
    """Check prior weights on the otherwise complete rows; the rows with weight zero.

    Parameters
    ----------
    w
        One weight per row of the data.
    complete
        Rows without a missing value in a used column (other rows need no weight).
    index
        The data's index, to name rows in messages.
    label
        How the weights are named in messages (see :func:`weights_label`).

    Returns
    -------
    numpy.ndarray
        Boolean mask of the complete rows whose weight is zero.

    Raises
    ------
    DesignError
        For infinite, missing or negative weights on complete rows, naming the rows; and when
        every complete row has weight zero.
    """
    infinite = complete & np.isinf(w)
    if infinite.any():
        raise DesignError(f"{label} has infinite values in row(s) {_rows(index, infinite)}")
    missing = complete & np.isnan(w)
    if missing.any():
        raise DesignError(
            f"{label} has missing values in row(s) {_rows(index, missing)}: every row used "
            "needs a weight (a weight of 0 leaves a row out of the fit)"
        )
    negative = complete & (w < 0)
    if negative.any():
        raise DesignError(
            f"{label} has negative values in row(s) {_rows(index, negative)}: prior weights "
            "must be >= 0"
        )
    zero = complete & (w == 0)
    if zero.any() and zero.sum() == complete.sum():
        raise DesignError(f"{label} is 0 on every complete row: no row is left for the fit")
    return zero
