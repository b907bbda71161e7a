"""statsmodels' MixedLM example notebook, run on mixedmodels.

The cells of statsmodels' "Linear Mixed Effects Models" notebook (the version written for
statsmodels 0.6-0.7: ``MixedLMParams(2, 2)`` with ``set_fe_params`` / ``set_cov_re``,
``profile_re`` without ``vtype``), unchanged except for two lines:

    import mixedmodels.compat.statsmodels as sm               # was: import statsmodels.api as sm
    from mixedmodels.compat.statsmodels import MixedLMParams  # was: ...mixed_linear_model

and for reading the CSV files from the copies bundled with mixedmodels. Run it as
``python examples/statsmodels_notebook.py [output-directory]``; the two profile-likelihood
figures are saved there as PNG files.
"""

from __future__ import annotations

import sys
import warnings
from importlib import resources
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

import mixedmodels.compat.statsmodels as sm  # noqa: E402
from mixedmodels.compat.statsmodels import MixedLMParams  # noqa: E402

DATA = resources.files("mixedmodels.datasets") / "data"


def main(outdir: str | Path = "statsmodels_notebook_figures") -> dict:
    """Run the notebook; return its fitted results and the paths of the figures."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    results = {}

    # -- Growth curves of pigs: random intercept -----------------------------------------
    data = pd.read_csv(DATA / "dietox.csv")
    model = sm.MixedLM.from_formula("Weight ~ Time", data, groups=data["Pig"])
    result = model.fit()
    print(result.summary())
    results["dietox_ri"] = result

    # -- random intercept and random slope -----------------------------------------------
    model = sm.MixedLM.from_formula("Weight ~ Time", data, re_formula="Time", groups=data["Pig"])
    result = model.fit()
    print(result.summary())
    results["dietox_rs"] = result

    # -- independent random intercept and slope ------------------------------------------
    free = MixedLMParams(2, 2)
    free.set_fe_params(np.ones(2))
    free.set_cov_re(np.eye(2))
    result = model.fit(free=free)
    print(result.summary())
    results["dietox_indep"] = result

    # -- Sitka growth data ---------------------------------------------------------------
    data = pd.read_csv(DATA / "sitka.csv")
    endog = data["size"]
    data["Intercept"] = 1
    exog = data[["Intercept", "Time"]]

    model = sm.MixedLM(endog, exog, data["tree"], exog.iloc[:, 0])
    result = model.fit()
    print(result.summary())
    results["sitka_ri"] = result

    model = sm.MixedLM(endog, exog, data["tree"], np.asarray(exog))
    result = model.fit()
    print(result.summary())
    results["sitka_rs"] = result

    # -- profile likelihoods -------------------------------------------------------------
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore")
        likev = result.profile_re(0, dist_low=0.1, dist_high=0.1)
    plt.figure(figsize=(10, 8))
    plt.plot(likev[:, 0], 2 * likev[:, 1])
    plt.xlabel("Variance of random intercept", size=17)
    plt.ylabel("-2 times profile log likelihood", size=17)
    plt.savefig(outdir / "profile_intercept_variance.png")
    plt.close()
    results["profile_intercept"] = likev

    re = result.cov_re.iloc[1, 1]
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore")
        likev = result.profile_re(1, dist_low=0.8 * re, dist_high=0.8 * re)
    plt.figure(figsize=(10, 8))
    plt.plot(likev[:, 0], 2 * likev[:, 1])
    plt.xlabel("Variance of random slope", size=17)
    plt.ylabel("-2 times profile log likelihood", size=17)
    plt.savefig(outdir / "profile_slope_variance.png")
    plt.close()
    results["profile_slope"] = likev
    results["figures"] = sorted(outdir.glob("*.png"))
    return results


if __name__ == "__main__":
    main(*sys.argv[1:2])
