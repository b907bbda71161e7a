"""The tables of :mod:`mixedmodels.inference.emmeans`.

Labels, intervals and p-values of estimates, the response scale of GLMM fits, contrast
weights and :class:`ContrastTable`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from mixedmodels.errors import InferenceError
from mixedmodels.inference.linear_inference import LinearInference, _Regridded
from mixedmodels.inference.multiplicity import Family, adjust_p, critical_values, validate_adjust
from mixedmodels.report import Rendered, Report

__all__ = ["ContrastTable"]


_POLY_NAMES = ("linear", "quadratic", "cubic", "quartic")


_PARENS = re.compile(r"-|\+|/|\*")


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


def _table_frame(levels: pd.DataFrame, est: pd.DataFrame, value_name: str) -> pd.DataFrame:
    out = levels.reset_index(drop=True).copy()
    out[value_name] = est["estimate"].to_numpy()
    out["SE"] = est["SE"].to_numpy()
    out["df"] = est["df"].to_numpy()
    return out


def _infer(frame, value_name, family, adjust, level, notes, cov=None):
    """Add intervals, t ratios and p-values to a table of estimates (``cov``: for mvt)."""
    estimate = frame[value_name].to_numpy()
    se = frame["SE"].to_numpy()
    df = frame["df"].to_numpy(dtype=float)
    cv, ci_method, ci_note = critical_values(df, level, adjust, family, cov)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = estimate / se
    p, p_method, p_note = adjust_p(t, df, adjust, family, cov)
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
        # emmeans: "contrasts are still on the <link> scale"; differences of means on the
        # response scale are those of regrid()
        return table
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


def _consec(labels: list[str]) -> tuple[list[str], np.ndarray]:
    """Each level minus the one before (emmeans' ``consec``)."""
    k = len(labels)
    weights = np.zeros((k - 1, k))
    for i in range(k - 1):
        weights[i, i], weights[i, i + 1] = -1.0, 1.0
    return [f"{labels[i + 1]} - {labels[i]}" for i in range(k - 1)], weights


def _eff(labels: list[str]) -> tuple[list[str], np.ndarray]:
    """Each level minus the average of all (emmeans' ``eff``)."""
    k = len(labels)
    return [f"{lab} effect" for lab in labels], np.eye(k) - 1.0 / k


def _poly(labels: list[str]) -> tuple[list[str], np.ndarray]:
    """Orthogonal polynomial contrasts scaled to integers, up to degree 6 (emmeans' ``poly``)."""
    k = len(labels)
    degree = min(6, k - 1)
    if degree < 1:
        raise InferenceError("polynomial contrasts need at least two levels")
    x = np.arange(1, k + 1, dtype=float)
    x = x - x.mean()
    basis = np.vander(x, degree + 1, increasing=True)
    q, _ = np.linalg.qr(basis)
    rows = []
    for j in range(1, degree + 1):
        con = q[:, j] * np.sign(q[-1, j])  # R's poly: the last level's coefficient positive
        con = con / np.min(con[con > 0.01])
        gap = np.max(np.abs(con - np.round(con)))
        while gap > 0.05:
            con = con / gap
            gap = np.max(np.abs(con - np.round(con)))
        rows.append(np.round(con) + 0.0)
    names = [_POLY_NAMES[j] if j < 4 else f"degree {j + 1}" for j in range(degree)]
    return names, np.vstack(rows)


_FAMILIES = {"consec": _consec, "eff": _eff, "poly": _poly}


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
        elif kind in _FAMILIES:
            names, weights = _FAMILIES[kind](labels)
            return names, weights, kind
        else:
            raise InferenceError(
                "method must be 'pairwise', 'revpairwise', 'trt.vs.ctrl', 'consec', 'eff', "
                f"'poly' or custom contrasts (a dict of weights), got {method!r}"
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
    L_full: np.ndarray | None = None

    @cached_property
    def _estimates(self) -> pd.DataFrame:
        return self.inference.estimate(self.L, self.inference.estimable(self.L_full))

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
        if type == "response" and not isinstance(self.inference.result, _Regridded):
            table = _response_contrasts(self.inference.result, table)
        return _asymptotic_names(table, self.inference)

    def _summary(self, adjust, level):
        family = Family(
            groups=_family_groups(self.by_codes), n_means=self.n_means, pairwise=self.pairwise
        )
        frame = _table_frame(self.levels, self._estimates, "estimate")
        notes: list[str] = []
        adjust = validate_adjust(self.adjust if adjust is None else adjust)
        out, p_method, ci_method = _infer(
            frame,
            "estimate",
            family,
            adjust,
            self.level if level is None else level,
            notes,
            (
                self.inference.covariance(self.L, self.inference.estimable(self.L_full))
                if adjust == "mvt"
                else None
            ),
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
