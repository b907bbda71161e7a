"""broom.mixed's ``augment`` of a glmer fit: the data with per-observation fit quantities."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["augment_glmm"]


def augment_glmm(result, data: pd.DataFrame | None = None, hat: str = "working") -> pd.DataFrame:
    """The data with fitted values, residuals, leverage and Cook's distance of a glmer fit.

    Parameters
    ----------
    result
        A :class:`~mixedmodels.glmm.GlmerResult`.
    data
        The data the model was fitted to (the fit's own by default); only the rows used are
        kept.
    hat
        The leverage of ``.hat`` and ``.cooksd``: ``"working"`` (default, the hat matrix of the
        final PIRLS weights, in [0, 1]) or ``"prior"`` (lme4's ``hatvalues``, which
        broom.mixed reports); see :mod:`mixedmodels.influence_glmm`.

    Returns
    -------
    pandas.DataFrame
        The data's columns, then broom.mixed's: ``.fitted`` (link scale, with the random
        effects and offset), ``.resid`` (deviance residuals), ``.hat``, ``.cooksd``,
        ``.fixed`` (link scale without the random effects, with the offset), ``.mu`` (the
        fitted means), ``.offset``, ``.sqrtXwt`` (square roots of the working weights),
        ``.sqrtrwt`` (of the prior weights over the variance), ``.weights`` (prior),
        ``.wtres`` (Pearson residuals) and ``.eta`` (= ``.fitted``).
    """
    from mixedmodels.influence_glmm import glmm_cooks_distance, glmm_leverage, working_weights

    index = result.design.row_index
    if data is None:
        data = getattr(result.model, "frame", None)
    frame = pd.DataFrame(index=index) if data is None else data.loc[index].copy()
    problem = result.model.problem
    eta = np.asarray(result.mode.eta, dtype=float)
    mu = np.asarray(result.mode.mu, dtype=float)
    frame[".fitted"] = eta
    frame[".resid"] = result.residuals("deviance").to_numpy()
    frame[".hat"] = glmm_leverage(result, hat).to_numpy()
    frame[".cooksd"] = glmm_cooks_distance(result, hat).to_numpy()
    frame[".fixed"] = result.design.X @ np.asarray(result.beta, float) + problem.offset
    frame[".mu"] = mu
    frame[".offset"] = problem.offset
    frame[".sqrtXwt"] = np.sqrt(working_weights(result))
    frame[".sqrtrwt"] = np.sqrt(problem.prior_weights / result.family.variance(mu))
    frame[".weights"] = problem.prior_weights
    frame[".wtres"] = result.residuals("pearson").to_numpy()
    frame[".eta"] = eta
    return frame
