"""The lme4-style summary of a fitted GLMM (``summary(glmer(...))``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mixedmodels.report import Report, Section
from mixedmodels.summary import abbreviate, random_effects_table

__all__ = ["build_summary"]


def _method(n_agq: int) -> str:
    if n_agq == 0:
        return "Laplace Approximation, nAGQ = 0 (beta from PIRLS)"
    if n_agq == 1:
        return "Laplace Approximation"
    return f"Adaptive Gauss-Hermite Quadrature, nAGQ = {n_agq}"


def build_summary(result) -> Report:
    """The :class:`~mixedmodels.report.Report` of ``result.summary()``."""
    family = result.family
    criteria = pd.DataFrame(
        [[result.aic, result.bic, result.loglik, result.minus2loglik, result.nobs - result.df]],
        columns=["AIC", "BIC", "logLik", "-2*log(L)", "df.resid"],
    )
    resid = result.residuals("pearson").to_numpy()
    quantiles = pd.DataFrame(
        [np.quantile(resid, [0, 0.25, 0.5, 0.75, 1.0])],
        columns=["Min", "1Q", "Median", "3Q", "Max"],
    )
    groups = ", ".join(f"{name}, {count}" for name, count in result.ngrps.items())
    obs_line = f"Number of obs: {result.nobs}, groups:  {groups}"
    if result.design.n_dropped:
        obs_line += f" ({result.design.n_dropped} rows with missing values dropped)"
    sections = [
        Section(
            lines=(
                f" Family: {family.name}  ( {family.link.name} )",
                f"Formula: {result.model.formula}",
            )
        ),
        Section(table=criteria, index=False),
        Section(title="Scaled residuals", table=quantiles, index=False),
        Section(title="Random effects", table=random_effects_table(result), index=False),
        Section(lines=(obs_line,)),
        Section(title="Fixed effects", table=result.coef_table),
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
    if result.design.dropped_names:
        notes.append(
            "fixed-effect model matrix is rank deficient so dropping "
            f"{len(result.design.dropped_names)} column(s): "
            + ", ".join(result.design.dropped_names)
        )
    if result.is_singular:
        notes.append("boundary (singular) fit: a variance is zero or a correlation is +-1")
    notes.extend(result.optsum.messages)
    heading = f"Generalized linear mixed model fit by maximum likelihood ({_method(result.nAGQ)})"
    return Report(heading=heading, sections=tuple(sections), notes=tuple(notes))
