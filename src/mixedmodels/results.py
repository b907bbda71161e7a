"""The fitted model: estimates, variance components, random effects, predictions, summary.

:class:`LmerResult` is immutable; every derived statistic is a cached property. Accessors are
named as lme4 users know them (``fixef``, ``ranef``, ``vcov``, ``varcorr``, ``sigma``, ...).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, partial
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from mixedmodels.control import SINGULAR_TOLERANCE
from mixedmodels.errors import RowDataUnavailableError
from mixedmodels.linalg import BlockedFactor, Solution, solve_at_optimum
from mixedmodels.optimize import OptSummary
from mixedmodels.predict import fixed_matrix, predict
from mixedmodels.report import Report
from mixedmodels.results_methods import PostFitMethods
from mixedmodels.summary import build_summary
from mixedmodels.weights import zero_weight_predictions

if TYPE_CHECKING:
    from mixedmodels.model import LinearMixedModel

__all__ = ["LmerResult"]


@dataclass(frozen=True, eq=False)
class LmerResult(PostFitMethods):
    """A fitted linear mixed model.

    Attributes
    ----------
    model
        The :class:`~mixedmodels.model.LinearMixedModel` that was fitted.
    reml
        Whether the REML criterion was optimised.
    theta
        Relative covariance parameters, lme4's order and parameterisation.
    factor
        Blocked Cholesky factor at ``theta``.
    solution
        Fixed effects, spherical random effects and their unscaled covariances.
    optsum
        The optimiser's summary.
    """

    model: LinearMixedModel
    reml: bool
    theta: np.ndarray
    factor: BlockedFactor
    solution: Solution
    optsum: OptSummary

    def __reduce__(self):
        """Pickle the fit's inputs and estimates; caches and lazy closures are rebuilt."""
        solution = self.solution
        return (
            _restore,
            (
                self.model,
                self.reml,
                self.theta,
                self.factor,
                solution.beta,
                solution.u,
                solution.beta_cov_unscaled,
                self.optsum,
            ),
        )

    # -- scalars --------------------------------------------------------------------------
    @property
    def design(self):
        """The model's design (data in engine form)."""
        return self.model.design

    @property
    def nobs(self) -> int:
        """Number of observations used in the fit."""
        return self.design.n

    @property
    def n_fixed(self) -> int:
        """Number of fixed-effect coefficients (rank of X)."""
        return len(self.design.fixed_names)

    @cached_property
    def sigma(self) -> float:
        """Residual standard deviation."""
        dof = self.nobs - self.n_fixed if self.reml else self.nobs
        return float(np.sqrt(self.factor.r2 / dof))

    @cached_property
    def reml_criterion(self) -> float:
        """REML criterion at theta (for an ML fit: evaluated at the ML estimates)."""
        return self.model.objective(self.theta, REML=True)

    @cached_property
    def deviance(self) -> float:
        """ML deviance (-2 log-likelihood); for REML fits, at the REML estimates."""
        return self.model.objective(self.theta, REML=False)

    @property
    def objective(self) -> float:
        """The optimised criterion: REML criterion or ML deviance."""
        return self.reml_criterion if self.reml else self.deviance

    @property
    def loglik(self) -> float:
        """Log-likelihood (the REML log-likelihood for REML fits, as lme4's ``logLik``)."""
        return -0.5 * self.objective

    @property
    def df(self) -> int:
        """Number of parameters: fixed effects, theta and sigma."""
        return self.n_fixed + self.theta.size + 1

    @property
    def aic(self) -> float:
        """Akaike information criterion."""
        return -2.0 * self.loglik + 2.0 * self.df

    @property
    def bic(self) -> float:
        """Bayesian information criterion."""
        return -2.0 * self.loglik + self.df * np.log(self.nobs)

    @property
    def converged(self) -> bool:
        """True when the convergence checks passed."""
        return self.optsum.converged

    @cached_property
    def is_singular(self) -> bool:
        """Whether the fit is on the boundary: a bounded theta component (nearly) zero.

        For lme4's unstructured terms a diagonal entry of lambda below the tolerance; for a
        structured term the same of its Cholesky factor (a standard deviation at zero or a
        correlation at the edge of the positive-definite range); or the residual variance
        going to zero (``optsum.residual_boundary``).
        """
        if getattr(self.optsum, "residual_boundary", False):  # sigma -> 0
            return True
        structured = [t for t in self.design.terms if t.structured]
        if not structured:
            bounded = self.model.lower_bounds == 0
            return bool(np.any(self.theta[bounded] < SINGULAR_TOLERANCE))
        theta = self.theta
        return any(
            t.covariance.is_singular(theta[t.theta_slice], SINGULAR_TOLERANCE)
            for t in self.design.terms
        )

    @property
    def ngrps(self) -> dict[str, int]:
        """Number of levels of every grouping factor."""
        return {t.group_name: len(self._block_of(t).levels) for t in self.design.terms}

    # -- fixed effects --------------------------------------------------------------------
    @cached_property
    def fixef(self) -> pd.Series:
        """Fixed-effect estimates."""
        return pd.Series(self.solution.beta, index=list(self.design.fixed_names), name="Estimate")

    @cached_property
    def vcov(self) -> pd.DataFrame:
        """Covariance matrix of the fixed effects."""
        names = list(self.design.fixed_names)
        return pd.DataFrame(
            self.sigma**2 * self.solution.beta_cov_unscaled, index=names, columns=names
        )

    @property
    def se(self) -> pd.Series:
        """Standard errors of the fixed effects."""
        return pd.Series(np.sqrt(np.diag(self.vcov)), index=self.vcov.index, name="Std. Error")

    @cached_property
    def coef_table(self) -> pd.DataFrame:
        """Estimate, standard error and t value per fixed effect."""
        se = self.se
        return pd.DataFrame({"Estimate": self.fixef, "Std. Error": se, "t value": self.fixef / se})

    # -- variance components --------------------------------------------------------------
    def _block_of(self, term):
        for block in self.design.blocks:
            if term in block.terms:
                return block
        raise LookupError(term)

    def _term_lambda(self, term) -> np.ndarray:
        return term.lambda_(self.theta)

    def _group_labels(self) -> list[str]:
        seen: dict[str, int] = {}
        labels = []
        for term in self.design.terms:
            k = seen.get(term.group_name, 0)
            labels.append(term.group_name if k == 0 else f"{term.group_name}.{k}")
            seen[term.group_name] = k + 1
        return labels

    @cached_property
    def varcorr(self) -> pd.DataFrame:
        """Variance components as lme4's ``as.data.frame(VarCorr(fit))``.

        Columns ``grp``, ``var1``, ``var2``, ``vcov`` (variance or covariance) and ``sdcor``
        (standard deviation or correlation); the residual last. A structured term lists every
        column's variance and the correlations of its parameters: rho of ``ar1``, ``cs`` and
        ``homcs`` as the correlation of its first two columns, a lag-m correlation of
        ``toep`` as that of columns 1 and 1 + m, none for ``diag`` and ``homdiag``.
        """
        rows = []
        for term, label in zip(self.design.terms, self._group_labels()):
            lam = self._term_lambda(term)
            cov = self.sigma**2 * lam @ lam.T
            sd = np.sqrt(np.diag(cov))
            for i, name in enumerate(term.columns):
                rows.append((label, name, None, cov[i, i], sd[i]))
            pairs = term.covariance.correlation_pairs()
            if term.structured:  # the parameters themselves (defined at a zero SD too)
                structure = term.covariance
                natural = structure.natural(self.theta[term.theta_slice])
                correlations = natural[~structure.natural_is_sd()]
            for n, (i, j) in enumerate(pairs):
                if term.structured:
                    corr = float(correlations[n])
                else:
                    denom = sd[i] * sd[j]
                    corr = cov[i, j] / denom if denom > 0 else np.nan
                rows.append((label, term.columns[j], term.columns[i], cov[i, j], corr))
        rows.append(("Residual", None, None, self.sigma**2, self.sigma))
        return pd.DataFrame(rows, columns=["grp", "var1", "var2", "vcov", "sdcor"])

    # -- random effects -------------------------------------------------------------------
    @cached_property
    def _block_effects(self) -> list[np.ndarray]:
        lams = self.model.lambdas(self.theta)
        return [u @ lam.T for u, lam in zip(self.solution.u, lams)]

    @cached_property
    def ranef(self) -> dict[str, pd.DataFrame]:
        """Conditional modes of the random effects: one DataFrame (levels x terms) per factor."""
        return {
            block.group_name: pd.DataFrame(
                b, index=pd.Index(block.levels, name=block.group_name), columns=list(block.columns)
            )
            for block, b in zip(self.design.blocks, self._block_effects)
        }

    @cached_property
    def condvar(self) -> dict[str, np.ndarray]:
        """Conditional covariance matrices of the random effects, ``(levels, k, k)`` per factor."""
        lams = self.model.lambdas(self.theta)
        return {
            block.group_name: self.sigma**2 * np.einsum("ab,lbc,dc->lad", lam, v, lam)
            for block, lam, v in zip(
                self.design.blocks, lams, self.solution.u_cov_unscaled, strict=False
            )
        }

    @cached_property
    def ranef_table(self) -> pd.DataFrame:
        """Tidy random effects: group, term, level, condval, condsd (lme4's as.data.frame)."""
        frames = []
        for block, b in zip(self.design.blocks, self._block_effects):
            var = self.condvar[block.group_name]
            for k, column in enumerate(block.columns):
                frames.append(
                    pd.DataFrame(
                        {
                            "group": block.group_name,
                            "term": column,
                            "level": list(block.levels),
                            "condval": b[:, k],
                            "condsd": np.sqrt(var[:, k, k]),
                        }
                    )
                )
        return pd.concat(frames, ignore_index=True)

    @cached_property
    def coef(self) -> dict[str, pd.DataFrame]:
        """Per-level coefficients: fixed plus the level's random effects (lme4's ``coef``)."""
        out = {}
        for name, frame in self.ranef.items():
            table = pd.DataFrame(
                np.tile(self.fixef.to_numpy(), (len(frame), 1)),
                index=frame.index,
                columns=self.fixef.index,
            )
            for column in frame.columns:
                if column in table.columns:
                    table[column] = table[column] + frame[column]
                else:
                    table[column] = frame[column]
            out[name] = table
        return out

    # -- fitted values, residuals, predictions ---------------------------------------------
    @cached_property
    def fitted(self) -> pd.Series:
        """Fitted values (conditional on the random effects) per used row.

        Rows with prior weight zero are not in the fit but have fitted values, as in lm: they
        are included, in data order (see :attr:`Design.zero_weight`).
        """
        values = self.design.X @ self.solution.beta
        for block, b in zip(self.design.blocks, self._block_effects):
            values += np.einsum("nk,nk->n", block.matrix, b[block.codes])
        if self.design.offset is not None:
            values += self.design.offset
        return self._with_zero_weight_rows(values, "fitted", include_random=True)

    @cached_property
    def residuals(self) -> pd.Series:
        """Response residuals ``y - fitted`` (rows with weight zero included, as ``fitted``)."""
        zero = getattr(self.design, "zero_weight", None)
        y = self.design.y if zero is None else zero.in_data_order(self.design.y, zero.y)
        return pd.Series(
            y - self.fitted.to_numpy(), index=self.fitted.index, name="residuals", copy=False
        )

    def _with_zero_weight_rows(self, values: np.ndarray, name: str, include_random: bool):
        """The fit's per-row values as a Series, with the rows of weight zero in data order."""
        zero = getattr(self.design, "zero_weight", None)
        if zero is None:
            return pd.Series(values, index=self.design.row_index, name=name, copy=False)

        extra = zero_weight_predictions(self, include_random)
        index = self.design.row_index.append(zero.data.index)[zero.order]
        return pd.Series(zero.in_data_order(values, extra), index=index, name=name)

    def predict(
        self, newdata: pd.DataFrame | None = None, re_form=None, allow_new_levels: bool = False
    ) -> pd.Series:
        """Predictions for new data (lme4's ``predict``).

        Parameters
        ----------
        newdata
            Data with the formula's variables; the fitted values when None.
        re_form
            None for all random effects, ``"~0"`` (or ``"NA"``) for the fixed part only, or a
            formula of some of the random-effect terms, ``"~(1 | Subject)"``.
        allow_new_levels
            Predict new grouping levels with random effects zero (else raise).

        Returns
        -------
        pandas.Series

        See :func:`mixedmodels.predict.predict`; :meth:`predict_frame` adds standard errors
        and intervals.
        """
        if newdata is None and re_form is None:
            return self.fitted.rename("predicted")
        return predict(self, newdata, re_form, allow_new_levels)

    def write_fitted(self, path, columns=None) -> str:
        """Stream fitted values and residuals of every used row to Parquet (out of core).

        Parameters
        ----------
        path
            Output: a Parquet file for a DuckDB source, a directory of Parquet files (one per
            partition) for a dask source.
        columns
            Source columns written beside ``fitted`` and ``residual`` (e.g. an id column);
            default all columns the model uses.

        Returns
        -------
        str
            The path written.

        Raises
        ------
        RowDataUnavailableError
            For an in-memory fit, whose :attr:`fitted` and :attr:`residuals` hold the values.
        """
        writer = getattr(self.model, "write_fitted", None)
        if writer is None:
            raise RowDataUnavailableError(
                "write_fitted streams an out-of-core fit's rows from its source; this fit is in"
                " memory: its values are fit.fitted and fit.residuals"
            )
        return writer(self, path, columns)

    def _new_fixed_matrix(self, newdata: pd.DataFrame) -> np.ndarray:
        return fixed_matrix(self, newdata)

    # -- report ---------------------------------------------------------------------------
    def summary(self, ddf: str | None = None) -> Report:
        """lme4-style summary: criterion, scaled residuals, random and fixed effects.

        Parameters
        ----------
        ddf
            None for lme4's table (no p-values), ``"Satterthwaite"`` or ``"Kenward-Roger"``
            for lmerTest's table with denominator df and p-values.
        """
        return build_summary(self, ddf=ddf)

    def __str__(self) -> str:
        """The summary, as R prints it."""
        return str(self.summary())

    def __repr__(self) -> str:
        """One line: formula, criterion, objective and number of rows."""
        kind = "REML" if self.reml else "ML"
        return (
            f"<LmerResult {self.model.formula!r} fit by {kind}: "
            f"objective {self.objective:.4f}, nobs {self.nobs}>"
        )

    def _repr_html_(self) -> str:
        return self.summary().to_html()


def _conditional_covariances(model, theta: np.ndarray, factor: BlockedFactor):
    """``u_cov_unscaled`` of a restored fit, solved again on first use (same arithmetic)."""
    lams = model.lambdas(theta)
    return solve_at_optimum(model.workspace, factor, lams[0], lams[1:]).u_cov_unscaled


def _restore(model, reml, theta, factor, beta, u, beta_cov, optsum) -> LmerResult:
    """Rebuild an :class:`LmerResult` from what :meth:`LmerResult.__reduce__` pickled."""
    solution = Solution(
        beta=beta,
        u=u,
        beta_cov_unscaled=beta_cov,
        _u_cov=partial(_conditional_covariances, model, theta, factor),
    )
    return LmerResult(
        model=model, reml=reml, theta=theta, factor=factor, solution=solution, optsum=optsum
    )
