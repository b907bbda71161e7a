"""What can be done with a fitted GLMM beyond its estimates.

:class:`GlmerPostFitMethods` is the part of :class:`~mixedmodels.glmm.results.GlmerResult` that
hands the fit to the inference, summaries, plots and influence modules: intervals, profiles
and the parametric bootstrap (lme4), marginal means (emmeans), R2 and the ICC (performance),
tidy tables (broom.mixed), likelihood-ratio tests of terms and influence measures.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np
import pandas as pd

from mixedmodels.glmm.inference import bootstrap, confint, profile, simulate
from mixedmodels.inference.emmeans import emmeans
from mixedmodels.plots import PlotAccessor
from mixedmodels.summaries.tidy import glance, tidy


class GlmerPostFitMethods:
    """Inference, summaries, plots and influence of a GLMM fit (mixed into GlmerResult)."""

    # -- inference (mixedmodels.glmm.inference) ---------------------------------------------
    def confint(self, method: str = "wald", level: float = 0.95, **kwargs) -> pd.DataFrame:
        """Confidence intervals: ``"wald"`` (default here), ``"profile"`` or ``"boot"``.

        See :func:`mixedmodels.glmm.inference.confint`.
        """
        return confint(self, method=method, level=level, **kwargs)

    def profile(self, **kwargs):
        """Likelihood profile of the parameters (see :func:`mixedmodels.glmm.inference.profile`)."""
        return profile(self, **kwargs)

    def bootstrap(self, n: int = 100, seed=None, **kwargs) -> pd.DataFrame:
        """Parametric bootstrap (see :func:`mixedmodels.glmm.inference.bootstrap`)."""
        return bootstrap(self, n=n, seed=seed, **kwargs)

    def simulate(self, nsim: int = 1, seed=None, re_form=None) -> np.ndarray:
        """Responses simulated from the fit, ``(n, nsim)``.

        See :func:`mixedmodels.glmm.inference.simulate`.
        """
        return simulate(self, nsim=nsim, seed=seed, re_form=re_form)

    @cached_property
    def plot(self):
        """Plots of the random effects: ``result.plot.caterpillar()``, ``.qq_ranef()``.

        See :class:`mixedmodels.plots.PlotAccessor`.
        """
        return PlotAccessor(self)

    # -- after the fit: postfit-infer (mixedmodels.inference / mixedmodels.summaries) -------
    def emmeans(self, specs, by=None, at=None, level: float = 0.95):
        """Estimated marginal means on the link scale, z tests (R's emmeans).

        ``.summary(type="response")`` back-transforms. See
        :func:`mixedmodels.inference.emmeans.emmeans`.
        """
        return emmeans(self, specs, by=by, at=at, level=level)

    def tidy(self, effects=("fixed", "ran_pars"), conf_int: bool = False, **kwargs):
        """A tidy table of the estimates (broom.mixed's ``tidy``): Wald z tests.

        See :func:`mixedmodels.summaries.tidy.tidy`.
        """
        return tidy(self, effects=effects, conf_int=conf_int, **kwargs)

    def glance(self) -> pd.DataFrame:
        """One row of fit statistics (broom.mixed's ``glance``)."""
        return glance(self)

    # -- after the fit: postfit-glmm (R2/ICC, likelihood-ratio deletions, influence) --------
    def r2(self, approximation: str = "lognormal") -> dict[str, float]:
        """Nakagawa's marginal and conditional R2 (performance's ``r2_nakagawa``).

        See :mod:`mixedmodels.summaries.r2_glmm`.
        """
        from mixedmodels.summaries.r2 import r2_nakagawa

        return r2_nakagawa(self, approximation=approximation)

    def icc(self, approximation: str = "lognormal") -> dict[str, float]:
        """Adjusted and unadjusted intraclass correlation (performance's ``icc``)."""
        from mixedmodels.summaries.r2 import icc

        return icc(self, approximation=approximation)

    def ranova(self, data=None):
        """Likelihood-ratio test of each random-effect term, refitted with glmer.

        See :func:`mixedmodels.inference.glmm_lrt.ranova_glmer`.
        """
        from mixedmodels.inference.glmm_lrt import ranova_glmer

        return ranova_glmer(self, data)

    def drop1(self, data=None):
        """lme4's ``drop1(fit, test = "Chisq")``: likelihood-ratio tests of the fixed terms.

        See :func:`mixedmodels.inference.glmm_lrt.drop1_glmer`.
        """
        from mixedmodels.inference.glmm_lrt import drop1_glmer

        return drop1_glmer(self, data)

    def leverage(self, weights: str = "working") -> pd.Series:
        """Diagonal of the hat matrix at the final PIRLS weights (``"prior"``: lme4's).

        See :func:`mixedmodels.influence_glmm.glmm_leverage`.
        """
        from mixedmodels.influence_glmm import glmm_leverage

        return glmm_leverage(self, weights)

    def cooks_distance(self, weights: str = "working") -> pd.Series:
        """Cook's distance per observation (``weights="prior"``: lme4's ``cooks.distance``)."""
        from mixedmodels.influence_glmm import glmm_cooks_distance

        return glmm_cooks_distance(self, weights)

    def augment(self, data: pd.DataFrame | None = None, hat: str = "working") -> pd.DataFrame:
        """The data with broom.mixed's ``augment`` columns of a glmer fit.

        See :func:`mixedmodels.summaries.augment_glmm.augment_glmm`.
        """
        from mixedmodels.summaries.augment_glmm import augment_glmm

        return augment_glmm(self, data, hat)
