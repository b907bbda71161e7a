"""The variance components behind Nakagawa's R2 (mixedmodels.summaries.components)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import mixedmodels as mm
from mixedmodels.summaries.components import VarianceComponents
from mixedmodels.summaries.r2 import r2_nakagawa, variance_components


def test_the_total_is_the_sum_of_the_three_parts():
    parts = VarianceComponents(fixed=1.5, random=2.0, residual=0.25, by_term={"g": 2.0})
    assert parts.total == 3.75
    assert parts.distribution is None
    assert parts.dispersion == 0.0


def test_the_record_is_frozen():
    parts = VarianceComponents(fixed=1.0, random=1.0, residual=1.0, by_term={})
    with pytest.raises(dataclasses.FrozenInstanceError):
        parts.fixed = 2.0  # type: ignore[misc]


def test_a_random_intercept_fits_components_are_its_variances():
    fit = mm.lmer("Yield ~ 1 + (1 | Batch)", mm.datasets.load("dyestuff"))
    parts = variance_components(fit)
    assert isinstance(parts, VarianceComponents)
    assert parts.fixed == 0.0  # an intercept alone explains no variance
    assert parts.residual == pytest.approx(fit.sigma**2, rel=1e-12)
    assert parts.random == pytest.approx((fit.theta[0] * fit.sigma) ** 2, rel=1e-10)
    assert sum(parts.by_term.values()) == pytest.approx(parts.random, rel=1e-12)
    r2 = r2_nakagawa(fit)
    assert r2["R2_conditional"] == pytest.approx(parts.random / parts.total, rel=1e-12)


def test_the_fixed_part_is_the_variance_of_the_fixed_predictions():
    data = mm.datasets.load("sleepstudy")
    fit = mm.lmer("Reaction ~ Days + (1 | Subject)", data)
    parts = variance_components(fit)
    prediction = fit.design.X @ np.asarray(fit.fixef)
    assert parts.fixed == pytest.approx(np.var(prediction, ddof=1), rel=1e-10)
    assert r2_nakagawa(fit)["R2_marginal"] == pytest.approx(parts.fixed / parts.total, rel=1e-12)
