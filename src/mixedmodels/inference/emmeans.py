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
from mixedmodels.inference.multiplicity import Family, adjust_p, critical_values, validate_adjust
from mixedmodels.report import Rendered, Report
from mixedmodels.rfunctions import R_CONTEXT

__all__ = ["EmmGrid", "ContrastTable", "emmeans", "reference_grid", "LinearInference"]

_DDF = {
    "kenward-roger": "Kenward-Roger",
    "kr": "Kenward-Roger",
    "satterthwaite": "Satterthwaite",
    "asymptotic": "asymptotic",
}
_DEFAULT_ADJUST = {"pairwise": "tukey", "revpairwise": "tukey", "trt.vs.ctrl": "dunnettx"}
_PARENS = re.compile(r"-|\+|/|\*")
_IDENTIFIER = re.compile(r"[A-Za-z_.][A-Za-z0-9_.]*")


# -- the inference of linear functions of beta --------------------------------------------------
@dataclass(frozen=True, eq=False)
class LinearInference:
    """Covariance and df of linear functions ``L beta`` under one df method.

    Attributes
    ----------
    result
        The fit.
    method
        ``"Kenward-Roger"``, ``"Satterthwaite"`` or ``"asymptotic"``.
    notes
        Why another method than the one asked for is used, if it is.
    """

    result: object
    method: str
    notes: tuple[str, ...] = ()

    @classmethod
    def for_fit(cls, result, ddf: str | None) -> LinearInference:
        """emmeans' choice: Kenward-Roger unless asked otherwise or unavailable."""
        key = "kenward-roger" if ddf is None else str(ddf).strip().lower().replace("_", "-")
        if key not in _DDF:
            raise InferenceError(
                f"ddf must be 'Kenward-Roger', 'Satterthwaite' or 'asymptotic', got {ddf!r}"
            )
        method = _DDF[key]
        if not _is_linear_mixed(result):
            if method != "asymptotic" and ddf is not None:
                raise InferenceError(f"{method} df are only defined for linear mixed models")
            return cls(result, "asymptotic")
        if method == "Kenward-Roger" and (not result.reml or result.design.weights is not None):
            why = "an ML fit" if not result.reml else "a fit with prior weights"
            note = f"Kenward-Roger is not available for {why}: Satterthwaite df used"
            return cls(result, "Satterthwaite", (note,))
        return cls(result, method)

    @cached_property
    def vcov(self) -> np.ndarray:
        """The covariance used for standard errors (Kenward-Roger's adjusted one for KR)."""
        if self.method == "Kenward-Roger":
            from mixedmodels.inference.kenward_roger import kenward_roger_info

            return kenward_roger_info(self.result).vcov_adjusted
        return np.asarray(self.result.vcov, dtype=float)

    def df(self, L: np.ndarray) -> np.ndarray:
        """Denominator df of every row of ``L``."""
        L = np.atleast_2d(L)
        if self.method == "asymptotic":
            return np.full(L.shape[0], np.inf)
        if self.method == "Kenward-Roger":
            from mixedmodels.inference.kenward_roger import kenward_roger_info

            info = kenward_roger_info(self.result)
            return np.array([info.df(row) if np.any(row) else np.nan for row in L])
        from mixedmodels.inference.satterthwaite import contrast_df, satterthwaite_info

        info = satterthwaite_info(self.result)
        return np.array([contrast_df(info, row) if np.any(row) else np.nan for row in L])

    def estimate(self, L: np.ndarray) -> pd.DataFrame:
        """Estimate, SE and df of every row of ``L``."""
        beta = np.asarray(self.result.fixef, dtype=float)
        se = np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", L, self.vcov, L), 0.0))
        return pd.DataFrame({"estimate": L @ beta, "SE": se, "df": self.df(L)})


def _is_linear_mixed(result) -> bool:
    family = getattr(result, "family", None)
    name = getattr(family, "name", family)
    return family is None or str(name).lower() == "gaussian"


# -- the reference grid ---------------------------------------------------------------------
@dataclass(frozen=True)
class _Variables:
    factors: dict[str, list]  # variable -> levels, in the model's order
    covariates: dict[str, float]  # variable -> value of the grid


