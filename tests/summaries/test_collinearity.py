"""VIF against performance::check_collinearity 0.10.2 (make_postfit.R)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from inference._postfit import POSTFIT_IDS, fit_at_r_theta, postfit_reference

from mixedmodels.summaries import vif

COLUMNS = [
    "VIF",
    "VIF_CI_low",
    "VIF_CI_high",
    "SE_factor",
    "Tolerance",
    "Tolerance_CI_low",
    "Tolerance_CI_high",
]


@pytest.mark.parametrize("name", [n for n in POSTFIT_IDS if postfit_reference(n)["vif"]])
def test_vif_matches_performance(name):
    table = vif(fit_at_r_theta(name))
    ref = pd.DataFrame(postfit_reference(name)["vif"])
    assert list(table["Term"]) == list(ref["Term"])
    degenerate = np.abs(table["VIF"].to_numpy() - 1.0) < 1e-12  # 1 - 1/VIF is rounding noise
    for column in COLUMNS:
        got = table[column].to_numpy(dtype=float)
        want = ref[column].to_numpy(dtype=float)  # R's Inf and NaN are both null in JSON
        finite = np.isfinite(got) & np.isfinite(want)
        assert np.array_equal(np.isfinite(got) | degenerate, np.isfinite(want) | degenerate)
        err = np.abs(got[finite] - want[finite]) / np.maximum(1.0, np.abs(want[finite]))
        assert err.size == 0 or np.max(err) <= 1e-6, column


def test_one_term_has_nothing_to_check():
    with pytest.warns(UserWarning, match="fewer than two"):
        table = vif(fit_at_r_theta("penicillin"))
    assert table.empty


def test_orthogonal_coding_has_vif_one():
    """oats with Helmert and sum coding in a balanced design: the estimates are uncorrelated."""
    table = vif(fit_at_r_theta("oats_coded"))
    np.testing.assert_allclose(table["VIF"], 1.0, atol=1e-10)
