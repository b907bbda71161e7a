"""From an lme4 GLMM formula and a data frame to the design plus the GLMM's response.

What a GLMM formula adds to :func:`mixedmodels.design.build_design`'s grammar:

* the response ``cbind(successes, failures)`` (a proportion with the trials as weights, as
  R's ``binomial()``), a 0/1, bool or two-level factor column (the first level is failure,
  as R), or a proportion with ``weights=`` giving the trials;
* ``offset(expr)`` terms in the fixed part, added to any ``offset=`` argument;
* R's power ``^`` inside ``I()`` (``I(age^2)``), computed as ``**`` and named as lme4 names it.

The response is computed here, put in the data under a private column name and handed to the
shared design builder, which drops incomplete rows and builds X and the random-effect blocks.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from mixedmodels.design import Design, build_design
from mixedmodels.errors import DesignError, FormulaError, MissingColumnError, NonIntegerCountWarning
from mixedmodels.formula import parse_formula
from mixedmodels.glmm.expressions import simple_column
from mixedmodels.glmm.families import Binomial, Family

__all__ = ["GlmmData", "build_glmm_data", "split_offsets", "r_powers"]

RESPONSE = "_glmm_response_"
INTEGER_TOLERANCE = 1e-3  # R's: counts further than this from an integer warn


@dataclass(frozen=True, eq=False)
class GlmmData:
    """A GLMM's data: the design (X, blocks) and the response in the family's terms.

    Attributes
    ----------
    design
        The shared design; ``design.y`` is ``y`` below, ``design.offset`` the total offset.
    y
        Response per used row: a proportion for binomial, else the value.
    trials
        R's binomial ``n``: trials for ``cbind``, else 1.
    prior_weights
        R's prior weights: user weights times the trials of a ``cbind`` response.
    response_name
        The response as written (for messages and summaries).
    """

    design: Design
    y: np.ndarray
    trials: np.ndarray
    prior_weights: np.ndarray
    response_name: str

    @property
    def offset(self) -> np.ndarray:
        """Offset per used row (zeros when none)."""
        off = self.design.offset
        return np.zeros(self.design.n) if off is None else off


def _top_level_split(text: str, sep: str = ",") -> list[str]:
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == sep and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    parts.append(text[start:].strip())
    return parts


def _matching(text: str, open_at: int) -> int:
    depth = 0
    for i in range(open_at, len(text)):
        if text[i] == "(":
            depth += 1
        elif text[i] == ")":
            depth -= 1
            if depth == 0:
                return i
    return -1


def r_powers(text: str) -> str:
    """R's ``^`` inside ``I(...)`` written as Python's ``**`` (``I(age^2)`` -> ``I(age**2)``)."""
    out, i = [], 0
    for match in re.finditer(r"(?<![\w.])I\(", text):
        start = match.end() - 1
        if start < i:
            continue
        end = _matching(text, start)
        if end < 0:
            break
        out.append(text[i:start])
        out.append(text[start : end + 1].replace("^", "**"))
        i = end + 1
    out.append(text[i:])
    return "".join(out)


def _lme4_power_names(names: tuple[str, ...]) -> tuple[str, ...]:
    """formulaic's ``I(age ** 2)`` named as lme4 does, ``I(age^2)``."""
    return tuple(re.sub(r"\s*\*\*\s*", "^", n) if n.startswith("I(") else n for n in names)


def split_offsets(fixed: str) -> tuple[str, list[str]]:
    """The fixed part without its ``offset(expr)`` terms, and those expressions."""
    offsets: list[str] = []
    kept: list[str] = []
    for sign, term in _signed_terms(fixed):
        match = re.fullmatch(r"offset\((.*)\)", term.strip(), flags=re.DOTALL)
        if match and _matching(term.strip(), len("offset")) == len(term.strip()) - 1:
            if sign < 0:
                raise FormulaError(f"offset term {term!r} cannot be subtracted", fixed)
            offsets.append(match.group(1).strip())
        else:
            kept.append(("+ " if sign > 0 else "- ") + term)
    if not kept:
        return "1", offsets
    text = " ".join(kept)
    return (text[2:] if text.startswith("+ ") else text), offsets


