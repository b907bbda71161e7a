"""Predictions of any subset of the random effects, for the fitting rows or new data.

* ``re_form`` as lme4's ``re.form``: None (every random-effect term), ``"~0"`` / ``"NA"``
  (none), or a formula of a subset of the terms, ``"~(1 | Subject)"``; a term may use fewer
  columns than the model's term on that factor (``(1 | Subject)`` of a ``(Days | Subject)``
  model takes the intercepts only).
Standard errors, intervals and simulated responses: :mod:`mixedmodels.predict_intervals`.

Everything here reads ``design``, ``theta``, ``solution``, ``sigma``, ``vcov``, ``condvar``
and ``model.lambdas`` of the result; a GLMM result providing those (and ``family.linkinv`` for
the response scale) can use it as well.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mixedmodels.column_names import lme4_column_names
from mixedmodels.errors import DesignError, FormulaError, MissingColumnError
from mixedmodels.fastmatrix import required_variables
from mixedmodels.inputs import as_pandas
from mixedmodels.newdata import new_model_matrix

__all__ = [
    "RandomPiece",
    "fixed_matrix",
    "predict",
    "random_pieces",
]

NO_RANDOM = frozenset({"~0", "~ 0", "NA", "na", "none", "~-1", "~ -1"})


@dataclass(frozen=True)
class RandomPiece:
    """Columns of one engine block used by a prediction.

    Attributes
    ----------
    block_index
        Position of the block in ``design.blocks``.
    columns
        Column positions inside the block.
    spec
        The formulaic spec that rebuilds these columns for new data (None: build by name).
    lhs
        The term's left side (formulaic text) when ``spec`` is None.
    group
        The grouping variables.
    """

    block_index: int
    columns: tuple[int, ...]
    spec: Any  # formulaic ModelSpec or None
    lhs: str
    group: tuple[str, ...]
    select: tuple[int, ...] | None = None
    text: str = ""


def _no_random(re_form) -> bool:
    if re_form is None:
        return False
    if isinstance(re_form, float) and np.isnan(re_form):
        return True
    return str(re_form).strip() in NO_RANDOM


def random_pieces(result, re_form=None) -> list[RandomPiece]:
    """The random-effect columns a prediction with ``re_form`` uses.

    Raises
    ------
    FormulaError
        When ``re_form`` names a term, grouping factor or column the model does not have.
    """
    design = result.design
    blocks = design.blocks
    if _no_random(re_form):
        return []
    if re_form is None:
        wanted = list(dict.fromkeys(spec.term for spec in design.term_specs))
    else:
        from mixedmodels.formula import parse_formula

        text = str(re_form).strip()
        if not text.startswith("~"):
            raise FormulaError(f"re_form must start with '~', got {re_form!r}", text)
        try:
            wanted = list(parse_formula(f"__response__ {text}").random)
        except FormulaError as exc:
            raise FormulaError(
                f"re_form {text!r} must list random-effect terms such as (1 | g): {exc}", text
            ) from exc
    pieces = []
    used: dict[str, int] = {}
    by_name = {b.group_name: i for i, b in enumerate(blocks)}
    model_terms: dict[tuple[str, str], list[Any]] = {}
    for spec in design.term_specs:
        name = spec.term.group_name
        k = used.get(name, 0)
        used[name] = k + 1
        block = blocks[by_name[name]]
        offset, size = block.column_offsets[k], block.terms[k].size
        model_terms.setdefault((spec.term.lhs, spec.term.group), []).append(
            (spec, tuple(range(offset, offset + size)))
        )
    for term in wanted:
        if term.group_name not in by_name:
            have = ", ".join(by_name)
            raise FormulaError(
                f"re_form term {term.text} uses grouping factor {term.group_name!r}, which the "
                f"model does not have ({have})",
                str(re_form),
            )
        index = by_name[term.group_name]
        exact = model_terms.get((term.lhs, term.group))
        if exact is not None:  # one model term (several for a zerocorr term)
            for spec, columns in exact:
                pieces.append(
                    RandomPiece(
                        index,
                        columns,
                        spec.model_spec,
                        term.lhs,
                        term.group,
                        spec.select,
                        term.text,
                    )
                )
            continue
        columns = _columns_by_name(blocks[index], term, result)
        pieces.append(RandomPiece(index, columns, None, term.lhs, term.group, None, term.text))
    return pieces


def _columns_by_name(block, term, result) -> tuple[int, ...]:
    """Block column positions of a re_form term that is not one of the model's terms."""
    names = list(block.columns)
    if term.lhs.replace(" ", "") == "1":
        wanted = ["(Intercept)"]
    else:
        # names of the term's columns: materialise it on one row of a frame of zeros
        variables = sorted(set(required_variables(term.lhs)))
        import formulaic

        try:
            mm = formulaic.model_matrix(term.lhs, _example_frame(variables))
        except Exception as exc:  # formulaic's errors: a function of a factor, say
            raise FormulaError(
                f"re_form term {term.text} is not one of the model's terms and its columns "
                f"cannot be named: {exc}",
                term.text,
            ) from exc
        wanted = list(lme4_column_names(list(mm.columns)))
    missing = [w for w in wanted if w not in names]
    if missing:
        raise FormulaError(
            f"re_form term {term.text} has column(s) {', '.join(missing)} that the model's "
            f"terms on {block.group_name!r} do not have ({', '.join(names)})",
            term.text,
        )
    if len(set(names)) != len(names):
        raise FormulaError(
            f"re_form term {term.text}: the model has several terms with the same columns on "
            f"{block.group_name!r}; write the model's term exactly",
            term.text,
        )
    return tuple(names.index(w) for w in wanted)