def _model_variables(result, at: Mapping | None) -> _Variables:
    design = result.design
    spec = design.fixed_spec
    required = sorted(str(v) for v in spec.required_variables)
    state = getattr(spec, "encoder_state", {}) or {}
    factors: dict[str, list] = {}
    for expr, (kind, info) in state.items():
        if getattr(kind, "value", kind) != "categorical":
            continue
        expr = str(expr)
        if expr in required:
            name = expr
        else:
            names = [v for v in dict.fromkeys(_IDENTIFIER.findall(expr)) if v in required]
            if len(names) != 1:
                raise InferenceError(
                    f"cannot tell which variable the categorical term {expr!r} codes"
                )
            name = names[0]
        factors.setdefault(name, list(info["categories"]))
    means = dict(getattr(design, "covariate_means", {}) or {})
    covariates = {}
    at = dict(at or {})
    for name in required:
        if name in factors:
            continue
        if name in at:
            continue
        if name not in means:
            raise InferenceError(
                f"the mean of covariate {name!r} is unknown for this fit: give its value in at="
            )
        covariates[name] = means[name]
    for name, value in at.items():
        if name in factors:
            values = list(np.atleast_1d(value)) if not isinstance(value, str) else [value]
            unknown = [v for v in values if v not in factors[name]]
            if unknown:
                raise InferenceError(
                    f"at= gives level(s) {unknown!r} of {name!r}, which has levels "
                    f"{factors[name]!r}"
                )
            factors[name] = values
        elif name in required:
            values = np.atleast_1d(np.asarray(value, dtype=float))
            if values.size == 1:
                covariates[name] = float(values[0])
            else:
                factors[name] = list(values)  # several values: a dimension of the grid
        else:
            raise InferenceError(f"at= names {name!r}, which is not a fixed-effect variable")
    return _Variables(factors=factors, covariates=covariates)


def reference_grid(result, at: Mapping | None = None) -> pd.DataFrame:
    """emmeans' reference grid: every combination of factor levels, covariates at their means.

    The first factor varies fastest (R's ``expand.grid``).

    Parameters
    ----------
    result
        A fitted model (anything with ``design.fixed_spec`` and ``design.covariate_means``).
    at
        Values to use instead: a level subset for a factor, one or several values for a
        covariate.

    Returns
    -------
    pandas.DataFrame
        One row per grid point, one column per fixed-effect variable.
    """
    return _grid_from(_model_variables(result, at))


def _grid_matrix(result, grid: pd.DataFrame, variables: _Variables) -> np.ndarray:
    spec = result.design.fixed_spec
    state = getattr(spec, "encoder_state", {}) or {}
    data = grid.copy()
    categorical = {}
    for expr, (kind, info) in state.items():
        if getattr(kind, "value", kind) == "categorical" and str(expr) in data.columns:
            categorical[str(expr)] = list(info["categories"])
    for name, levels in categorical.items():
        data[name] = pd.Categorical(data[name], categories=levels)
    matrix = np.asarray(
        spec.get_model_matrix(data, na_action="ignore", context=R_CONTEXT), dtype=float
    )
    return matrix[:, np.asarray(result.design.kept_columns)]


def _label(value) -> str:
    """A level as R prints it (``0`` for 0.0, ``0.2``), parenthesised as emmeans does."""
    if isinstance(value, (float, np.floating)):
        text = str(int(value)) if float(value).is_integer() else format(float(value), ".15g")
    else:
        text = str(value)
    return f"({text})" if _PARENS.search(text) else text


def _is_number(value) -> bool:
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return True
    try:
        float(str(value))
    except ValueError:
        return False
    return True


def _contrast_labels(levels: pd.DataFrame, specs: Sequence[str]) -> list[str]:
    """One label per mean; numeric levels get their variable's name (emmeans' enhance.levels)."""
    parts = []
    for name in specs:
        values = list(levels[name])
        prefix = name if all(_is_number(v) for v in values) else ""
        parts.append([prefix + _label(v) for v in values])
    return [" ".join(p) for p in zip(*parts, strict=True)]


def _as_list(names) -> list[str]:
    if names is None:
        return []
    if isinstance(names, str):
        return [n.strip() for n in re.split(r"[:*]", names) if n.strip()]
    return [str(n) for n in names]


