"""Estimated marginal means and their contrasts, as the R package emmeans computes them.

The *reference grid* holds every combination of the levels of the model's factors, with each
numeric covariate at its mean over the rows used in the fit (emmeans' defaults; ``at=`` sets
other values). The marginal mean of a level of ``specs`` (within a ``by`` group) is the
prediction of the fixed part averaged over the other factors' levels with equal weights, so it
is a linear function ``l' beta``; its standard error is ``sqrt(l' V l)``.

Denominator df, as emmeans for ``lmer`` fits: Kenward-Roger by default (``V`` is then
pbkrtest's adjusted covariance and each row's df pbkrtest's ``Lb_ddf``), Satterthwaite on
request (``V`` is ``vcov(beta)``, df lmerTest's), or ``"asymptotic"`` (z tests, the only choice
for fits that are not linear mixed models).

>>> import mixedmodels as mm
>>> data = mm.datasets.load("penicillin")
>>> fit = mm.lmer("diameter ~ sample + (1 | plate)", data)
>>> emm = fit.emmeans("sample")
>>> round(float(emm.table["emmean"].iloc[0]), 4)
25.1667
>>> emm.pairs().table["contrast"].iloc[0]
'A - B'
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from mixedmodels.errors import InferenceError
from mixedmodels.inference.emm_tables import (
    ContrastTable,
    _asymptotic_names,
    _check_type,
    _contrast_labels,
    _contrast_weights,
    _family_groups,
    _infer,
    _link,
    _response_means,
    _table_frame,
)
from mixedmodels.inference.linear_inference import LinearInference, _Regridded
from mixedmodels.inference.multiplicity import Family, validate_adjust
from mixedmodels.inference.reference_grid import (
    _grid_from,
    _grid_matrix,
    _model_variables,
    reference_grid,
)
from mixedmodels.report import Rendered, Report

__all__ = ["EmmGrid", "ContrastTable", "emmeans", "reference_grid", "LinearInference"]

_DEFAULT_ADJUST = {
    "pairwise": "tukey",
    "revpairwise": "tukey",
    "trt.vs.ctrl": "dunnettx",
    "consec": "mvt",
    "eff": "fdr",
    "poly": "none",
}


# -- the inference of linear functions of beta --------------------------------------------------


# -- the reference grid ---------------------------------------------------------------------


def _as_list(names) -> list[str]:
    if names is None:
        return []
    if isinstance(names, str):
        return [n.strip() for n in re.split(r"[:*]", names) if n.strip()]
    return [str(n) for n in names]


# -- marginal means -------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class EmmGrid(Rendered):
    """Estimated marginal means: one linear function of the fixed effects per row.

    Attributes
    ----------
    inference
        The covariance and df method used.
    specs, by
        The variables of the means and of the groups they are compared within.
    levels
        The levels of ``specs`` and ``by`` of every row (a DataFrame).
    L
        The linear functions, ``(rows, p)``.
    adjust, level
        The default multiplicity adjustment and confidence level of :attr:`table`.
    """

    inference: LinearInference
    specs: tuple[str, ...]
    by: tuple[str, ...]
    levels: pd.DataFrame
    L: np.ndarray
    adjust: str = "none"
    level: float = 0.95
    grid_notes: tuple[str, ...] = field(default_factory=tuple)
    L_full: np.ndarray | None = None  # the rows in all columns, dropped ones too
    value_name: str = "emmean"  # "prob", "rate" or "response" after regrid()

    @cached_property
    def _estimates(self) -> pd.DataFrame:
        return self.inference.estimate(self.L, self.inference.estimable(self.L_full))

    def regrid(self) -> EmmGrid:
        """The means on the response scale as a new grid (emmeans' ``regrid``).

        Means ``linkinv(eta)``, their covariance by the delta method
        ``D L V L' D`` (``D = diag(mu_eta(eta))``); contrasts of the new grid are differences
        of probabilities (or rates, ...), z tests with null value 0. For a GLMM only.
        """
        from mixedmodels.inference.estimability import Aliasing

        if self.value_name != "emmean":
            return self
        family, link = _link(self.inference.result)
        estimable = self.inference.estimable(self.L_full)
        eta = self._estimates["estimate"].to_numpy(dtype=float)
        ok = np.isfinite(eta) if estimable is None else np.asarray(estimable)
        eta = np.where(ok, eta, 0.0)
        slope = np.where(ok, link.mu_eta(eta), 0.0)
        cov = self.inference.covariance(self.L)
        cov = slope[:, None] * cov * slope[None, :]
        k = len(eta)
        names = [str(i) for i in range(k)]
        estimates = _Regridded(
            fixef=pd.Series(np.where(ok, link.linkinv(eta), 0.0), index=names),
            vcov=pd.DataFrame(cov, index=names, columns=names),
        )
        aliasing = None
        if not ok.all():
            aliasing = Aliasing(
                dropped=np.flatnonzero(~ok), kept=np.flatnonzero(ok), null_basis=np.eye(k)[:, ~ok]
            )
        inference = LinearInference(
            estimates, "asymptotic", self.inference.notes, aliasing=aliasing
        )
        name = {"binomial": "prob", "poisson": "rate"}.get(str(getattr(family, "name", "")))
        return EmmGrid(
            inference=inference,
            specs=self.specs,
            by=self.by,
            levels=self.levels,
            L=np.eye(k),
            adjust=self.adjust,
            level=self.level,
            grid_notes=self.grid_notes,
            L_full=np.eye(k) if aliasing is not None else None,
            value_name=name or "response",
        )

    def _cov(self, adjust: str) -> np.ndarray | None:
        if adjust != "mvt":
            return None
        return self.inference.covariance(self.L, self.inference.estimable(self.L_full))

    @cached_property
    def _by_codes(self) -> np.ndarray:
        if not self.by:
            return np.zeros(len(self.levels), dtype=int)
        keys = self.levels[list(self.by)].astype(str).agg("\x1f".join, axis=1)
        return pd.factorize(keys)[0]

    def summary(
        self, adjust: str | None = None, level: float | None = None, type: str = "link"
    ) -> pd.DataFrame:
        """The means with SE, df, confidence limits, t ratio and p-value (null value 0).

        Parameters
        ----------
        adjust
            Multiplicity adjustment within each ``by`` group (default ``"none"``).
        level
            Confidence level (default 0.95).
        type
            ``"link"`` (the linear predictor) or, for a GLMM, ``"response"``: means and limits
            back-transformed by the inverse link, standard errors by the delta method, tests
            as on the link scale (emmeans' ``type = "response"``). z tests use emmeans' column
            names (``asymp.LCL``, ``asymp.UCL``, ``z.ratio``).
        """
        _check_type(type)
        adjust = validate_adjust(self.adjust if adjust is None else adjust)
        groups = _family_groups(self._by_codes)
        family = Family(groups=groups, n_means=max(len(g) for g in groups), pairwise=False)
        frame = _table_frame(self.levels, self._estimates, self.value_name)
        notes: list[str] = []
        out, _, _ = _infer(
            frame,
            self.value_name,
            family,
            adjust,
            self.level if level is None else level,
            notes,
            self._cov(adjust),
        )
        if type == "response" and self.value_name == "emmean":
            out = _response_means(self.inference.result, out)
        return _asymptotic_names(out, self.inference)

    @cached_property
    def table(self) -> pd.DataFrame:
        """:meth:`summary` with the grid's defaults."""
        return self.summary()

    def to_frame(self) -> pd.DataFrame:
        """A copy of :attr:`table`."""
        return self.table.copy()

    def contrast(
        self,
        method="pairwise",
        adjust: str | None = None,
        ref=0,
        level: float | None = None,
    ) -> ContrastTable:
        """Contrasts of the means within each ``by`` group (emmeans' ``contrast``).

        Parameters
        ----------
        method
            ``"pairwise"`` (every pair, first minus second), ``"revpairwise"`` (second minus
            first), ``"trt.vs.ctrl"`` (every level minus the reference ``ref``), ``"consec"``
            (each level minus the previous one), ``"eff"`` (each level minus the average of
            all), ``"poly"`` (orthogonal polynomials with integer coefficients, linear to
            degree 6), or custom contrasts: a dict mapping a name to one weight per mean of a
            group, or a DataFrame with one column per contrast.
        adjust
            ``"tukey"``, ``"dunnettx"``, ``"mvt"``, ``"sidak"``, ``"bonferroni"``, ``"holm"``,
            ``"fdr"`` or ``"none"``; by default Tukey for pairwise, dunnettx for trt.vs.ctrl,
            mvt for consec, fdr for eff and none for poly and custom contrasts (emmeans'
            defaults).
        ref
            The control of ``trt.vs.ctrl``: a position or a level label.
        level
            Confidence level.

        Returns
        -------
        ContrastTable
        """
        groups = _family_groups(self._by_codes)
        sizes = {len(g) for g in groups}
        if len(sizes) != 1:
            raise InferenceError("the by groups have different numbers of means")
        k = sizes.pop()
        first = self.levels.iloc[list(groups[0])]
        labels = _contrast_labels(first, self.specs)
        names, weights, kind = _contrast_weights(method, labels, ref)
        if weights.shape[1] != k:
            raise InferenceError(
                f"custom contrasts need {k} weights (one per mean of a group), got "
                f"{weights.shape[1]}"
            )
        rows, full_rows, level_rows, by_codes = [], [], [], []
        for g_index, group in enumerate(groups):
            Lg = self.L[list(group)]
            rows.append(weights @ Lg)
            if self.L_full is not None:
                full_rows.append(weights @ self.L_full[list(group)])
            for name in names:
                entry = {"contrast": name}
                for b in self.by:
                    entry[b] = self.levels.iloc[group[0]][b]
                level_rows.append(entry)
                by_codes.append(g_index)
        L = np.vstack(rows)
        default = _DEFAULT_ADJUST.get(kind, "none")
        return ContrastTable(
            inference=self.inference,
            by=self.by,
            levels=pd.DataFrame(level_rows),
            L=L,
            by_codes=np.asarray(by_codes),
            n_means=k,
            pairwise=kind in ("pairwise", "revpairwise"),
            adjust=validate_adjust(default if adjust is None else adjust),
            level=self.level if level is None else level,
            method=kind,
            L_full=np.vstack(full_rows) if full_rows else None,
        )

    def pairs(self, adjust: str | None = None, level: float | None = None) -> ContrastTable:
        """Every pairwise difference (emmeans' ``pairs``), Tukey-adjusted by default."""
        return self.contrast("pairwise", adjust=adjust, level=level)

    @property
    def report(self) -> Report:
        """The printed form."""
        method = self.inference.method
        notes = [*self.grid_notes, *self.inference.notes, f"Degrees-of-freedom method: {method}"]
        notes.append(f"Confidence level used: {self.level:g}")
        return Report.from_frame(
            "Estimated marginal means", self.table, notes=tuple(notes), index=False
        )

    def to_text(self) -> str:
        """Plain text."""
        return self.report.to_text()

    def to_html(self) -> str:
        """HTML."""
        return self.report.to_html()

    def to_markdown(self) -> str:
        """Markdown."""
        return self.report.to_markdown()


def emmeans(
    result,
    specs: str | Sequence[str],
    by: str | Sequence[str] | None = None,
    ddf: str | None = None,
    at: Mapping | None = None,
    level: float = 0.95,
) -> EmmGrid:
    """Estimated marginal means of a fit (emmeans' ``emmeans``).

    Parameters
    ----------
    result
        A fitted model.
    specs
        The variable(s) whose levels get a mean: ``"f"``, ``["f", "g"]`` or ``"f:g"`` (every
        combination).
    by
        Variable(s) within whose levels the means are grouped (and contrasts taken).
    ddf
        ``"Kenward-Roger"`` (default, as emmeans), ``"Satterthwaite"`` or ``"asymptotic"``.
    at
        Values of the grid other than the defaults (factor-level subsets, covariate values).
    level
        Confidence level of the intervals.

    Returns
    -------
    EmmGrid
        ``.table`` has one row per mean: the levels, ``emmean``, ``SE``, ``df``,
        ``lower.CL``, ``upper.CL``, ``t.ratio``, ``p.value``; ``.pairs()`` and
        ``.contrast(...)`` compare them.

    Raises
    ------
    InferenceError
        For a variable that is not a factor or covariate of the fixed part, or an unknown
        ``ddf``.

    Notes
    -----
    Of a rank-deficient fixed-effects design (columns dropped), a mean or contrast that is not
    estimable is NA, as emmeans reports ``nonEst`` (:mod:`mixedmodels.inference.estimability`).
    """
    spec_names, by_names = _as_list(specs), _as_list(by)
    if not spec_names:
        raise InferenceError("specs must name at least one variable")
    overlap = set(spec_names) & set(by_names)
    if overlap:
        raise InferenceError(f"{sorted(overlap)} are in both specs and by")
    from dataclasses import replace

    from mixedmodels.inference.estimability import aliasing

    inference = LinearInference.for_fit(result, ddf)
    aliases = aliasing(result)
    if aliases is not None:
        inference = replace(inference, aliasing=aliases)
    variables = _model_variables(result, at)
    keys = spec_names + by_names
    for name in keys:
        if name not in variables.factors and name not in variables.covariates:
            known = sorted([*variables.factors, *variables.covariates])
            raise InferenceError(
                f"{name!r} is not a variable of the fixed part; the variables are "
                f"{', '.join(known) or 'none'}"
            )
    # a covariate named in specs or by is a one-value dimension of the grid
    for name in keys:
        if name in variables.covariates:
            variables.factors[name] = [variables.covariates.pop(name)]
    grid = _grid_from(variables)
    X_full = _grid_matrix(result, grid, variables)
    X = X_full[:, np.asarray(result.design.kept_columns)]
    # the means: average of the grid rows over the other factors, first key fastest
    key_levels = [variables.factors[k] for k in keys]
    combos = list(itertools.product(*reversed(key_levels)))
    rows, full_rows, level_rows = [], [], []
    for combo in combos:
        values = dict(zip(reversed(keys), combo, strict=True))
        mask = np.ones(len(grid), dtype=bool)
        for k, v in values.items():
            mask &= grid[k].to_numpy() == v
        rows.append(X[mask].mean(axis=0))
        full_rows.append(X_full[mask].mean(axis=0))
        level_rows.append({k: values[k] for k in keys})
    levels = pd.DataFrame(level_rows, columns=keys)
    return EmmGrid(
        inference=inference,
        specs=tuple(spec_names),
        by=tuple(by_names),
        levels=levels,
        L=np.vstack(rows),
        level=level,
        L_full=np.vstack(full_rows) if aliases is not None else None,
    )
