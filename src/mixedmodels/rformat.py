"""Numbers printed as R prints them: ``format`` of a numeric vector and ``format.pval``.

R formats a vector jointly: every element gets the significant digits it needs (at most
``digits``), then one notation (fixed or scientific, whichever is narrower) and one number
of decimals for all. ``format.pval`` formats p-values so, except that those below ``eps``
print as ``< 2e-16`` and not as a misleading ``0``; the summary tables use it with
``digits = 3`` as ``printCoefmat`` does.

>>> format_pval([0.0, 0.0123, 0.5], digits=3)
['<2e-16', '0.0123', '0.5000']
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = ["EPS", "format_pval", "format_real"]

EPS = float(np.finfo(float).eps)
"""``.Machine$double.eps``, R's default ``eps`` of ``format.pval``."""


def _significant(x: float, digits: int) -> tuple[int, int]:
    """Significant digits needed (at most ``digits``) and the decimal exponent of ``x``."""
    if x == 0:
        return 1, 0
    mantissa, exponent = f"{abs(x):.{digits - 1}e}".split("e")
    kpower = int(exponent)
    stripped = mantissa.replace(".", "").rstrip("0")
    return max(1, len(stripped)), kpower


def _exponent(e: int) -> str:
    return f"e{'-' if e < 0 else '+'}{abs(e):02d}"


def format_real(values: Sequence[float], digits: int = 7) -> list[str]:
    """R's ``format(x, digits = digits)`` of a numeric vector (``scipen = 0``).

    Missing values print as ``NA``; the others share one notation and number of decimals.
    """
    xs = [float(v) for v in values]
    finite = [x for x in xs if math.isfinite(x)]
    if not finite:
        return ["NA" if math.isnan(x) else ("Inf" if x > 0 else "-Inf") for x in xs]
    parts = [_significant(x, digits) for x in finite]
    negative = any(x < 0 for x in finite)
    mxns = max(n for n, _ in parts)
    right = max(max(n - k - 1, 0) for n, k in parts)
    left = max(max(k + 1, 1) for _, k in parts)
    width_fixed = int(negative) + left + (right + 1 if right else 0)
    big_exponent = any(abs(k) >= 100 for _, k in parts)
    width_sci = int(negative) + (mxns + 1 if mxns > 1 else mxns) + (5 if big_exponent else 4)
    fixed = width_fixed <= width_sci
    out = []
    for x in xs:
        if math.isnan(x):
            out.append("NA")
        elif math.isinf(x):
            out.append("Inf" if x > 0 else "-Inf")
        elif fixed:
            out.append(f"{x:.{right}f}")
        else:
            mantissa, exponent = f"{x:.{mxns - 1}e}".split("e")
            out.append(mantissa + _exponent(int(exponent)))
    width = max(len(s) for s in out)
    return [s.rjust(width) for s in out]


def format_pval(
    pv: Sequence[float] | float, digits: int = 5, eps: float = EPS, na_form: str = "NA"
) -> list[str] | str:
    """R's ``format.pval``: p-values with ``digits`` significant digits, ``< eps`` below eps.

    Parameters
    ----------
    pv
        One p-value or a sequence (formatted jointly, as R does).
    digits
        Significant digits (R's default is ``getOption("digits") - 2``, 5).
    eps
        Values below it print as ``"< eps"`` (``"<2e-16"`` with 3 digits).
    na_form
        Text for missing values.

    Returns
    -------
    str or list of str
    """
    scalar = np.ndim(pv) == 0
    values = [float(v) for v in np.atleast_1d(np.asarray(pv, dtype=float))]
    result = ["" for _ in values]
    present = [i for i, v in enumerate(values) if not math.isnan(v)]
    for i, v in enumerate(values):
        if math.isnan(v):
            result[i] = na_form
    tiny = [i for i in present if values[i] < eps]
    rest = [i for i in present if values[i] >= eps]
    formatted_rest: list[str] = []
    if rest:
        expo = {i: math.floor(math.log10(values[i])) if values[i] > 0 else -50 for i in rest}
        fixp = [i for i in rest if expo[i] >= -3 or (expo[i] == -4 and digits > 1)]
        sci = [i for i in rest if i not in fixp]
        for group in (fixp, sci):
            if group:
                for i, s in zip(group, format_real([values[i] for i in group], digits)):
                    result[i] = s.strip()
        formatted_rest = [result[i] for i in rest]
    if tiny:
        d = max(1, digits - 2)
        if rest:
            nc = max(len(s) for s in formatted_rest)
            if d > 1 and d + 6 > nc:
                d = max(1, nc - 7)
            sep = "" if d == 1 and nc <= 6 else " "
        else:
            sep = "" if d == 1 else " "
        text = "<" + sep + format_real([eps], d)[0].strip()
        for i in tiny:
            result[i] = text
    return result[0] if scalar else result
