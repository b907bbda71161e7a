"""Wald-type tests of linear hypotheses ``R params = q``, as ``MixedLMResults`` runs them.

statsmodels' ``t_test`` takes a matrix over the fixed effects (padded with zeros over the
variance parameters); ``wald_test`` and ``f_test`` take a matrix over all of ``params`` or
constraints written as text (``"Time = 0, Intercept = 2 * Cu[T.Cu035]"``) in the parameter
names. All use the normal / chi-squared / F reference distributions on ``cov_params()``,
with ``df_resid = nobs - rank(exog)`` as the F test's denominator degrees of freedom. A
matrix with only ``k_fe`` columns is also accepted by ``wald_test`` and ``f_test`` (padded
as in ``t_test``) and text by ``t_test``.

The results are statsmodels' ``ContrastResults`` when statsmodels is importable (so that
``summary()``, ``conf_int()`` and printing are statsmodels' own), :class:`TestResult`
otherwise.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from mixedmodels.errors import DesignError

__all__ = ["HypothesisTests", "TestResult", "constraints", "t_test", "wald_test"]


@dataclass(frozen=True)
class TestResult:
    """A test result with statsmodels' ``ContrastResults`` attribute names.

    Attributes
    ----------
    statistic
        z values (t test), chi-squared (Wald) or F statistic.
    pvalue
        p-value(s).
    distribution
        ``"norm"``, ``"chi2"`` or ``"F"``.
    effect, sd
        ``R params`` and its standard errors (t test only).
    df_num, df_denom
        Degrees of freedom (statsmodels' conventions: the Wald test's ``df_denom`` is the
        number of constraints).
    """

    statistic: np.ndarray | float
    pvalue: np.ndarray | float
    distribution: str
    effect: np.ndarray | None = None
    sd: np.ndarray | None = None
    df_num: float | None = None
    df_denom: float | None = None

    def conf_int(self, alpha: float = 0.05) -> np.ndarray:
        """Normal intervals of the effects (t test only)."""
        if self.effect is None or self.sd is None:
            raise DesignError("confidence intervals are only available for a t test")
        q = -stats.norm.ppf(alpha / 2)
        return np.column_stack([self.effect - q * self.sd, self.effect + q * self.sd])


def _linear(node, index: dict[str, int], k: int) -> tuple[np.ndarray, float]:
    """``(coefficients, constant)`` of one side of a constraint."""
    if isinstance(node, ast.Name):
        if node.id not in index:
            raise DesignError(f"unknown name {node.id!r} in a constraint")
        out = np.zeros(k)
        out[index[node.id]] = 1.0
        return out, 0.0
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return np.zeros(k), float(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        vec, const = _linear(node.operand, index, k)
        return (-vec, -const) if isinstance(node.op, ast.USub) else (vec, const)
    if isinstance(node, ast.BinOp):
        (a, ca), (b, cb) = _linear(node.left, index, k), _linear(node.right, index, k)
        if isinstance(node.op, ast.Add):
            return a + b, ca + cb
        if isinstance(node.op, ast.Sub):
            return a - b, ca - cb
        if isinstance(node.op, ast.Mult) and not (a.any() and b.any()):
            return (a * cb + b * ca), ca * cb
        if isinstance(node.op, ast.Div) and not b.any() and cb != 0:
            return a / cb, ca / cb
    raise DesignError("constraints must be linear in the parameters")


def _parse(text: str, names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    # parameter names hold brackets, colons and spaces: put placeholders in their place,
    # longest first so that "Time:C(Evit)[T.Evit100]" is not read as "Time"
    index, k = {}, len(names)
    for j, name in sorted(enumerate(names), key=lambda item: -len(item[1])):
        token = f"__p{j}__"
        pattern = r"(?<![\w.])" + re.escape(name) + r"(?![\w.\[])"
        text = re.sub(pattern, token, text)
        index[token] = j
    rows, values = [], []
    for part in text.split(","):
        sides = part.split("=")
        if len(sides) > 2 or not part.strip():
            raise DesignError(f"cannot read the constraint {part.strip()!r}")
        try:
            trees = [ast.parse(s.strip() or "0", mode="eval").body for s in sides]
        except SyntaxError as exc:
            raise DesignError(f"cannot read the constraint {part.strip()!r}: {exc}") from exc
        left = _linear(trees[0], index, k)
        right = _linear(trees[1], index, k) if len(trees) == 2 else (np.zeros(k), 0.0)
        rows.append(left[0] - right[0])
        values.append(right[1] - left[1])
    return np.array(rows), np.array(values)


def constraints(spec, names: list[str], k_fe: int) -> tuple[np.ndarray, np.ndarray]:
    """``(R, q)`` over all ``names`` from text, a matrix, or a ``(matrix, q)`` pair.

    A matrix with ``k_fe`` columns (fewer than ``len(names)``) is padded with zeros over the
    variance parameters.
    """
    k = len(names)
    if isinstance(spec, str):
        return _parse(spec, names)
    if isinstance(spec, list | tuple) and spec and all(isinstance(s, str) for s in spec):
        return _parse(", ".join(spec), names)
    q = None
    if isinstance(spec, tuple) and len(spec) == 2:
        spec, q = spec
    matrix = np.atleast_2d(np.asarray(spec, dtype=float))
    if matrix.shape[1] == k_fe < k:
        matrix = np.hstack([matrix, np.zeros((matrix.shape[0], k - k_fe))])
    if matrix.shape[1] != k:
        raise DesignError(
            f"the constraint matrix has {matrix.shape[1]} columns; expected {k_fe} (fixed "
            f"effects) or {k} (all params)"
        )
    values = np.zeros(matrix.shape[0]) if q is None else np.atleast_1d(np.asarray(q, float))
    if values.size == 1 and matrix.shape[0] > 1:
        values = np.full(matrix.shape[0], float(values[0]))
    if values.size != matrix.shape[0]:
        raise DesignError("the constraint matrix and its values have different numbers of rows")
    return matrix, values.ravel()


def _contrast_results(**kwargs):
    try:
        from statsmodels.stats.contrast import ContrastResults
    except ImportError:
        return None
    return ContrastResults(**kwargs)


def t_test(params, cov, r_matrix: np.ndarray, q: np.ndarray, df_resid: float, alpha: float):
    """z tests of every row of ``R params = q``."""
    effect = r_matrix @ params
    sd = np.sqrt(np.diag(r_matrix @ cov @ r_matrix.T))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (effect - q) / sd
    out = _contrast_results(
        effect=effect, statistic=z, sd=sd, df_denom=df_resid, distribution="norm", alpha=alpha
    )
    if out is None:
        out = TestResult(z, 2 * stats.norm.sf(np.abs(z)), "norm", effect, sd, None, df_resid)
    return out


def wald_test(
    params,
    cov,
    r_matrix,
    q,
    df_resid: float,
    use_f: bool,
    scalar: bool = True,
    invcov=None,
    df_constraints=None,
):
    """Joint Wald test of ``R params = q`` (chi-squared, or F when ``use_f``).

    ``invcov`` replaces the inverse of ``R cov R'`` and ``df_constraints`` the number of
    constraints (the rank of ``R cov R'`` by default), as in statsmodels.
    """
    diff = (r_matrix @ params - q)[:, None]
    n_constraints = float(r_matrix.shape[0])
    if invcov is None:
        cov_r = r_matrix @ cov @ r_matrix.T
        if np.isnan(cov_r).any():
            raise DesignError("the constraints involve parameters without a standard error")
        invcov = np.linalg.pinv(cov_r)
        n_constraints = float(min(np.linalg.matrix_rank(cov_r), r_matrix.shape[0]))
    else:
        invcov = np.atleast_2d(np.asarray(invcov, dtype=float))
        if invcov.shape != (r_matrix.shape[0], r_matrix.shape[0]):
            raise DesignError(
                f"invcov must be {r_matrix.shape[0]} x {r_matrix.shape[0]} (one row per "
                f"constraint), got {invcov.shape}"
            )
    if df_constraints is not None:
        n_constraints = float(df_constraints)
    value = diff.T @ invcov @ diff
    stat: float | np.ndarray = float(value.squeeze()) if scalar else value
    if use_f:
        stat = stat / n_constraints
        out = _contrast_results(F=stat, df_denom=df_resid, df_num=n_constraints)
        if out is None:
            p = stats.f.sf(stat, n_constraints, df_resid)
            out = TestResult(stat, p, "F", df_num=n_constraints, df_denom=df_resid)
        return out
    out = _contrast_results(
        chi2=stat,
        df_denom=n_constraints,
        statistic=stat,
        distribution="chi2",
        distargs=(n_constraints,),
    )
    if out is None:
        p = stats.chi2.sf(stat, n_constraints)
        out = TestResult(stat, p, "chi2", df_num=n_constraints, df_denom=n_constraints)
    return out


def constant_column(exog: np.ndarray) -> tuple[int, int | None]:
    """statsmodels' ``(k_constant, const_idx)`` of a design.

    A constant column that is not zero is the constant (the first column of ones, else the
    first nonzero constant column); without one, the constant is implicit (index None) when
    a column of ones lies in the span of the columns.
    """
    exog = np.asarray(exog, dtype=float)
    if exog.ndim != 2 or exog.shape[1] == 0:
        return 0, None
    flat = np.flatnonzero(exog.max(axis=0) == exog.min(axis=0))
    values = exog[0, flat] if flat.size else np.zeros(0)
    ones = flat[values == 1]
    if ones.size:
        return 1, int(ones[0])
    if (values != 0).any():
        return 1, int(flat[np.flatnonzero(values != 0)[0]])
    augmented = np.column_stack([np.ones(exog.shape[0]), exog])
    implicit = np.linalg.matrix_rank(augmented) == np.linalg.matrix_rank(exog)
    return int(implicit), None


_LEVEL = re.compile(r"\[[^\[\]]*\](?=:|$)")


def fe_terms(names: list[str], formula: bool) -> list[tuple[str, list[int]]]:
    """The terms of the fixed effects and their columns, as statsmodels' formula terms.

    For a formula model a column's term is its name without the level suffixes patsy gives
    the columns of a categorical factor (``C(Evit)[T.Evit100]`` -> ``C(Evit)``,
    ``Time:C(Evit)[T.Evit100]`` -> ``Time:C(Evit)``), in order of first appearance; for the
    array interface every column is its own term.
    """
    if not formula:
        return [(name, [j]) for j, name in enumerate(names)]
    terms: dict[str, list[int]] = {}
    for j, name in enumerate(names):
        terms.setdefault(_LEVEL.sub("", name), []).append(j)
    return list(terms.items())


@dataclass(frozen=True)
class TermTests:
    """The Wald tests of ``wald_test_terms``, where statsmodels is not installed.

    With statsmodels the result is its own ``WaldTestResults``.

    Attributes
    ----------
    table
        One row per term: ``statistic``, ``pvalue``, ``df_constraint``.
    distribution
        ``"chi2"``.
    """

    table: pd.DataFrame
    distribution: str = "chi2"

    @property
    def statistic(self) -> np.ndarray:
        """Test statistic of every term."""
        return self.table["statistic"].to_numpy()

    @property
    def pvalues(self) -> np.ndarray:
        """p-value of every term."""
        return self.table["pvalue"].to_numpy()

    @property
    def df_constraints(self) -> np.ndarray:
        """Number of constraints of every term."""
        return self.table["df_constraint"].to_numpy()

    def summary_frame(self) -> pd.DataFrame:
        """The table with statsmodels' column names."""
        frame = self.table.copy()
        frame.columns = ["chi2", "P>chi2", "df constraint"]
        return frame

    def __str__(self) -> str:
        return str(self.summary_frame())


def _term_results(table: pd.DataFrame):
    try:
        from statsmodels.stats.contrast import WaldTestResults
    except ImportError:
        return TermTests(table)
    return WaldTestResults(None, "chi2", None, table=table)


class HypothesisTests:
    """``t_test``, ``wald_test`` and ``f_test`` of a results class.

    The host has ``params``, ``cov_params()``, ``df_resid``, ``k_fe`` and
    ``model.param_names``.
    """

    use_t = False
    """statsmodels' MixedLM inference is normal (z), chi-squared and F."""

    def _constraints(self, r_matrix):
        return constraints(r_matrix, list(self.model.param_names), self.k_fe)  # type: ignore[attr-defined]

    def _arrays(self):
        return np.asarray(self.params), np.asarray(self.cov_params())  # type: ignore[attr-defined]

    def t_test(self, r_matrix, use_t=None):
        """z test of every row of ``R fe_params = q``.

        Parameters
        ----------
        r_matrix
            ``(m, k_fe)`` matrix (statsmodels' form), a ``(matrix, q)`` pair, or
            constraints as text in the fixed-effect names (``"Time = 0, Intercept = 10"``).
        use_t
            Accepted for compatibility; MixedLM inference is normal (``use_t=False``).
        """
        matrix, q = self._constraints(r_matrix)
        if np.any(matrix[:, self.k_fe :] != 0):  # type: ignore[attr-defined]
            raise DesignError("t_test constrains the fixed effects only")
        params, cov = self._arrays()
        return t_test(params, cov, matrix, q, self.df_resid, 0.05)  # type: ignore[attr-defined]

    def wald_test(
        self, r_matrix, cov_p=None, invcov=None, use_f=None, df_constraints=None, scalar=True
    ):
        """Joint Wald test of ``R params = q`` (chi-squared; F when ``use_f``).

        ``r_matrix`` as for :meth:`t_test`, or with a column for every entry of ``params``;
        text may name any parameter. ``cov_p`` replaces ``cov_params()``, ``invcov`` the
        inverse of ``R cov_params() R'`` and ``df_constraints`` the number of constraints.
        """
        matrix, q = self._constraints(r_matrix)
        params, cov = self._arrays()
        if cov_p is not None:
            cov = np.asarray(cov_p, dtype=float)
        df_resid = self.df_resid  # type: ignore[attr-defined]
        return wald_test(
            params, cov, matrix, q, df_resid, bool(use_f), scalar, invcov, df_constraints
        )

    def f_test(self, r_matrix, cov_p=None, invcov=None):
        """The Wald test as an F test (``wald_test(..., use_f=True)``)."""
        return self.wald_test(r_matrix, cov_p=cov_p, invcov=invcov, use_f=True, scalar=True)

    def wald_test_terms(
        self, skip_single=False, extra_constraints=None, combine_terms=None, scalar=True
    ):
        """Joint Wald (chi-squared) test that every fixed effect of a term is zero.

        As statsmodels: terms of the formula (every column for the array interface), then
        one test for each string of ``combine_terms`` over all the terms whose name
        contains it, then ``extra_constraints`` (``(name, matrix)`` pairs); ``skip_single``
        leaves out terms of one column.

        Returns
        -------
        statsmodels' ``WaldTestResults`` (a :class:`TermTests` without statsmodels)
        """
        names = list(self.model.exog_names)  # type: ignore[attr-defined]
        formula = getattr(self.model, "formula", None) is not None  # type: ignore[attr-defined]
        identity = np.eye(len(self.model.param_names))  # type: ignore[attr-defined]
        tests, combined = [], {c: [] for c in (combine_terms or [])}
        for name, cols in fe_terms(names, formula):
            matrix = identity[cols]
            for cname in combined:
                if cname in name:
                    combined[cname].append(matrix)
            if skip_single and (len(cols) == 1 or not formula):
                continue
            tests.append((name, matrix))
        tests += [(c, np.vstack(m)) for c, m in combined.items() if m]
        tests += list(extra_constraints or [])
        rows = []
        for _, matrix in tests:
            wt = self.wald_test(matrix, scalar=scalar)
            rows.append([wt.statistic, wt.pvalue, int(wt.df_denom)])
        table = pd.DataFrame(
            rows, index=[t[0] for t in tests], columns=["statistic", "pvalue", "df_constraint"]
        )
        return _term_results(table)

    def t_test_pairwise(self, term_name, method="hs", alpha=0.05, factor_labels=None):
        """Raises ValueError, as statsmodels 0.15's MixedLM results do.

        statsmodels builds the contrasts with a column for every parameter, which its
        MixedLM ``t_test`` refuses (it takes ``k_fe`` columns), and refuses a term that is
        not in the formula. The pairwise differences are ``t_test`` contrasts of the
        fixed effects, e.g. ``t_test("C(Evit)[T.Evit100] - C(Evit)[T.Evit200] = 0")``.
        """
        names = [name for name, _ in fe_terms(list(self.model.exog_names), True)]  # type: ignore[attr-defined]
        if term_name not in names:
            raise ValueError(f"{term_name!r} is not in list")
        raise ValueError(
            f"r_matrix for t-test should have {self.k_fe:d} columns (statsmodels' "  # type: ignore[attr-defined]
            "t_test_pairwise does not work for MixedLM; test the differences with t_test)"
        )

    @property
    def score_obsv(self):
        """Raises AttributeError, as statsmodels: MixedLM has no per-observation score."""
        raise AttributeError("'MixedLM' object has no attribute 'score_obs'")

    @property
    def bsejac(self):
        """Raises AttributeError, as statsmodels (it needs ``score_obsv``)."""
        raise AttributeError("'MixedLM' object has no attribute 'score_obs'")

    @property
    def covjac(self):
        """Raises AttributeError, as statsmodels (it needs ``score_obsv``)."""
        raise AttributeError("'MixedLM' object has no attribute 'score_obs'")

    @property
    def k_constant(self) -> int:
        """1 when the fixed effects have a constant (explicit or implicit), else 0."""
        return self.model.k_constant  # type: ignore[attr-defined]
