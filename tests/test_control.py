"""The optimiser's settings: one frozen record, checked once, defaults from DEFAULT_CONTROL;
and lme4's model check ``check.nobs.vs.nRE`` as ``check_nobs_vs_nre``."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm
from mixedmodels.control import Control, resolve_control
from mixedmodels.errors import ArgumentError, DesignError, IdentifiabilityWarning
from mixedmodels.optimize import DEFAULT_CONTROL


def test_the_defaults_are_the_optimisers():
    assert Control().as_dict() == DEFAULT_CONTROL


def test_the_record_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        Control().maxeval = 5  # type: ignore[misc]


def test_values_are_canonical():
    assert Control(optimizer="NEWUOA").optimizer == "newuoa"


def test_a_mapping_names_the_settings_it_sets():
    control, given = resolve_control({"ftol_abs": 1e-10})
    assert control.ftol_abs == 1e-10
    assert given == {"ftol_abs"}
    assert resolve_control(None) == (Control(), frozenset())


@pytest.mark.parametrize(
    ("control", "message"),
    [
        ({"optimiser": "bobyqa"}, "unknown control setting.*optimiser"),
        ({"optimizer": "lbfgs"}, "unknown optimizer 'lbfgs'"),
        ({"start": "zero"}, "unknown start 'zero'"),
        ({"maxeval": "many"}, "'maxeval' must be a number"),
        ({"check_nobs_vs_nre": "warn"}, "unknown check_nobs_vs_nre 'warn'"),
        (["bobyqa"], "control must be a Control or a dict"),
    ],
)
def test_bad_settings_are_argument_errors(control, message):
    with pytest.raises(ArgumentError, match=message):
        resolve_control(control)


def test_a_record_and_its_dict_give_the_same_fit():
    data = mm.datasets.load("sleepstudy")
    formula = "Reaction ~ Days + (Days | Subject)"
    by_record = mm.lmer(formula, data, control=Control(optimizer="newuoa"))
    by_dict = mm.lmer(formula, data, control={"optimizer": "newuoa"})
    assert by_record.objective == by_dict.objective
    assert by_record.optsum.optimizer == "newuoa"


# -- lme4's check.nobs.vs.nRE --------------------------------------------------------------
# the first two days of sleepstudy: 18 subjects x 2 rows, (Days | Subject) has 36 effects
TWO_DAYS = "Reaction ~ Days + (Days | Subject)"


def _two_days():
    data = mm.datasets.load("sleepstudy")
    return data[data["Days"] < 2].reset_index(drop=True)


def test_the_nobs_check_stops_by_default():
    assert Control().check_nobs_vs_nre == "stop"
    assert Control(check_nobs_vs_nre="WARNING").check_nobs_vs_nre == "warning"
    assert "check_nobs_vs_nre" not in Control().as_dict()  # not an optimiser setting
    with pytest.raises(DesignError, match=r"'Subject' \(36\).*observations \(36\)"):
        mm.lmer(TWO_DAYS, _two_days())


def test_the_nobs_check_warns_or_is_silent_on_request():
    data = _two_days()
    with pytest.warns(IdentifiabilityWarning, match="random effects for grouping factor"):
        warned = mm.lmer(TWO_DAYS, data, control={"check_nobs_vs_nre": "warning"})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ignored = mm.lmer(TWO_DAYS, data, control=Control(check_nobs_vs_nre="ignore"))
    assert not [w for w in caught if issubclass(w.category, IdentifiabilityWarning)]
    assert warned.objective == ignored.objective
    assert ignored.fixef.size == 2


def test_the_nobs_check_is_set_on_the_model_and_kept_by_update():
    data = _two_days()
    model = mm.LinearMixedModel(TWO_DAYS, data, control={"check_nobs_vs_nre": "ignore"})
    fit = model.fit()
    refit = fit.update(". ~ . - Days")  # same random part: still allowed
    assert refit.fixef.size == 1
    with pytest.raises(DesignError, match="number of random effects"):
        mm.LinearMixedModel(TWO_DAYS, data)


def test_a_model_check_does_not_reach_the_optimiser():
    data = mm.datasets.load("sleepstudy")
    formula = "Reaction ~ Days + (Days | Subject)"
    checked = mm.lmer(formula, data, control={"check_nobs_vs_nre": "ignore"})
    assert checked.objective == mm.lmer(formula, data).objective


def _one_row_per_group():
    rng = np.random.default_rng(3)
    data = pd.DataFrame({"g": np.arange(40), "x": rng.normal(size=40)})
    return data.assign(y=data["x"] + rng.normal(size=40))


def test_the_levels_check_stops_warns_or_is_silent():
    """lme4's check.nobs.vs.nlev: one row per group, whose variance the residual's absorbs."""
    data, formula = _one_row_per_group(), "y ~ x + (1 | g)"
    assert Control().check_nobs_vs_nlev == "stop"
    assert "check_nobs_vs_nlev" not in Control().as_dict()
    with pytest.raises(DesignError, match=r"levels of grouping factor 'g' in \(1 \| g\) \(40\)"):
        mm.lmer(formula, data, control={"check_nobs_vs_nre": "ignore"})
    both = {"check_nobs_vs_nre": "ignore"}
    with pytest.warns(IdentifiabilityWarning, match="levels of grouping factor 'g'"):
        warned = mm.lmer(formula, data, control={**both, "check_nobs_vs_nlev": "warning"})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ignored = mm.lmer(formula, data, control={**both, "check_nobs_vs_nlev": "ignore"})
    assert not [w for w in caught if issubclass(w.category, IdentifiabilityWarning)]
    assert warned.objective == ignored.objective
    with pytest.raises(ArgumentError, match="check_nobs_vs_nlev"):
        Control(check_nobs_vs_nlev="warn")
