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
from mixedmodels.inference.bootstrap import bootstrap
from mixedmodels.inference.bootstrap import simulate as simulate_rows
from mixedmodels.inference.confint import Method as IntervalMethod
from mixedmodels.inference.confint import confint
from mixedmodels.inference.emmeans import emmeans
from mixedmodels.inference.profile import profile
from mixedmodels.inference.ranova import drop1, ranova, step
from mixedmodels.inference.tests import contrast_test
from mixedmodels.influence import cooks_distance, influence, leverage
from mixedmodels.linalg import BlockedFactor, Solution, solve_at_optimum
from mixedmodels.optimize import OptSummary
from mixedmodels.persist import save_fit
from mixedmodels.plots import PlotAccessor
from mixedmodels.predict import fixed_matrix, predict
from mixedmodels.predict_intervals import predict_frame
from mixedmodels.predict_intervals import simulate as simulate_new
from mixedmodels.report import Report
from mixedmodels.summaries.collinearity import vif
from mixedmodels.summaries.r2 import icc, r2_nakagawa
from mixedmodels.summaries.tidy import augment, glance, tidy
from mixedmodels.summary import build_summary
from mixedmodels.weights import zero_weight_predictions
from mixedmodels.workflow import all_fit, get_me, re_pca, update

if TYPE_CHECKING:
    from mixedmodels.model import LinearMixedModel

__all__ = ["LmerResult"]


