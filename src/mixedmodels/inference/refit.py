"""lme4's ``refitML``: the maximum-likelihood fit of a REML fit's model, for every caller.

Likelihood-ratio tests (:func:`mixedmodels.anova`) and likelihood profiles compare
deviances, so they need ML fits; both refit here.
"""

from __future__ import annotations

import warnings

from mixedmodels.errors import ConvergenceWarning, FittingError

__all__ = ["refit_ml"]


def refit_ml(result, control: dict | None = None, quiet: bool = False):
    """The ML fit of ``result``'s model, started from its estimates.

    Parameters
    ----------
    result
        A fitted :class:`~mixedmodels.results.LmerResult` (REML or ML).
    control
        Optimiser settings for the refit (see :meth:`LinearMixedModel.fit`).
    quiet
        Leave out convergence warnings (a profile's own checks follow).

    Returns
    -------
    LmerResult
        The ML fit; from the default start when the fit from the REML estimates fails.
    """
    model = result.model
    with warnings.catch_warnings():
        if quiet:
            warnings.simplefilter("ignore", ConvergenceWarning)
        try:
            return model.fit(REML=False, start=result.theta, control=control)
        except FittingError:  # (nlopt's rounding stop is handled in optimize.run_nlopt)
            return model.fit(REML=False, control=control)
