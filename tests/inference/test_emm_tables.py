"""Contrasts of marginal means with adjusted p-values (mixedmodels.inference.emm_tables)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import mixedmodels as mm
from mixedmodels.inference.emm_tables import ContrastTable


def data():
    rng = np.random.default_rng(0)
    n = 90
    f = np.tile(["a", "b", "c"], n // 3)
    g = np.repeat(np.arange(15), 6)  # f varies within g
    y = (f == "b") * 1.0 + rng.normal(size=15)[g] + rng.normal(size=n)
    return pd.DataFrame({"y": y, "f": f, "g": g})


@pytest.fixture(scope="module")
def fit():
    return mm.lmer("y ~ f + (1 | g)", data())


@pytest.fixture(scope="module")
def pairs(fit):
    return fit.emmeans("f").pairs()


def test_pairs_are_differences_of_the_coefficients(fit, pairs):
    assert isinstance(pairs, ContrastTable)
    table = pairs.summary()
    assert table["contrast"].tolist() == ["a - b", "a - c", "b - c"]
    b, c = fit.fixef["fb"], fit.fixef["fc"]
    np.testing.assert_allclose(table["estimate"], [-b, -c, b - c], rtol=1e-10)
    np.testing.assert_allclose(pairs.L @ np.asarray(fit.fixef), table["estimate"], rtol=1e-12)


def test_unadjusted_tests_and_intervals_are_t_based(pairs):
    table = pairs.summary(adjust="none", level=0.9)
    t = table["estimate"] / table["SE"]
    np.testing.assert_allclose(table["t.ratio"], t, rtol=1e-12)
    np.testing.assert_allclose(table["p.value"], 2 * stats.t.sf(np.abs(t), table["df"]), rtol=1e-8)
    q = stats.t.ppf(0.95, table["df"])
    np.testing.assert_allclose(table["lower.CL"], table["estimate"] - q * table["SE"], rtol=1e-8)
    np.testing.assert_allclose(table["upper.CL"], table["estimate"] + q * table["SE"], rtol=1e-8)


def test_the_tukey_adjustment_raises_p_values_and_widens_intervals(pairs):
    raw = pairs.summary(adjust="none")
    tukey = pairs.summary()  # pairs: Tukey by default
    assert np.all(tukey["p.value"] >= raw["p.value"])
    assert np.all(tukey["upper.CL"] - tukey["lower.CL"] > raw["upper.CL"] - raw["lower.CL"])
    bonferroni = pairs.summary(adjust="bonferroni")
    np.testing.assert_allclose(
        bonferroni["p.value"], np.minimum(3 * raw["p.value"], 1.0), rtol=1e-10
    )


def test_treatment_contrasts_against_the_first_level(fit):
    table = fit.emmeans("f").contrast("trt.vs.ctrl").summary(adjust="none")
    assert table["contrast"].tolist() == ["b - a", "c - a"]
    np.testing.assert_allclose(table["estimate"], [fit.fixef["fb"], fit.fixef["fc"]], rtol=1e-10)


def test_the_table_renders_its_rows(pairs):
    text = pairs.to_text()
    for label in ("a - b", "a - c", "b - c"):
        assert label in text