def _example_frame(variables: list[str]) -> pd.DataFrame:
    """One row of zeros: enough for formulaic to name the columns of numeric variables."""
    return pd.DataFrame({v: [0.0] for v in variables})


def fixed_matrix(result, newdata: pd.DataFrame) -> np.ndarray:
    """The fixed-effect model matrix of new data, encoded as the fitting data were.

    Columns as ``result.fixef`` (aliased columns dropped); a row with a missing value in a
    used column gives NaN.
    """
    design = result.design
    spec = design.fixed_spec
    missing = [v for v in spec.required_variables if v not in newdata.columns]
    if missing:
        raise MissingColumnError(f"newdata lacks column(s): {', '.join(sorted(missing))}")
    mm = new_model_matrix(spec, newdata, "the fixed part")
    names = lme4_column_names(list(mm.columns))
    full = np.asarray(mm, dtype=float)
    if len(names) != len(design.kept_columns) + len(design.dropped_names):
        raise DesignError("newdata does not give the model's fixed-effect columns")
    X = full[:, design.kept_columns]
    # a missing covariate gives a missing prediction (R's na.pass), even where the
    # formula's expression of it is defined (``C(x > 3)`` is False for a missing x)
    incomplete = np.zeros(len(newdata), dtype=bool)
    for name in spec.required_variables:
        if name in newdata.columns:
            incomplete |= np.asarray(pd.isna(newdata[name]), dtype=bool)
    if incomplete.any():
        X = X.copy()
        X[incomplete] = np.nan
    return X


def _piece_rows(result, piece: RandomPiece, newdata: pd.DataFrame | None, allow_new_levels):
    """Codes (``-1`` for new levels) and the rows' matrix of one piece (its columns only)."""
    block = result.design.blocks[piece.block_index]
    if newdata is None:
        return block.codes, block.matrix[:, list(piece.columns)]
    missing = [g for g in piece.group if g not in newdata.columns]
    if missing:
        raise MissingColumnError(f"newdata lacks grouping column(s): {', '.join(missing)}")
    if piece.spec is not None:
        matrix = new_model_matrix(piece.spec, newdata, f"term {piece.text}")
    else:
        import formulaic

        matrix = formulaic.model_matrix(piece.lhs, newdata, na_action="ignore")
    matrix = np.asarray(matrix, dtype=float)
    if piece.select is not None:
        matrix = matrix[:, list(piece.select)]
    labels = _row_labels(newdata, piece.group)
    position = {level: i for i, level in enumerate(block.levels)}
    codes = np.array([position.get(label, -1) for label in labels], dtype=np.intp)
    if (codes < 0).any() and not allow_new_levels:
        new = sorted({lab for lab, i in zip(labels, codes) if i < 0})[:5]
        raise DesignError(
            f"new levels of {block.group_name!r} in newdata ({', '.join(new)}); "
            "use allow_new_levels=True to predict them with zero random effects"
        )
    return codes, matrix


