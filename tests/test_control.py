"""The optimiser's settings: one frozen record, checked once, defaults from DEFAULT_CONTROL."""

from __future__ import annotations

import dataclasses

import pytest

import mixedmodels as mm
from mixedmodels.control import Control, resolve_control
from mixedmodels.errors import ArgumentError
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
