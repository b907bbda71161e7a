"""Saving a fit's optimiser summary and restoring the fit without optimising."""

from __future__ import annotations

import json

import numpy as np
import pytest
from _postfit import data, fit

import mixedmodels as mm
from mixedmodels.errors import MixedModelsError
from mixedmodels.persist import restore, save_fit


@pytest.mark.parametrize("name", ["sleepstudy", "penicillin", "dietox"])
def test_restored_fit_equals_the_fit(name, tmp_path, monkeypatch):
    own = fit(name)
    path = own.save(tmp_path / "fit.json")
    model = mm.LinearMixedModel(own.model.formula, data(name))

    def no_optimising(*args, **kwargs):
        raise AssertionError("restore must not optimise")

    monkeypatch.setattr(model, "fit", no_optimising)
    back = restore(model, path)
    np.testing.assert_array_equal(back.theta, own.theta)
    np.testing.assert_allclose(back.fixef, own.fixef, rtol=1e-12)
    assert back.objective == pytest.approx(own.objective, rel=1e-12)
    assert back.optsum.evaluations == own.optsum.evaluations
    assert back.optsum.optimizer == own.optsum.optimizer
    assert mm.load_fit(path, data(name)).sigma == pytest.approx(own.sigma, rel=1e-12)
    saved = json.loads(path.read_text())
    assert saved["formula"] == own.model.formula
    assert saved["optsum"]["final"] == list(own.theta)


def test_restore_refuses_other_data_or_models(tmp_path):
    own = fit("sleepstudy")
    path = save_fit(own, tmp_path / "fit.json")
    other = data("sleepstudy").assign(Reaction=lambda d: d["Reaction"] + np.arange(len(d)))
    with pytest.raises(MixedModelsError, match="other data"):
        mm.load_fit(path, other)
    with pytest.raises(MixedModelsError, match="saved fit is of"):
        restore(mm.LinearMixedModel("Reaction ~ 1 + (1 | Subject)", data("sleepstudy")), path)
    broken = json.loads(path.read_text())
    broken["objective"] += 1.0
    (tmp_path / "broken.json").write_text(json.dumps(broken))
    with pytest.raises(MixedModelsError, match="objective at the saved theta"):
        mm.load_fit(tmp_path / "broken.json", data("sleepstudy"))
    (tmp_path / "other.json").write_text("{}")
    with pytest.raises(MixedModelsError, match="not a saved mixedmodels fit"):
        mm.load_fit(tmp_path / "other.json", data("sleepstudy"))
    with pytest.raises(MixedModelsError, match="cannot read"):
        mm.load_fit(tmp_path / "missing.json", data("sleepstudy"))
