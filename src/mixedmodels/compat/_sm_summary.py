"""statsmodels' MixedLM summary layout: a key/value block above one table of estimates."""

from __future__ import annotations

import html
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import norm

__all__ = ["MixedLMSummary", "build_summary"]


@dataclass(frozen=True)
class MixedLMSummary:
    """A rendered summary: title, model facts and the table of estimates.

    Attributes
    ----------
    title
        Heading line.
    info
        ``(key, value)`` pairs shown in two columns.
    table
        Formatted estimates (strings), one row per parameter.
    """

    title: str
    info: tuple[tuple[str, str], ...]
    table: pd.DataFrame

    @property
    def tables(self) -> list[pd.DataFrame]:
        """The info block and the table, as statsmodels' ``Summary.tables``."""
        half = (len(self.info) + 1) // 2
        left, right = list(self.info[:half]), list(self.info[half:])
        right += [("", "")] * (len(left) - len(right))
        rows = [(a, b, c, d) for (a, b), (c, d) in zip(left, right, strict=True)]
        return [pd.DataFrame(rows), self.table]

    def as_text(self) -> str:
        """Plain text, laid out like statsmodels' ``summary2``."""
        info = self.tables[0].to_numpy()
        info_widths = [max(len(str(v)) for v in info[:, j]) for j in range(4)]
        info_lines = [
            " ".join(str(v).ljust(w) for v, w in zip(row, info_widths, strict=True)) for row in info
        ]
        names = [str(i) for i in self.table.index]
        name_width = max(len(n) for n in names)
        widths = [max(len(str(c)), *(len(v) for v in self.table[c])) for c in self.table.columns]
        header = (
            " " * name_width
            + " "
            + " ".join(str(c).rjust(w) for c, w in zip(self.table.columns, widths, strict=True))
        )
        rows = [
            name.ljust(name_width)
            + " "
            + " ".join(v.rjust(w) for v, w in zip(vals, widths, strict=True))
            for name, vals in zip(names, self.table.to_numpy(), strict=True)
        ]
        width = max(len(header), *(len(line) for line in info_lines))
        return "\n".join(
            [
                self.title.center(width).rstrip(),
                "=" * width,
                *info_lines,
                "-" * width,
                header,
                "-" * width,
                *rows,
                "=" * width,
                "",
            ]
        )

    def as_html(self) -> str:
        """HTML tables (for notebooks)."""
        info = self.tables[0].to_html(index=False, header=False, escape=True)
        return (
            f"<div><strong>{html.escape(self.title)}</strong>{info}"
            f"{self.table.to_html(escape=True)}</div>"
        )

    def _repr_html_(self) -> str:
        return self.as_html()

    def __str__(self) -> str:
        return self.as_text()

    __repr__ = __str__


def _fmt(value: float) -> str:
    return f"{value:.3f}" if np.isfinite(value) else ""


def build_summary(result, yname=None, xname_fe=None, xname_re=None, title=None, alpha=0.05):
    """statsmodels' ``MixedLMResults.summary`` for a facade result.

    Returns
    -------
    statsmodels.iolib.summary2.Summary or MixedLMSummary
        statsmodels' ``Summary`` when statsmodels is importable, else :class:`MixedLMSummary`
        (the same layout in text).
    """
    model = result.model
    names = list(model.param_names)
    k_fe = model.k_fe
    if xname_fe is not None:
        if len(xname_fe) != k_fe:
            raise ValueError(f"xname_fe should be a list of length {k_fe}")
        names[:k_fe] = list(xname_fe)
    if xname_re is not None:
        if len(xname_re) != len(names) - k_fe:
            raise ValueError(f"xname_re should be a list of length {len(names) - k_fe}")
        names[k_fe:] = list(xname_re)
    sizes = result._group_sizes
    info = (
        ("Model:", "MixedLM"),
        ("No. Observations:", str(model.nobs)),
        ("No. Groups:", str(model.n_groups)),
        ("Min. group size:", f"{sizes.min():.0f}"),
        ("Max. group size:", f"{sizes.max():.0f}"),
        ("Mean group size:", f"{sizes.mean():.1f}"),
        ("Dependent Variable:", yname or model.endog_names),
        ("Method:", result.method),
        ("Scale:", f"{result.scale:.4f}"),
        ("Log-Likelihood:", f"{result.llf:.4f}"),
        ("Converged:", "Yes" if result.converged else "No"),
    )
    fe = np.asarray(result.fe_params, dtype=float)
    se = np.asarray(result.bse_fe, dtype=float)
    z = fe / np.where(se > 0, se, np.nan)
    q = -norm.ppf(alpha / 2)
    rows = [
        [c, s, zz, 2 * norm.sf(abs(zz)), c - q * s, c + q * s]
        for c, s, zz in zip(fe, se, z, strict=True)
    ]
    cov_re = np.asarray(result.cov_re, dtype=float)
    estimates = list(cov_re[np.tril_indices(model.k_re)]) + list(np.asarray(result.vcomp))
    for value, err in zip(estimates, np.asarray(result.bse_re, dtype=float), strict=True):
        rows.append([value, err, np.nan, np.nan, np.nan, np.nan])
    columns = ["Coef.", "Std.Err.", "z", "P>|z|", f"[{alpha / 2}", f"{1 - alpha / 2}]"]
    table = pd.DataFrame([[_fmt(v) for v in row] for row in rows], index=names, columns=columns)
    title = title or "Mixed Linear Model Regression Results"
    try:
        from statsmodels.iolib import summary2
    except ImportError:
        return MixedLMSummary(title, info, table)
    # statsmodels' own Summary (as_text, as_html, as_latex, tables), filled as statsmodels
    # fills it: the scale and the log-likelihood go in as numbers, formatted by Summary
    smry = summary2.Summary()
    smry.add_title(title)
    values = dict(info)
    values["Scale:"], values["Log-Likelihood:"] = result.scale, result.llf
    smry.add_dict(values)
    smry.add_df(table, align="r")
    return smry
