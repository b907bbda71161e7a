"""``profile_re`` against statsmodels 0.15 on the same fits.

Ours holds the variance fixed on the data scale and re-estimates everything else: the true
profile log-likelihood. statsmodels holds ``variance / scale`` fixed and reports
``value * refitted scale`` with the log-likelihood of that refit (docs/statsmodels.md), so
each of its rows is the log-likelihood of *one* parameter point whose variance is the
reported value: the profile there can only be as high or higher. Both agree at the estimate.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sm_results_fits import pair

from mixedmodels.compat._sm_inference import profile_variance
from mixedmodels.errors import DesignError

pytest.importorskip("statsmodels.api")

CASES = [("slope_reml", 0, "re"), ("slope_reml", 1, "re"), ("slope_ml", 1, "re")]


def _ours_at(result, re_ix, vtype, values):
    """Our profile at given data-scale variances (the grid statsmodels reports)."""
    if vtype == "re":
        rows = result.pmap.variance_row(re_ix)
    else:
        rows = result.pmap.vc_theta[[result.model.vc_names.index(re_ix)]]
    engine = result.lmer_result.model
    return profile_variance(engine, result.reml, rows, result.coordinates, values)


def _dist(result, re_ix, vtype):
    if vtype == "re":
        return 0.5 * float(result.cov_re.iloc[re_ix, re_ix])
    return 0.5 * float(result.vcomp[result.model.vc_names.index(re_ix)])


@pytest.mark.parametrize(("name", "re_ix", "vtype"), [*CASES, ("vc", "Pig", "vc")])
def test_profile_is_at_least_statsmodels_refit(name, re_ix, vtype):
    p = pair(name)
    dist = _dist(p.ours, re_ix, vtype)
    kwargs = {"num_low": 2, "dist_low": dist, "num_high": 2, "dist_high": dist}
    ours = p.ours.profile_re(re_ix, vtype, **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = p.at_ours.profile_re(re_ix, vtype, **kwargs)
    assert ours.shape == theirs.shape == (5, 2)
    # the middle row is the fit itself in both
    assert ours[2, 0] == pytest.approx(theirs[2, 0], rel=1e-6)
    assert ours[2, 1] == pytest.approx(p.ours.llf, abs=1e-8)
    assert theirs[2, 1] == pytest.approx(p.ours.llf, abs=1e-6)
    # our grid is the data-scale grid; statsmodels' first column is x * refitted scale
    estimate = ours[2, 0]
    np.testing.assert_allclose(ours[:, 0], estimate + dist * np.linspace(-1, 1, 5))
    # at statsmodels' reported variances, the true profile is at least its refit's llf
    at_theirs = _ours_at(p.ours, re_ix, vtype, theirs[:, 0])
    assert (at_theirs[:, 1] >= theirs[:, 1] - 1e-6).all()
    assert (ours[:, 1] <= p.ours.llf + 1e-8).all()


def test_statsmodels_call_forms():
    p = pair("vc")
    dist = _dist(p.ours, "Pig", "vc")
    by_name = p.ours.profile_re("Pig", "vc", num_low=1, dist_low=dist, num_high=1, dist_high=dist)
    by_kw = p.ours.profile_re(
        re_ix="Pig", vtype="vc", num_low=1, dist_low=dist, num_high=1, dist_high=dist
    )
    by_index = p.ours.profile_re(
        0, vtype="vc", num_low=1, dist_low=dist, num_high=1, dist_high=dist
    )
    np.testing.assert_array_equal(by_name, by_kw)
    np.testing.assert_array_equal(by_name, by_index)
    assert by_name.shape == (3, 2)
    # the group variance of the same model, through vtype "re"
    group = p.ours.profile_re(0, "re", num_low=1, dist_low=1.0, num_high=1, dist_high=1.0)
    assert group[1, 0] == pytest.approx(float(p.ours.cov_re.iloc[0, 0]))


def test_profile_refusals_as_statsmodels():
    p = pair("slope_reml")
    too_far = 2 * float(p.ours.cov_re.iloc[1, 1])
    with pytest.raises(DesignError, match="dist_low is too large"):
        p.ours.profile_re(1, "re", dist_low=too_far)
    with pytest.raises(DesignError, match="vtype"):
        p.ours.profile_re(1, "x")
    with pytest.raises(DesignError, match="re_ix"):
        p.ours.profile_re(2, "re")
    with pytest.raises(DesignError, match="variance component"):
        pair("vc").ours.profile_re("Litter", "vc")
