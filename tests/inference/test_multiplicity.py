"""Mirror tests of mixedmodels.inference.multiplicity against statsmodels and closed forms."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from mixedmodels.errors import InferenceError
from mixedmodels.inference.multiplicity import (
    Family,
    adjust_p,
    critical_values,
    effective_adjust,
    validate_adjust,
)

_T = np.array([0.3, -2.9, 1.7, 2.2, -0.8, 3.6])
_DF = np.full(_T.size, 14.0)
_ONE = Family(groups=(tuple(range(_T.size)),), n_means=4, pairwise=True)


@pytest.mark.parametrize(
    ("ours", "theirs"), [("bonferroni", "bonferroni"), ("holm", "holm"), ("fdr", "fdr_bh")]
)
def test_stepwise_adjustments_match_statsmodels(ours, theirs):
    raw = 2 * stats.t.sf(np.abs(_T), _DF)
    p, method, note = adjust_p(_T, _DF, ours, _ONE)
    assert method == ours
    assert note is None
    np.testing.assert_allclose(p, multipletests(raw, method=theirs)[1], rtol=1e-12)


def test_adjustments_apply_within_each_family():
    two = Family(groups=((0, 1, 2), (3, 4, 5)), n_means=3, pairwise=False)
    p, _, _ = adjust_p(_T, _DF, "holm", two)
    raw = 2 * stats.t.sf(np.abs(_T), _DF)
    np.testing.assert_allclose(p[:3], multipletests(raw[:3], method="holm")[1], rtol=1e-12)
    np.testing.assert_allclose(p[3:], multipletests(raw[3:], method="holm")[1], rtol=1e-12)


def test_sidak_is_its_closed_form():
    raw = 2 * stats.t.sf(np.abs(_T), _DF)
    p, _, _ = adjust_p(_T, _DF, "sidak", _ONE)
    np.testing.assert_allclose(p, 1 - (1 - raw) ** _T.size, rtol=1e-12)


def test_tukey_p_values_are_the_studentized_range_tail():
    p, method, _ = adjust_p(_T, _DF, "tukey", _ONE)
    assert method == "tukey"
    expected = stats.studentized_range.sf(np.sqrt(2) * np.abs(_T), 4, 14)
    np.testing.assert_allclose(p, expected, atol=1e-7)


def test_tukey_outside_pairwise_families_becomes_sidak_with_a_note():
    not_pairs = Family(groups=_ONE.groups, n_means=4, pairwise=False)
    method, note = effective_adjust("tukey", not_pairs)
    assert method == "sidak"
    assert "only appropriate" in note
    assert effective_adjust("holm", Family(((0,),), 1, True)) == ("none", None)


def test_p_adjust_keeps_non_estimable_rows_nan_and_counts_them():
    t = np.array([2.5, np.nan, 1.0])
    p, _, _ = adjust_p(t, np.full(3, 10.0), "bonferroni", Family(((0, 1, 2),), 3, False))
    assert np.isnan(p[1])
    assert p[0] == pytest.approx(min(1.0, 3 * 2 * stats.t.sf(2.5, 10)))


def test_critical_values_give_the_adjusted_coverage():
    family = Family(((0, 1, 2),), 3, False)
    cv, method, _ = critical_values(_DF[:3], 0.95, "holm", family)
    assert method == "bonferroni"  # holm intervals are Bonferroni's, as in emmeans
    np.testing.assert_allclose(cv, stats.t.ppf(1 - 0.05 / 6, 14), rtol=1e-10)
    sidak, _, _ = critical_values(_DF[:3], 0.95, "sidak", family)
    coverage = (1 - 2 * stats.t.sf(sidak, 14)) ** 3
    np.testing.assert_allclose(coverage, 0.95, rtol=1e-10)
    with pytest.raises(InferenceError, match="level"):
        critical_values(_DF[:3], 1.5, "none", family)


def test_aliases_and_unknown_methods():
    assert validate_adjust("BH") == "fdr"
    assert validate_adjust("Dunnett") == "dunnettx"
    with pytest.raises(InferenceError, match="scheffe"):
        validate_adjust("scheffe")
