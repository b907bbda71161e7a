"""tidy, glance and augment against broom.mixed 0.2.9.4 (make_postfit.R), value for value."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from inference._postfit import POSTFIT_IDS, fit_at_r_theta, postfit_reference

from mixedmodels.errors import InferenceError
from mixedmodels.summaries import augment, glance, tidy


def _values(got: pd.DataFrame, rows: list[dict], columns, tol=1e-6):
    want = pd.DataFrame(rows)
    assert len(got) == len(want)
    for column in columns:
        a, b = got[column].to_numpy(dtype=float), want[column].to_numpy(dtype=float)
        err = np.abs(a - b) / np.maximum(1.0, np.abs(b))
        assert np.max(err) <= tol, column


@pytest.mark.parametrize("name", POSTFIT_IDS)
@pytest.mark.parametrize(
    ("key", "ddf"), [("tidy_fixed", "Satterthwaite"), ("tidy_fixed_kr", "Kenward-Roger")]
)
def test_tidy_fixed(name, key, ddf):
    table = tidy(fit_at_r_theta(name), "fixed", conf_int=True, ddf=ddf)
    ref = postfit_reference(name)[key]
    assert list(table.columns) == [c for c in ref[0] if c != ".row"]
    # sum- and Helmert-coded columns (oats_coded) too: named by position, as lme4
    assert list(table["term"]) == [r["term"] for r in ref]
    _values(table, ref, ["estimate", "std.error", "statistic", "p.value", "conf.low", "conf.high"])
    np.testing.assert_allclose(table["df"], [r["df"] for r in ref], rtol=1e-4)


@pytest.mark.parametrize("name", POSTFIT_IDS)
@pytest.mark.parametrize(
    ("key", "scales"), [("tidy_ran_pars", "sdcor"), ("tidy_ran_pars_var", "vcov")]
)
def test_tidy_ran_pars(name, key, scales):
    table = tidy(fit_at_r_theta(name), "ran_pars", scales=scales)
    ref = postfit_reference(name)[key]
    assert list(table["term"]) == [r["term"] for r in ref]
    assert list(table["group"]) == [r["group"] for r in ref]
    _values(table, ref, ["estimate"])


@pytest.mark.parametrize("name", POSTFIT_IDS)
def test_tidy_ran_vals(name):
    table = tidy(fit_at_r_theta(name), "ran_vals")
    ref = postfit_reference(name)["tidy_ran_vals"]
    keys = [(r["group"], str(r["level"]), r["term"]) for r in ref]
    assert list(zip(table["group"], table["level"], table["term"], strict=True)) == keys
    _values(table, ref, ["estimate", "std.error"])


@pytest.mark.parametrize("name", POSTFIT_IDS)
def test_glance(name):
    row = glance(fit_at_r_theta(name))
    ref = postfit_reference(name)["glance"]
    assert list(row.columns) == list(ref)
    for key, value in ref.items():
        assert row[key].iloc[0] == pytest.approx(value, rel=1e-9), key


@pytest.mark.parametrize("name", POSTFIT_IDS)
def test_augment(name):
    frame = augment(fit_at_r_theta(name))
    ref = pd.DataFrame(postfit_reference(name)["augment"])  # one record per observation
    assert len(frame) == len(ref)
    for column in ref.columns:
        np.testing.assert_allclose(frame[column], ref[column], rtol=1e-6, atol=1e-9, err_msg=column)
    assert {"yield", "strength", "diameter", "Weight", "angle"} & set(frame.columns)


def test_combined_effects_and_lme4_style():
    fit = fit_at_r_theta("dietox")
    both = fit.tidy(effects=["fixed", "ran_pars", "ran_vals"])
    assert list(dict.fromkeys(both["effect"])) == ["fixed", "ran_pars", "ran_vals"]
    plain = fit.tidy("fixed", conf_int=True, ddf=None)
    assert "df" not in plain.columns
    z = (plain["conf.high"] - plain["estimate"]) / plain["std.error"]
    np.testing.assert_allclose(z, 1.959963984540054)


def test_bad_arguments():
    fit = fit_at_r_theta("pastes")
    with pytest.raises(InferenceError, match="effects must be"):
        tidy(fit, "random")
    with pytest.raises(InferenceError, match="scales must be"):
        tidy(fit, "ran_pars", scales="sd")
    with pytest.raises(InferenceError, match="conf_level"):
        tidy(fit, conf_level=95)