# -- marginal means -------------------------------------------------------------------------
def _table_frame(levels: pd.DataFrame, est: pd.DataFrame, value_name: str) -> pd.DataFrame:
    out = levels.reset_index(drop=True).copy()
    out[value_name] = est["estimate"].to_numpy()
    out["SE"] = est["SE"].to_numpy()
    out["df"] = est["df"].to_numpy()
    return out


def _infer(frame, value_name, family, adjust, level, notes):
    """Add intervals, t ratios and p-values to a table of estimates."""
    estimate = frame[value_name].to_numpy()
    se = frame["SE"].to_numpy()
    df = frame["df"].to_numpy(dtype=float)
    cv, ci_method, ci_note = critical_values(df, level, adjust, family)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = estimate / se
    p, p_method, p_note = adjust_p(t, df, adjust, family)
    out = frame.copy()
    out["lower.CL"] = estimate - cv * se
    out["upper.CL"] = estimate + cv * se
    out["t.ratio"] = t
    out["p.value"] = p
    for note in (ci_note, p_note):
        if note and note not in notes:
            notes.append(note)
    return out, p_method, ci_method


_ASYMPTOTIC_NAMES = {"lower.CL": "asymp.LCL", "upper.CL": "asymp.UCL", "t.ratio": "z.ratio"}


def _asymptotic_names(table: pd.DataFrame, inference: LinearInference) -> pd.DataFrame:
    """emmeans' column names for z tests: ``asymp.LCL``, ``asymp.UCL``, ``z.ratio``."""
    if inference.method != "asymptotic":
        return table
    return table.rename(columns=_ASYMPTOTIC_NAMES)


def _link(result):
    family = getattr(result, "family", None)
    link = getattr(family, "link", None)
    if link is None:
        raise InferenceError("type='response' needs a fit with a link function (a GLMM)")
    return family, link


def _response_means(result, table: pd.DataFrame) -> pd.DataFrame:
    """Means back-transformed: ``linkinv`` of the estimate and limits, delta-method SE."""
    family, link = _link(result)
    name = {"binomial": "prob", "poisson": "rate"}.get(str(getattr(family, "name", "")), "response")
    eta = table["emmean"].to_numpy(dtype=float)
    out = table.rename(columns={"emmean": name}).copy()
    out[name] = link.linkinv(eta)
    out["SE"] = np.abs(link.mu_eta(eta)) * table["SE"].to_numpy(dtype=float)
    for column in ("lower.CL", "upper.CL"):
        out[column] = link.linkinv(table[column].to_numpy(dtype=float))
    out.insert(out.columns.get_loc("t.ratio"), "null", float(link.linkinv(np.array(0.0))))
    return out


def _response_contrasts(result, table: pd.DataFrame) -> pd.DataFrame:
    """Differences on the log or logit scale as ratios (``a / b``): odds ratios for logit."""
    _, link = _link(result)
    kind = str(getattr(link, "name", ""))
    if kind not in ("logit", "log"):
        raise InferenceError(
            f"contrasts on the response scale are ratios, defined for log and logit links only "
            f"(this fit's link is {kind or 'unknown'})"
        )
    name = "odds.ratio" if kind == "logit" else "ratio"
    out = table.rename(columns={"estimate": name}).copy()
    out["contrast"] = [str(c).replace(" - ", " / ") for c in table["contrast"]]
    ratio = np.exp(table["estimate"].to_numpy(dtype=float))
    out[name] = ratio
    out["SE"] = ratio * table["SE"].to_numpy(dtype=float)
    for column in ("lower.CL", "upper.CL"):
        out[column] = np.exp(table[column].to_numpy(dtype=float))
    out.insert(out.columns.get_loc("t.ratio"), "null", 1.0)
    return out


def _check_type(type_: str) -> str:
    if type_ not in ("link", "response"):
        raise InferenceError(f"type must be 'link' or 'response', got {type_!r}")
    return type_


