"""ANOVA tables: F tests per model term (lmerTest) and likelihood-ratio tests (lme4).

``anova(fit)`` gives one F test per fixed-effects term with Satterthwaite or Kenward-Roger
denominator df (lmerTest's ``anova``), type III (default) or type I (sequential).
``anova(fit1, fit2, ...)`` compares models by likelihood-ratio tests, as lme4's ``anova``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from mixedmodels._warn import warn
from mixedmodels.errors import DesignError, InferenceError
from mixedmodels.inference.anova_tables import term_label, type2_contrasts
from mixedmodels.inference.refit import refit_ml
from mixedmodels.inference.terms import term_columns, type1_contrasts, type3_contrasts
from mixedmodels.inference.tests import f_table_row, validate_ddf
from mixedmodels.report import Rendered, Report

__all__ = ["AnovaTable", "anova", "REFIT_MESSAGE"]

REFIT_MESSAGE = "refitting model(s) with ML (instead of REML)"

_TYPES = {1: 1, 2: 2, 3: 3, "1": 1, "2": 2, "3": 3, "I": 1, "II": 2, "III": 3}
_F_COLUMNS = ["Sum Sq", "Mean Sq", "NumDF", "DenDF", "F value", "Pr(>F)"]


@dataclass(frozen=True, repr=False)
class AnovaTable(Rendered):
    """An ANOVA or likelihood-ratio table that prints as text, HTML and Markdown.

    Attributes
    ----------
    table
        The numbers, one row per term (F tests) or per model (likelihood-ratio tests).
    heading
        Title line, e.g. ``"Type III Analysis of Variance Table with Satterthwaite's method"``.
    lines
        Extra header lines (the models' formulas for likelihood-ratio tables).
    notes
        Messages shown below the table (e.g. that REML fits were refitted by ML).
    """

    table: pd.DataFrame
    heading: str
    lines: tuple[str, ...] = field(default_factory=tuple)
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def report(self) -> Report:
        """The :class:`~mixedmodels.report.Report` behind the printed forms."""
        return Report.from_frame(
            self.heading, _integers_as_text(self.table), lines=self.lines, notes=self.notes
        )

    def to_frame(self) -> pd.DataFrame:
        """A copy of the numbers as a DataFrame."""
        return self.table.copy()

    def __getitem__(self, key):
        """A column of the table."""
        return self.table[key]

    def __len__(self) -> int:
        """Number of rows of the table."""
        return len(self.table)

    @property
    def index(self) -> pd.Index:
        """Row labels (terms or models)."""
        return self.table.index

    @property
    def loc(self):
        """Label-based access to the table (``pandas.DataFrame.loc``)."""
        return self.table.loc

    def to_text(self) -> str:
        """Plain-text rendering."""
        return self.report.to_text()

    def to_html(self) -> str:
        """HTML rendering."""
        return self.report.to_html()

    def to_markdown(self) -> str:
        """Markdown rendering."""
        return self.report.to_markdown()

    def to_latex(self) -> str:
        """LaTeX rendering."""
        return self.report.to_latex()


_COUNT_COLUMNS = ("npar", "Df", "NumDF")


def _integers_as_text(table: pd.DataFrame) -> pd.DataFrame:
    """Count columns (parameters, df) as text, so they print without decimals."""
    out = table.copy()
    for column in _COUNT_COLUMNS:
        if column in out.columns:
            out[column] = ["" if pd.isna(v) else str(int(v)) for v in out[column]]
    return out


def _validate_type(type_) -> int:
    key = type_.strip().upper() if isinstance(type_, str) else type_
    if key not in _TYPES:
        raise InferenceError(f"type must be 3 ('III'), 2 ('II') or 1 ('I'), got {type_!r}")
    return _TYPES[key]


def _term_table(result, type_: int, ddf) -> AnovaTable:
    """lmerTest's single-model anova: one F test per fixed-effects term."""
    terms = term_columns(result)
    if type_ == 1:
        contrasts = type1_contrasts(result, terms)
    elif type_ == 2:
        contrasts = type2_contrasts(result, terms)
    else:
        contrasts = type3_contrasts(result, terms)
    rows = {}
    for name, L in contrasts.items():
        if L is None or L.shape[0] == 0:
            rows[term_label(name)] = dict.fromkeys(_F_COLUMNS, np.nan)
        else:
            rows[term_label(name)] = f_table_row(result, L, ddf)
    table = pd.DataFrame.from_dict(rows, orient="index", columns=_F_COLUMNS)
    if not table["NumDF"].isna().any():
        table["NumDF"] = table["NumDF"].astype(int)
    roman = {1: "I", 2: "II", 3: "III"}[type_]
    method = "Satterthwaite's" if ddf == "Satterthwaite" else "Kenward-Roger's"
    return AnovaTable(
        table=table, heading=f"Type {roman} Analysis of Variance Table with {method} method"
    )


def _check_same_data(results) -> None:
    nobs = [r.nobs for r in results]
    if len(set(nobs)) > 1:
        raise DesignError(
            "models were not all fitted to the same data: numbers of observations "
            f"{', '.join(map(str, nobs))}"
        )
    first = results[0].design
    for i, r in enumerate(results[1:], start=2):
        if not _same_response(first, r.design):
            raise DesignError(
                f"models were not all fitted to the same data: the response of model {i} "
                "differs from that of model 1"
            )


def _same_response(a, b) -> bool:
    """Whether two designs have the same response.

    Equal values; or, where a design keeps no rows (an out-of-core fit), the same number of
    rows and the same sum and sum of squares of the working response (to 1e-10).
    """
    if getattr(a, "has_rows", True) and getattr(b, "has_rows", True):
        return np.array_equal(np.asarray(a.y), np.asarray(b.y))
    return bool(np.allclose(a.response_sums(), b.response_sums(), rtol=1e-10, atol=0.0))


def _lrt_table(results, refit: bool) -> AnovaTable:
    """lme4's anova of several fits: likelihood-ratio tests between consecutive models."""
    from scipy import stats as sps

    _check_same_data(results)
    names = [f"m{i + 1}" for i in range(len(results))]
    fits = list(results)
    notes: tuple[str, ...] = ()
    if refit and any(r.reml for r in fits):
        warn(REFIT_MESSAGE, UserWarning)
        fits = [refit_ml(r) if r.reml else r for r in fits]
        notes = (REFIT_MESSAGE,)
    order = sorted(range(len(fits)), key=lambda i: fits[i].df)
    fits = [fits[i] for i in order]
    labels = [names[i] for i in order]
    npar = np.array([f.df for f in fits], dtype=int)
    loglik = np.array([f.loglik for f in fits])
    chisq = np.concatenate([[np.nan], 2.0 * np.maximum(0.0, np.diff(loglik))])
    dfs = np.concatenate([[np.nan], np.diff(npar).astype(float)])
    with np.errstate(invalid="ignore"):
        pvalue = np.where(dfs == 0, np.nan, sps.chi2.sf(chisq, np.where(dfs > 0, dfs, np.nan)))
    table = pd.DataFrame(
        {
            "npar": npar,
            "AIC": [f.aic for f in fits],
            "BIC": [f.bic for f in fits],
            "logLik": loglik,
            "deviance": -2.0 * loglik,
            "Chisq": chisq,
            "Df": dfs,
            "Pr(>Chisq)": pvalue,
        },
        index=pd.Index(labels, name=None),
    )
    lines = (
        "Models:",
        *(f"{label}: {f.model.formula}" for label, f in zip(labels, fits, strict=True)),
    )
    return AnovaTable(table=table, heading="Likelihood-ratio tests", lines=lines, notes=notes)


def anova(*results, type=3, ddf: str = "Satterthwaite", refit: bool = True) -> AnovaTable:
    """ANOVA table of one fit, or likelihood-ratio tests between several fits.

    Parameters
    ----------
    *results
        One :class:`~mixedmodels.results.LmerResult` for lmerTest's table of F tests (one per
        fixed-effects term; a categorical term with several columns is one test), or several
        fits of the same data for lme4's likelihood-ratio table.
    type
        ``3`` / ``"III"`` (default; any contrast coding), ``2`` / ``"II"`` or ``1`` / ``"I"``
        (sequential); one fit only.
    ddf
        ``"Satterthwaite"`` (default) or ``"Kenward-Roger"``; one fit only.
    refit
        Several fits: refit REML fits by maximum likelihood first (as lme4 does; a
        ``UserWarning`` says so).

    Returns
    -------
    AnovaTable
        One fit: columns ``Sum Sq``, ``Mean Sq``, ``NumDF``, ``DenDF``, ``F value``,
        ``Pr(>F)``. Several fits, ordered by number of parameters and labelled ``m1``, ``m2``,
        ... in the order given: ``npar``, ``AIC``, ``BIC``, ``logLik``, ``deviance``,
        ``Chisq``, ``Df``, ``Pr(>Chisq)``.

    Raises
    ------
    DesignError
        When fits were made on different data (numbers of observations or responses differ).
    InferenceError
        For unknown ``type`` / ``ddf`` values, or type III tests this module cannot form
        (see :func:`mixedmodels.inference.terms.type3_contrasts`).

    Examples
    --------
    >>> import mixedmodels as mm
    >>> data = mm.datasets.load("sleepstudy")
    >>> fit = mm.lmer("Reaction ~ Days + (Days | Subject)", data)
    >>> round(float(mm.anova(fit)["DenDF"].iloc[0]), 2)
    17.0
    """
    if not results:
        raise InferenceError("anova needs at least one fitted model")
    for i, r in enumerate(results, start=1):
        if not hasattr(r, "design") or not hasattr(r, "loglik"):
            raise InferenceError(
                f"argument {i} of anova is not a fitted model: {r.__class__.__name__}"
            )
    if len(results) == 1:
        if not hasattr(results[0], "sigma") or hasattr(results[0], "nAGQ"):
            raise InferenceError(
                "anova of one GLMM fit has no F tests: compare nested fits, anova(fit1, fit2), "
                "or use the Wald z tests of fit.coef_table"
            )
        return _term_table(results[0], _validate_type(type), validate_ddf(ddf))
    return _lrt_table(results, refit)