def _signed_terms(text: str) -> list[tuple[int, str]]:
    terms, depth, start, sign = [], 0, 0, 1
    text = text.strip()
    i = 0
    while i < len(text):
        ch = text[i]
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch in "+-" and depth == 0 and i > 0 and text[i - 1] == " ":
            piece = text[start:i].strip()
            if piece:
                terms.append((sign, piece))
            sign = 1 if ch == "+" else -1
            start = i + 1
        i += 1
    piece = text[start:].strip()
    if piece.startswith("-"):
        sign, piece = -1, piece[1:].strip()
    if piece:
        terms.append((sign, piece))
    return terms


def _evaluate(expr: str, data: pd.DataFrame, where: str, formula: str) -> np.ndarray:
    """One numeric column from an R-style expression over the data (NaN where missing)."""
    import formulaic

    if expr in data.columns:
        column = data[expr]
        if not (
            pd.api.types.is_numeric_dtype(column.dtype) or pd.api.types.is_bool_dtype(column.dtype)
        ):
            raise DesignError(f"{where} {expr!r} must be numeric, it has dtype {column.dtype}")
        return column.to_numpy(dtype=float, na_value=np.nan)
    direct = simple_column(r_powers(expr), data)
    if direct is not None:
        return direct
    try:
        mm = formulaic.model_matrix(
            f"0 + I({r_powers(expr).replace('^', '**')})", data, na_action="ignore"
        )
    except Exception as exc:
        missing = [
            name
            for name in re.findall(r"[A-Za-z_.][\w.]*", expr)
            if name not in data.columns
            and not hasattr(np, name)
            and name not in ("np", "log", "exp", "sqrt")
        ]
        if missing:
            raise MissingColumnError(
                "column(s) not found in the data: "
                f"{', '.join(repr(m) for m in missing)} (in {where})"
            ) from exc
        raise FormulaError(f"cannot evaluate {where} {expr!r}: {exc}", formula) from exc
    values = np.asarray(mm, dtype=float)
    return values[:, 0]