def _row_labels(frame: pd.DataFrame, group: tuple[str, ...]) -> list[str]:
    if len(group) == 1:
        return frame[group[0]].astype(str).tolist()
    parts = [frame[g].astype(str).tolist() for g in group]
    return [":".join(p) for p in zip(*parts)]


def _random_values(result, pieces, newdata, allow_new_levels) -> np.ndarray:
    n = result.design.n if newdata is None else len(newdata)
    values = np.zeros(n)
    effects = result._block_effects
    for piece in pieces:
        codes, matrix = _piece_rows(result, piece, newdata, allow_new_levels)
        b = effects[piece.block_index][:, list(piece.columns)]
        contribution = np.einsum("nk,nk->n", matrix, b[np.maximum(codes, 0)])
        values += np.where(codes >= 0, contribution, 0.0)
    return values


def _fixed_values(result, newdata) -> tuple[np.ndarray, np.ndarray]:
    design = result.design
    if newdata is None:
        X = design.X
        values = X @ result.solution.beta
        if design.offset is not None:
            values = values + design.offset
        return X, values
    X = fixed_matrix(result, newdata)
    values = X @ result.solution.beta
    for spec in getattr(design, "offset_specs", ()):  # the formula's offset(...) terms
        term = new_model_matrix(spec, newdata, "an offset term")
        values = values + np.asarray(term, dtype=float)[:, 0]
    return X, values


def _index(result, newdata) -> pd.Index:
    return result.design.row_index if newdata is None else newdata.index


def predict(result, newdata=None, re_form=None, allow_new_levels: bool = False) -> pd.Series:
    """Predictions on the linear-predictor scale (lme4's ``predict``).

    Parameters
    ----------
    result
        A fitted :class:`~mixedmodels.results.LmerResult`.
    newdata
        A DataFrame with the formula's variables; the fitting rows when None.
    re_form
        None (all random effects), ``"~0"`` (none) or a formula of some of the model's
        random-effect terms, e.g. ``"~(1 | plate)"``.
    allow_new_levels
        Predict levels the fit has not seen with zero random effects (else raise).

    Returns
    -------
    pandas.Series
        Named ``"predicted"``.
    """
    newdata = _as_frame(newdata)
    pieces = random_pieces(result, re_form)
    _, values = _fixed_values(result, newdata)
    if newdata is None and not pieces and hasattr(result, "_with_zero_weight_rows"):
        # the fixed part of the fitting rows, rows of weight zero included (lm's rule)
        return result._with_zero_weight_rows(values, "predicted", include_random=False)
    if pieces:
        values = values + _random_values(result, pieces, newdata, allow_new_levels)
    return pd.Series(values, index=_index(result, newdata), name="predicted")


def _rows_prediction(result, newdata, re_form, allow_new_levels) -> pd.Series:
    """:func:`predict` on the fit's rows only (no rows of weight zero) when newdata is None."""
    pieces = random_pieces(result, re_form)
    _, values = _fixed_values(result, newdata)
    if pieces:
        values = values + _random_values(result, pieces, newdata, allow_new_levels)
    return pd.Series(values, index=_index(result, newdata), name="predicted")


def _as_frame(newdata):
    """pandas for new data given as polars, pyarrow or a dict of columns (None stays None)."""
    if newdata is None or isinstance(newdata, pd.DataFrame):
        return newdata

    return as_pandas(newdata, "newdata")