@dataclass(frozen=True, eq=False)
class LmerResult:
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
        return self.design.X.shape[1]

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

    def _new_fixed_matrix(self, newdata: pd.DataFrame) -> np.ndarray:
        return fixed_matrix(self, newdata)

    # -- inference (implemented in mixedmodels.inference) ----------------------------------
    def test(self, L, ddf: str = "Satterthwaite") -> pd.DataFrame:
        """F test of the contrast(s) ``L @ beta = 0`` with Satterthwaite or Kenward-Roger df.

        See :func:`mixedmodels.inference.tests.contrast_test`.
        """
        return contrast_test(self, L, ddf=ddf)

    def confint(
        self, method: IntervalMethod = "profile", level: float = 0.95, **kwargs
    ) -> pd.DataFrame:
        """Confidence intervals: ``"wald"``, ``"profile"`` or ``"boot"`` (lme4's ``confint``).

        See :func:`mixedmodels.inference.confint.confint`.
        """
        return confint(self, method=method, level=level, **kwargs)

    def profile(self, **kwargs):
        """Likelihood profile of every parameter (lme4's ``profile``).

        See :func:`mixedmodels.inference.profile.profile`.
        """
        return profile(self, **kwargs)

    def bootstrap(self, n: int = 1000, seed=None, n_jobs: int = 1, **kwargs) -> pd.DataFrame:
        """Parametric bootstrap (lme4's ``bootMer``).

        See :func:`mixedmodels.inference.bootstrap.bootstrap`.
        """
        return bootstrap(self, n=n, seed=seed, n_jobs=n_jobs, **kwargs)

    def simulate(
        self,
        nsim: int = 1,
        seed=None,
        newdata: pd.DataFrame | None = None,
        use_u: bool = False,
        re_form=None,
        allow_new_levels: bool = False,
    ) -> np.ndarray:
        """Responses simulated from the fitted model, ``(rows, nsim)`` (lme4's ``simulate``).

        See :func:`mixedmodels.inference.bootstrap.simulate` (the fitting rows, new random
        effects) and :func:`mixedmodels.predict_intervals.simulate` (``newdata``, ``use_u``,
        ``re_form``).
        """
        if newdata is None and not use_u and re_form is None:
            return simulate_rows(self, nsim=nsim, seed=seed)
        return simulate_new(self, nsim, seed, newdata, use_u, re_form, allow_new_levels)

    # -- after the fit: postfit-infer (mixedmodels.inference / mixedmodels.summaries) -------
    def emmeans(self, specs, by=None, ddf: str | None = None, at=None, level: float = 0.95):
        """Estimated marginal means (R's emmeans); ``.pairs()`` and ``.contrast()`` compare them.

        See :func:`mixedmodels.inference.emmeans.emmeans`.
        """
        return emmeans(self, specs, by=by, ddf=ddf, at=at, level=level)

    def ranova(self, data=None):
        """Likelihood-ratio test of each random-effect term (lmerTest's ``ranova``).

        See :func:`mixedmodels.inference.ranova.ranova`.
        """
        return ranova(self, data=data)

    def drop1(self, ddf: str = "Satterthwaite"):
        """F tests of the fixed terms that can be dropped (lmerTest's ``drop1``).

        See :func:`mixedmodels.inference.ranova.drop1`.
        """
        return drop1(self, ddf=ddf)

    def step(self, ddf: str = "Satterthwaite", **kwargs):
        """Backward elimination of random then fixed terms (lmerTest's ``step``).

        See :func:`mixedmodels.inference.ranova.step`.
        """
        return step(self, ddf=ddf, **kwargs)

    def r2(self) -> dict[str, float]:
        """Nakagawa's marginal and conditional R2 (performance's ``r2_nakagawa``).

        See :func:`mixedmodels.summaries.r2.r2_nakagawa`.
        """
        return r2_nakagawa(self)

    def icc(self) -> dict[str, float]:
        """Adjusted and unadjusted intraclass correlation (performance's ``icc``).

        See :func:`mixedmodels.summaries.r2.icc`.
        """
        return icc(self)

    def vif(self) -> pd.DataFrame:
        """Variance inflation factors per term (performance's ``check_collinearity``).

        See :func:`mixedmodels.summaries.collinearity.vif`.
        """
        return vif(self)

    def tidy(self, effects=("fixed", "ran_pars"), conf_int: bool = False, **kwargs):
        """A tidy table of the estimates (broom.mixed's ``tidy``).

        See :func:`mixedmodels.summaries.tidy.tidy`.
        """
        return tidy(self, effects=effects, conf_int=conf_int, **kwargs)

    def glance(self) -> pd.DataFrame:
        """One row of fit statistics (broom.mixed's ``glance``).

        See :func:`mixedmodels.summaries.tidy.glance`.
        """
        return glance(self)

    def augment(self, data: pd.DataFrame | None = None) -> pd.DataFrame:
        """The data with fitted values, residuals, leverage, Cook's distance (broom.mixed).

        See :func:`mixedmodels.summaries.tidy.augment`.
        """
        return augment(self, data)

    # -- plots (implemented in mixedmodels.plots) -----------------------------------------
    @cached_property
    def plot(self):
        """Plots of this fit: ``result.plot.caterpillar()``, ``.residuals()``, ``.qq()``, ...

        See :class:`mixedmodels.plots.PlotAccessor`.
        """
        return PlotAccessor(self)

    # -- post-fit tools (issue 18: mixedmodels.predict, influence, workflow, persist) -------
    def predict_frame(self, newdata: pd.DataFrame | None = None, re_form=None, **kwargs):
        """Predictions with standard errors and confidence or prediction intervals.

        See :func:`mixedmodels.predict_intervals.predict_frame`.
        """
        return predict_frame(self, newdata, re_form, **kwargs)

    def leverage(self) -> pd.Series:
        """Diagonal of the hat matrix (lme4's ``hatvalues``).

        See :func:`mixedmodels.influence.leverage`.
        """
        return leverage(self)

    def cooks_distance(self) -> pd.Series:
        """Cook's distance per observation (lme4's ``cooks.distance``).

        See :func:`mixedmodels.influence.cooks_distance`.
        """
        return cooks_distance(self)

    def influence(self, group: str | None = None, **kwargs):
        """Deletion diagnostics per observation or per level of ``group``.

        See :func:`mixedmodels.influence.influence`.
        """
        return influence(self, group, **kwargs)

    def update(self, formula: str | None = None, **kwargs):
        """Refit with an updated formula (R's ``update``: ``". ~ . - x"``).

        See :func:`mixedmodels.workflow.update`.
        """
        return update(self, formula, **kwargs)

    def all_fit(self, optimizers=None, **kwargs):
        """Refit with every optimiser available (lme4's ``allFit``).

        See :func:`mixedmodels.workflow.all_fit`.
        """
        return all_fit(self, optimizers, **kwargs)

    def re_pca(self):
        """Principal components of each random-effect covariance (lme4's ``rePCA``).

        See :func:`mixedmodels.workflow.re_pca`.
        """
        return re_pca(self)

    def get_me(self, name: str):
        """A piece of the model by lme4's ``getME`` name (``"Z"``, ``"Lambda"``, ``"u"``...).

        See :func:`mixedmodels.workflow.get_me`.
        """
        return get_me(self, name)

    def save(self, path):
        """Save the optimiser summary to JSON (MixedModels.jl's ``saveoptsum``).

        See :func:`mixedmodels.persist.save_fit`; restore with :func:`mixedmodels.load_fit`.
        """
        return save_fit(self, path)

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
    return solve_at_optimum(model.stats, factor, lams[0], lams[1:]).u_cov_unscaled


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