def _factor_response(column: pd.Series, name: str) -> np.ndarray:
    """0/1 from a factor: the first level (categorical order, else sorted) is failure."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        levels = [c for c in column.cat.categories if (column == c).any()]
    else:
        levels = sorted(pd.unique(column.dropna()).tolist(), key=str)
    if len(levels) < 2:
        raise DesignError(f"the response {name!r} has a single level {levels!r}: nothing to model")
    out = np.where(column.isna().to_numpy(), np.nan, (column != levels[0]).to_numpy(dtype=float))
    return out


def _response(text: str, data: pd.DataFrame, family: Family, formula: str):
    """(y, trials, weight multiplier) per row of ``data``; NaN where an input is missing."""
    n = len(data)
    match = re.fullmatch(r"cbind\((.*)\)", text.strip(), flags=re.DOTALL)
    if match:
        args = _top_level_split(match.group(1))
        if len(args) != 2:
            raise FormulaError(
                f"cbind() in the response takes two columns (successes, failures), got {len(args)}",
                formula,
            )
        if not isinstance(family, Binomial):
            raise DesignError(
                "a cbind(successes, failures) response needs the binomial family, "
                f"not {family.name}"
            )
        successes = _evaluate(args[0], data, "the successes of cbind()", formula)
        failures = _evaluate(args[1], data, "the failures of cbind()", formula)
        for values, what in ((successes, args[0]), (failures, args[1])):
            finite = values[np.isfinite(values)]
            if np.any(finite < 0):
                raise DesignError(
                    f"the {'successes' if what == args[0] else 'failures'} {what!r} of cbind() "
                    "have negative values"
                )
        trials = successes + failures
        if np.any(
            np.abs(np.r_[successes, failures] - np.round(np.r_[successes, failures]))[
                np.isfinite(np.r_[successes, failures])
            ]
            > INTEGER_TOLERANCE
        ):
            warnings.warn(
                f"non-integer counts in the binomial response {text}",
                NonIntegerCountWarning,
                stacklevel=4,
            )
        with np.errstate(invalid="ignore", divide="ignore"):
            y = np.where(trials > 0, successes / trials, 0.0)
        y[~np.isfinite(trials)] = np.nan
        return y, trials, trials
    ones = np.ones(n)
    if text in data.columns:
        column = data[text]
        dtype = column.dtype
        if pd.api.types.is_bool_dtype(dtype):
            return column.to_numpy(dtype=float, na_value=np.nan), ones, ones
        if not pd.api.types.is_numeric_dtype(dtype):
            if not isinstance(family, Binomial):
                raise DesignError(
                    f"the response {text!r} of the {family.name} family must be numeric, "
                    f"it has dtype {dtype}"
                )
            return _factor_response(column, text), ones, ones
        return column.to_numpy(dtype=float, na_value=np.nan), ones, ones
    return _evaluate(text, data, "the response", formula), ones, ones


def build_glmm_data(
    formula: str,
    data: pd.DataFrame,
    family: Family,
    *,
    weights=None,
    offset=None,
    contrasts: dict[str, str] | None = None,
) -> GlmmData:
    """Parse the formula, compute the response and build the design (see module docstring)."""
    if not isinstance(formula, str):
        raise TypeError(f"formula must be a string, not {type(formula).__name__}")
    if not isinstance(data, pd.DataFrame):
        raise DesignError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    parsed = parse_formula(formula)
    if not data.index.is_unique or not isinstance(data.index, pd.RangeIndex):
        data = data.reset_index(drop=True)
    y_all, trials_all, multiplier = _response(parsed.response, data, family, formula)
    fixed, offset_terms = split_offsets(parsed.fixed)
    offset_terms = [*parsed.offsets, *offset_terms]  # the parser's offset(...) terms
    total = None
    if offset is not None:
        if isinstance(offset, str):
            if offset not in data.columns:
                raise MissingColumnError(f"offset column {offset!r} not found in the data")
            offset = data[offset]
        total = np.asarray(offset, dtype=float)
        if total.shape != (len(data),):
            raise DesignError(
                f"offset must have one value per row ({len(data)}), got shape {total.shape}"
            )
        total = total.copy()
    for expr in offset_terms:
        values = _evaluate(expr, data, "offset", formula)
        total = values if total is None else total + values
    if total is not None and np.isinf(total).any():
        raise DesignError("the offset has infinite values (e.g. log of a zero)")
    random = tuple(replace(t, lhs=r_powers(t.lhs)) for t in parsed.random)
    glmm_parsed = replace(  # offsets are in `total` already: not evaluated again
        parsed, response=RESPONSE, fixed=r_powers(fixed), random=random, offsets=()
    )
    frame = data.assign(**{RESPONSE: y_all})
    if weights is not None and isinstance(weights, str) and weights not in data.columns:
        raise MissingColumnError(f"weights column {weights!r} not found in the data")
    design = build_design(
        glmm_parsed,
        frame,
        weights=weights,
        offset=total,
        contrasts=contrasts,
        residual_variance=False,
    )
    design = replace(
        design,
        formula=replace(design.formula, formula=formula),
        fixed_names=_lme4_power_names(design.fixed_names),
        dropped_names=_lme4_power_names(design.dropped_names),
    )
    rows = np.asarray(design.row_index, dtype=np.intp)
    user_weights = np.ones(design.n) if design.weights is None else design.weights
    prior = user_weights * multiplier[rows]
    y = np.asarray(design.y, dtype=float)
    family.check_response(y, prior, repr(parsed.response))
    return GlmmData(
        design=design,
        y=y,
        trials=trials_all[rows],
        prior_weights=prior,
        response_name=parsed.response,
    )
