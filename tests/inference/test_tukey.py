"""Mirror tests of mixedmodels.inference._tukey against scipy's studentized range."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from mixedmodels.inference._tukey import ptukey, qtukey


@pytest.mark.parametrize(("k", "df"), [(2, 5), (3, 12), (6, 40), (10, 300), (4, np.inf)])
def test_ptukey_matches_scipy(k, df):
    q = np.array([0.5, 1.5, 3.0, 4.5, 7.0])
    expected = stats.studentized_range.cdf(q, k, df if np.isfinite(df) else 1e7)
    np.testing.assert_allclose(ptukey(q, k, df), expected, atol=1e-7)


@pytest.mark.parametrize(("k", "df"), [(3, 10), (5, 25)])
def test_qtukey_inverts_ptukey_and_matches_scipy(k, df):
    for p in (0.5, 0.9, 0.95, 0.99):
        x = qtukey(p, k, df)
        assert ptukey(x, k, df) == pytest.approx(p, abs=1e-10)
        assert x == pytest.approx(stats.studentized_range.ppf(p, k, df), rel=1e-6)


def test_ptukey_edges_and_broadcasting():
    out = ptukey([-1.0, 0.0, np.inf, 2.0], 3, [10, 10, 10, 1])
    assert out.shape == (4,)
    assert out[0] == 0.0
    assert out[1] == 0.0
    assert out[2] == 1.0
    assert np.isnan(out[3])  # df < 2 is undefined, as in R
    q = np.linspace(0.2, 6.0, 30)
    assert np.all(np.diff(ptukey(q, 4, 20)) > 0)  # a distribution function rises


def test_qtukey_rejects_a_probability_outside_0_1():
    with pytest.raises(ValueError, match="p must be in"):
        qtukey(1.0, 3, 10)
