"""What can be done with a fitted linear mixed model beyond its estimates.

:class:`PostFitMethods` is the part of :class:`~mixedmodels.results.LmerResult` that hands the
fit to the inference, summaries, plots and workflow modules: tests and intervals (lmerTest,
lme4), marginal means (emmeans), model checks and tables (performance, broom.mixed), influence,
updates and refits. Each method is a documented door to one function of those modules.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np
import pandas as pd

from mixedmodels.inference.bootstrap import bootstrap
from mixedmodels.inference.bootstrap import simulate as simulate_rows
from mixedmodels.inference.confint import Method as IntervalMethod
from mixedmodels.inference.confint import confint
from mixedmodels.inference.emmeans import emmeans
from mixedmodels.inference.profile import profile
from mixedmodels.inference.ranova import drop1, ranova, step
from mixedmodels.inference.tests import contrast_test
from mixedmodels.influence import cooks_distance, influence, leverage
from mixedmodels.persist import save_fit
from mixedmodels.plots import PlotAccessor
from mixedmodels.predict_intervals import predict_frame
from mixedmodels.predict_intervals import simulate as simulate_new
from mixedmodels.summaries.collinearity import vif
from mixedmodels.summaries.r2 import icc, r2_nakagawa
from mixedmodels.summaries.tidy import augment, glance, tidy
from mixedmodels.workflow import all_fit, get_me, re_pca, update


class PostFitMethods:
    """Inference, summaries, plots and workflow of a fit (mixed into LmerResult)."""

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
