"""The lme4-style summary report of a fitted model."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mixedmodels.errors import RowDataUnavailableError
from mixedmodels.inference.tests import coef_table
from mixedmodels.report import Report, Section

__all__ = ["build_summary", "random_effects_table"]


def random_effects_table(result) -> pd.DataFrame:
    """Groups, names, variances, SDs and correlations laid out as lme4 prints them."""
    rows = []
    vc = result.varcorr
    for label in dict.fromkeys(vc["grp"]):
        part = vc[vc["grp"] == label]
        variances = part[part["var2"].isna()]
        names = list(variances["var1"]) if label != "Residual" else [""]
        corr = part[part["var2"].notna()]
        for i, (_, row) in enumerate(variances.iterrows()):
            entry = {
                "Groups": label if i == 0 else "",
                "Name": names[i],
                "Variance": row["vcov"],
                "Std.Dev.": row["sdcor"],
            }
            for j in range(i):
                match = corr[(corr["var1"] == names[j]) & (corr["var2"] == names[i])]
                entry[f"Corr{j + 1}" if j else "Corr"] = (
                    f"{match['sdcor'].iloc[0]:.2f}" if len(match) else ""
                )
            rows.append(entry)
    table = pd.DataFrame(rows).fillna("")
    empty = [c for c in table.columns if c.startswith("Corr") and not (table[c] != "").any()]
    return table.drop(columns=empty)  # a structure's unused pairs (ar1: only lag 1 shown)


def abbreviate(name: str, length: int = 6) -> str:
    """Shorten a name as R's ``abbreviate`` does for lme4's correlation table.

    Lower-case vowels are dropped from the right, then lower-case letters, then the name is
    cut: ``(Intercept)`` becomes ``(Intr)``.
    """
    chars = list(name)
    for drop in ("aeiou", "abcdefghijklmnopqrstuvwxyz"):
        i = len(chars) - 1
        while len(chars) > length and i > 0:
            if chars[i] in drop and chars[i - 1] != " ":
                del chars[i]
            i -= 1
    return "".join(chars)[:length] if len(chars) > length else "".join(chars)


def _fixed_table(result, ddf: str | None) -> pd.DataFrame:
    if ddf is None:
        return result.coef_table

    return coef_table(result, ddf=ddf)


def build_summary(result, ddf: str | None = None) -> Report:
    """Build the :class:`~mixedmodels.report.Report` for ``result.summary()``."""
    kind = "REML" if result.reml else "maximum likelihood"
    criterion = (
        f"REML criterion at convergence: {result.reml_criterion:.4f}"
        if result.reml
        else f"AIC {result.aic:.4f}  BIC {result.bic:.4f}  logLik {result.loglik:.4f}  "
        f"deviance {result.deviance:.4f}"
    )
    design = result.design
    try:
        scaled = result.residuals.to_numpy() / result.sigma
    except RowDataUnavailableError:  # an out-of-core fit keeps no rows
        scaled = None
    zero = getattr(design, "zero_weight", None)
    if scaled is not None and zero is not None:  # as lm's summary: the fit's rows only
        scaled = zero.fit_rows(scaled)
    if scaled is not None and design.weights is not None:  # lme4's Pearson residuals
        scaled = scaled * np.sqrt(design.weights)
    if scaled is not None:
        quantiles = np.quantile(scaled, [0, 0.25, 0.5, 0.75, 1.0])
        resid = pd.DataFrame([quantiles], columns=["Min", "1Q", "Median", "3Q", "Max"])
    groups = ", ".join(f"{name}, {count}" for name, count in result.ngrps.items())
    obs_line = f"Number of obs: {result.nobs}, groups:  {groups}"
    if design.n_dropped:
        obs_line += f" ({design.n_dropped} rows with missing values dropped)"
    if zero is not None:
        obs_line += f" ({zero.n} rows with weight 0 not in the fit, given fitted values)"
    sections = [
        Section(lines=(f"Formula: {result.model.formula}", criterion)),
        *([] if scaled is None else [Section(title="Scaled residuals", table=resid, index=False)]),
        Section(title="Random effects", table=random_effects_table(result), index=False, lines=()),
        Section(lines=(obs_line,)),
        Section(title="Fixed effects", table=_fixed_table(result, ddf)),
    ]
    p = result.n_fixed
    if 1 < p <= 20:
        vcov = result.vcov.to_numpy()
        sd = np.sqrt(np.diag(vcov))
        corr = vcov / np.outer(sd, sd)
        short = [abbreviate(n) for n in result.fixef.index]
        table = pd.DataFrame(
            [[corr[i, j] if j < i else np.nan for j in range(p - 1)] for i in range(1, p)],
            index=list(result.fixef.index[1:]),
            columns=short[: p - 1],
        )
        sections.append(Section(title="Correlation of Fixed Effects", table=table, digits=3))
    notes = []
    if design.dropped_names:
        notes.append(
            "fixed-effect model matrix is rank deficient so dropping "
            f"{len(design.dropped_names)} column(s): {', '.join(design.dropped_names)}"
        )
    if result.is_singular:
        notes.append("boundary (singular) fit: a variance is zero or a correlation is +-1")
    notes.extend(result.optsum.messages)
    heading = f"Linear mixed model fit by {kind}"
    if ddf is not None:  # lmerTest's heading: which df method the t-tests use
        from mixedmodels.inference.tests import validate_ddf

        heading += f". t-tests use {_DF_METHOD[validate_ddf(ddf)]} method"
    return Report(heading=heading, sections=tuple(sections), notes=tuple(notes))


_DF_METHOD = {"Satterthwaite": "Satterthwaite's", "Kenward-Roger": "Kenward-Roger's"}