def _family_groups(by_codes: np.ndarray) -> tuple[tuple[int, ...], ...]:
    groups: dict[int, list[int]] = {}
    for i, code in enumerate(by_codes):
        groups.setdefault(int(code), []).append(i)
    return tuple(tuple(g) for g in groups.values())


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

    @cached_property
    def _estimates(self) -> pd.DataFrame:
        return self.inference.estimate(self.L)

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
        frame = _table_frame(self.levels, self._estimates, "emmean")
        notes: list[str] = []
        out, _, _ = _infer(
            frame, "emmean", family, adjust, self.level if level is None else level, notes
        )
        if type == "response":
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
            first), ``"trt.vs.ctrl"`` (every level minus the reference ``ref``), or custom
            contrasts: a dict mapping a name to one weight per mean of a group, or a DataFrame
            with one column per contrast.
        adjust
            ``"tukey"``, ``"dunnettx"``, ``"sidak"``, ``"bonferroni"``, ``"holm"``, ``"fdr"``
            or ``"none"``; by default Tukey for pairwise, dunnettx for trt.vs.ctrl and none
            for custom contrasts (emmeans' defaults).
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
        rows, level_rows, by_codes = [], [], []
        for g_index, group in enumerate(groups):
            Lg = self.L[list(group)]
            rows.append(weights @ Lg)
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


def _contrast_weights(method, labels: list[str], ref):
    k = len(labels)
    if isinstance(method, str):
        kind = method.strip().lower()
        if kind == "pairwise":
            pairs = [(i, j) for i in range(k) for j in range(i + 1, k)]
        elif kind == "revpairwise":
            pairs = [(j, i) for j in range(1, k) for i in range(j)]
        elif kind == "trt.vs.ctrl":
            if isinstance(ref, (int, np.integer)):
                if not -k <= ref < k:
                    raise InferenceError(f"ref must be a position below {k}, got {ref}")
                r = int(ref) % k
            elif str(ref) in labels:
                r = labels.index(str(ref))
            else:
                raise InferenceError(f"ref {ref!r} is not one of the levels {labels}")
            pairs = [(i, r) for i in range(k) if i != r]
        else:
            raise InferenceError(
                "method must be 'pairwise', 'revpairwise', 'trt.vs.ctrl' or custom contrasts "
                f"(a dict of weights), got {method!r}"
            )
        weights = np.zeros((len(pairs), k))
        for row, (a, b) in enumerate(pairs):
            weights[row, a], weights[row, b] = 1.0, -1.0
        names = [f"{labels[a]} - {labels[b]}" for a, b in pairs]
        return names, weights, kind
    if isinstance(method, pd.DataFrame):
        method = {str(c): method[c].to_numpy(dtype=float) for c in method.columns}
    if isinstance(method, Mapping):
        if not method:
            raise InferenceError("custom contrasts: the dict is empty")
        names = [str(n) for n in method]
        try:
            weights = np.vstack([np.asarray(v, dtype=float).ravel() for v in method.values()])
        except ValueError as exc:
            raise InferenceError("custom contrasts must all have one weight per mean") from exc
        if not np.isfinite(weights).all():
            raise InferenceError("custom contrast weights must be finite")
        return names, weights, "custom"
    raise InferenceError(
        f"method must be a string or a dict of weights, got {type(method).__name__}"
    )


@dataclass(frozen=True, eq=False)
class ContrastTable(Rendered):
    """Contrasts of marginal means, with adjusted p-values and intervals.

    Attributes
    ----------
    L
        The contrasts as linear functions of the fixed effects, ``(rows, p)``.
    levels
        The contrast names and ``by`` levels of every row.
    adjust
        The adjustment asked for (the one applied is in :attr:`adjust_applied`).
    """

    inference: LinearInference
    by: tuple[str, ...]
    levels: pd.DataFrame
    L: np.ndarray
    by_codes: np.ndarray
    n_means: int
    pairwise: bool
    adjust: str
    level: float
    method: str

    @cached_property
    def _estimates(self) -> pd.DataFrame:
        return self.inference.estimate(self.L)

    def summary(
        self, adjust: str | None = None, level: float | None = None, type: str = "link"
    ) -> pd.DataFrame:
        """Estimate, SE, df, confidence limits, t ratio and adjusted p-value per contrast.

        ``type="response"`` gives, for a GLMM with a log or logit link, the ratios
        ``exp(estimate)`` (odds ratios for logit, contrasts named ``a / b``), their limits and
        delta-method standard errors, tests as on the link scale (emmeans' ``type``).
        """
        _check_type(type)
        table, _ = self._summary(adjust, level)
        if type == "response":
            table = _response_contrasts(self.inference.result, table)
        return _asymptotic_names(table, self.inference)

    def _summary(self, adjust, level):
        family = Family(
            groups=_family_groups(self.by_codes), n_means=self.n_means, pairwise=self.pairwise
        )
        frame = _table_frame(self.levels, self._estimates, "estimate")
        notes: list[str] = []
        out, p_method, ci_method = _infer(
            frame,
            "estimate",
            family,
            validate_adjust(self.adjust if adjust is None else adjust),
            self.level if level is None else level,
            notes,
        )
        return out, (p_method, ci_method, tuple(notes))

    @cached_property
    def table(self) -> pd.DataFrame:
        """:meth:`summary` with this table's adjustment and level."""
        return self.summary()

    @cached_property
    def adjust_applied(self) -> tuple[str, str]:
        """The adjustments applied to p-values and to intervals (emmeans may change them)."""
        _, (p_method, ci_method, _) = self._summary(None, None)
        return p_method, ci_method

    def to_frame(self) -> pd.DataFrame:
        """A copy of :attr:`table`."""
        return self.table.copy()

    @property
    def report(self) -> Report:
        """The printed form."""
        _, (p_method, ci_method, notes) = self._summary(None, None)
        size = int(max(np.bincount(self.by_codes))) if len(self.by_codes) else 0
        lines = [
            *notes,
            *self.inference.notes,
            f"Degrees-of-freedom method: {self.inference.method}",
        ]
        lines.append(f"Confidence level used: {self.level:g}")
        if p_method != "none":
            what = (
                f"a family of {self.n_means} estimates" if p_method == "tukey" else f"{size} tests"
            )
            lines.append(f"P value adjustment: {p_method} method for {what}")
        if ci_method != "none":
            lines.append(f"Conf-level adjustment: {ci_method} method")
        return Report.from_frame("Contrasts", self.table, notes=tuple(lines), index=False)

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
        For a variable that is not a factor or covariate of the fixed part, a rank-deficient
        fixed-effects design (estimability is not checked), or an unknown ``ddf``.
    """
    spec_names, by_names = _as_list(specs), _as_list(by)
    if not spec_names:
        raise InferenceError("specs must name at least one variable")
    overlap = set(spec_names) & set(by_names)
    if overlap:
        raise InferenceError(f"{sorted(overlap)} are in both specs and by")
    design = result.design
    if getattr(design, "dropped_names", ()):
        raise InferenceError(
            "marginal means of a rank-deficient fixed-effects design need estimability "
            f"checks, which are not implemented (dropped: {', '.join(design.dropped_names)})"
        )
    inference = LinearInference.for_fit(result, ddf)
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
    X = _grid_matrix(result, grid, variables)
    # the means: average of the grid rows over the other factors, first key fastest
    key_levels = [variables.factors[k] for k in keys]
    combos = list(itertools.product(*reversed(key_levels)))
    rows, level_rows = [], []
    for combo in combos:
        values = dict(zip(reversed(keys), combo, strict=True))
        mask = np.ones(len(grid), dtype=bool)
        for k, v in values.items():
            mask &= grid[k].to_numpy() == v
        rows.append(X[mask].mean(axis=0))
        level_rows.append({k: values[k] for k in keys})
    levels = pd.DataFrame(level_rows, columns=keys)
    return EmmGrid(
        inference=inference,
        specs=tuple(spec_names),
        by=tuple(by_names),
        levels=levels,
        L=np.vstack(rows),
        level=level,
    )


def _grid_from(variables: _Variables) -> pd.DataFrame:
    names = list(variables.factors)
    levels = [variables.factors[n] for n in names]
    combos = list(itertools.product(*reversed(levels))) if names else [()]
    grid = pd.DataFrame(
        {name: [c[len(names) - 1 - i] for c in combos] for i, name in enumerate(names)},
        index=pd.RangeIndex(len(combos)),
    )
    for name, value in variables.covariates.items():
        grid[name] = value
    return grid
