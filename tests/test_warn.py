"""Warnings point at the user's line, not at model.py (whatever the call path)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

import mixedmodels as mm
from mixedmodels.errors import RankDeficiencyWarning, SingularFitWarning


def _singular_data() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    y = rng.normal(size=(6, 10))
    y -= y.mean(axis=1, keepdims=True)  # equal group means: no variance between groups
    return pd.DataFrame({"y": y.ravel(), "g": np.repeat(list("abcdef"), 10)})


def _caught(call):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call()
    return caught


def test_singular_fit_warning_points_at_the_caller_of_lmer_and_of_fit():
    data = _singular_data()
    for call in (
        lambda: mm.lmer("y ~ 1 + (1 | g)", data),
        lambda: mm.LinearMixedModel("y ~ 1 + (1 | g)", data).fit(),
    ):
        caught = [w for w in _caught(call) if issubclass(w.category, SingularFitWarning)]
        assert caught, "the fit should be singular"
        assert caught[0].filename == __file__


def test_rank_deficiency_warning_points_at_the_user():
    data = _singular_data().assign(x=1.0, z=2.0)
    caught = _caught(lambda: mm.lmer("y ~ x + z + (1 | g)", data))
    rank = [w for w in caught if issubclass(w.category, RankDeficiencyWarning)]
    assert rank
    assert rank[0].filename == __file__


def test_anova_refit_warning_points_at_the_user():
    sleep = mm.datasets.load("sleepstudy")
    small = mm.lmer("Reaction ~ 1 + (1 | Subject)", sleep)
    large = mm.lmer("Reaction ~ Days + (1 | Subject)", sleep)
    caught = [w for w in _caught(lambda: mm.anova(small, large)) if "refit" in str(w.message)]
    assert caught
    assert caught[0].filename == __file__
