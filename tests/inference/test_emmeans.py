"""emmeans: marginal means and contrasts against R's emmeans 1.8.4-1 (make_postfit.R)."""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm
from mixedmodels.errors import InferenceError
from mixedmodels.inference._tukey import ptukey
from mixedmodels.inference.emmeans import emmeans, reference_grid
from mixedmodels.inference.multiplicity import Family, critical_values, dunnettx_cdf

from ._postfit import POSTFIT_IDS, as_level, fit_at_r_theta, postfit_reference

VALUES = ("estimate", "SE", "lower.CL", "upper.CL", "t.ratio", "p.value")
TOLERANCE = 1e-6  # values: |ours - R| <= 1e-6 * max(1, |R|)
DF_TOLERANCE = 1e-4  # df: relative


def _cases():
    for name in POSTFIT_IDS:
        for i, entry in enumerate(postfit_reference(name)["emmeans"]):
            specs = entry["specs"] if isinstance(entry["specs"], list) else [entry["specs"]]
            label = f"{name}-{'+'.join(specs)}-by{entry['by']}-{entry['ddf']}"
            yield pytest.param(name, i, id=label)


@cache
def _grid(name: str, i: int):
    entry = postfit_reference(name)["emmeans"][i]
    return entry, emmeans(fit_at_r_theta(name), entry["specs"], by=entry["by"], ddf=entry["ddf"])


def _assert_table(ours: pd.DataFrame, rows: list[dict], value: str, skip=()):
    ref = pd.DataFrame(rows)
    assert len(ours) == len(ref)
    for column in (value, "SE", "lower.CL", "upper.CL", "t.ratio", "p.value"):
        if column in skip:
            continue
        want = ref[column].to_numpy(dtype=float)
        got = ours[column].to_numpy(dtype=float)
        err = np.abs(got - want) / np.maximum(1.0, np.abs(want))
        assert np.nanmax(err) <= TOLERANCE, (column, np.nanmax(err))
    want, got = ref["df"].to_numpy(dtype=float), ours["df"].to_numpy(dtype=float)
    assert np.max(np.abs(got - want) / want) <= DF_TOLERANCE


@pytest.mark.parametrize(("name", "i"), list(_cases()))
def test_marginal_means_match_emmeans(name, i):
    entry, grid = _grid(name, i)
    ref = pd.DataFrame(entry["emmeans"])
    keys = grid.specs + grid.by
    for key in keys:
        assert [as_level(v) for v in grid.table[key]] == [as_level(v) for v in ref[key]]
    _assert_table(grid.table, entry["emmeans"], "emmean")
    _assert_table(grid.summary(adjust="sidak"), entry["emmeans_sidak"], "emmean")


@pytest.mark.parametrize(("name", "i"), list(_cases()))
def test_contrasts_match_emmeans(name, i):
    entry, grid = _grid(name, i)
    for item in entry["contrasts"]:
        method = entry["custom"] if item["method"] == "custom" else item["method"]
        table = grid.contrast(method, adjust=item["adjust"]).table
        ref = pd.DataFrame(item["rows"])
        assert list(table["contrast"]) == list(ref["contrast"]), item["method"]
        for b in grid.by:
            assert [as_level(v) for v in table[b]] == [as_level(v) for v in ref[b]]
        # emmeans finds the dunnettx quantile by uniroot(tol = 5e-4): its limits are that coarse
        skip = ("lower.CL", "upper.CL") if item["adjust"] == "dunnettx" else ()
        _assert_table(
            table.rename(columns={"estimate": "estimate"}), item["rows"], "estimate", skip
        )
        if skip:
            half = (table["upper.CL"] - table["lower.CL"]) / 2
            ref_half = (ref["upper.CL"] - ref["lower.CL"]) / 2
            assert np.max(np.abs(half - ref_half) / table["SE"]) < 1e-3


def test_dunnettx_critical_value_is_the_exact_root():
    family = Family(groups=((0, 1, 2, 3, 4),), n_means=6, pairwise=False)
    df = np.array([115.0, 39.7, 8.2])
    cv, method, _ = critical_values(df, 0.95, "dunnettx", family)
    assert method == "dunnettx"
    assert np.allclose(dunnettx_cdf(cv, 5, df), 0.95, atol=1e-10)


def test_tukey_distribution_matches_scipy():
    from scipy.stats import studentized_range

    for k, df in [(3, 10.0), (6, 115.0), (4.5, 39.7), (10, 1000.0)]:
        q = np.array([0.7, 2.0, 3.6, 5.5])
        assert np.allclose(ptukey(q, k, df), studentized_range.cdf(q, k, df), atol=5e-8)


def test_tukey_note_when_not_pairwise():
    grid = _grid("penicillin", 0)[1]
    contrast = grid.contrast("trt.vs.ctrl", adjust="tukey")
    assert contrast.adjust_applied == ("sidak", "sidak")
    assert "sidak" in contrast.to_text()


def test_reference_grid_holds_covariates_at_their_means():
    fit = fit_at_r_theta("dietox")
    grid = reference_grid(fit)
    assert len(grid) == 9
    data = mm.datasets.load("dietox")
    assert np.allclose(grid["Time"], data["Time"].mean())
    at = reference_grid(fit, at={"Time": [1, 12], "Evit": ["Evit000"]})
    assert len(at) == 3 * 2
    assert set(at["Evit"]) == {"Evit000"}


def test_at_changes_the_means_as_a_prediction_would():
    fit = fit_at_r_theta("dietox")
    one = emmeans(fit, "Evit", at={"Time": 1.0}).table["emmean"]
    two = emmeans(fit, "Evit", at={"Time": 2.0}).table["emmean"]
    assert np.allclose(two - one, fit.fixef["Time"])


def test_coded_factor_gives_the_same_means():
    """emmeans do not depend on the contrast coding (oats treatment vs helmert/sum)."""
    a = emmeans(fit_at_r_theta("oats"), "nitro", ddf="Satterthwaite").table
    b = emmeans(fit_at_r_theta("oats_coded"), "nitro", ddf="Satterthwaite").table
    assert np.allclose(a["emmean"], b["emmean"], atol=1e-6)
    assert np.allclose(a["SE"], b["SE"], rtol=1e-6)


def test_c_wrapped_numeric_factor():
    data = mm.datasets.load("oats")
    fit = mm.lmer("yield ~ C(nitro) * Variety + (1 | Block/Variety)", data)
    table = fit.emmeans("nitro").table
    assert list(table["nitro"]) == [0.0, 0.2, 0.4, 0.6]
    pairs = fit.emmeans("nitro").pairs().table
    assert pairs["contrast"].iloc[0] == "nitro0 - nitro0.2"


def test_ml_fit_falls_back_to_satterthwaite_with_a_note():
    data = mm.datasets.load("penicillin")
    fit = mm.lmer("diameter ~ sample + (1 | plate)", data, REML=False)
    grid = fit.emmeans("sample")
    assert grid.inference.method == "Satterthwaite"
    assert "Kenward-Roger is not available" in grid.to_text()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"specs": "nope"}, "not a variable of the fixed part"),
        ({"specs": "sample", "by": "sample"}, "both specs and by"),
        ({"specs": "sample", "ddf": "magic"}, "ddf must be"),
        ({"specs": "sample", "at": {"sample": ["Z"]}}, "level"),
        ({"specs": "sample", "at": {"color": 1}}, "not a fixed-effect variable"),
    ],
)
def test_bad_arguments_are_named(kwargs, message):
    fit = fit_at_r_theta("penicillin")
    with pytest.raises(InferenceError, match=message):
        emmeans(fit, **kwargs)


def test_bad_contrasts_are_named():
    grid = _grid("penicillin", 0)[1]
    with pytest.raises(InferenceError, match="6 weights"):
        grid.contrast({"c": [1, -1]})
    with pytest.raises(InferenceError, match="ref"):
        grid.contrast("trt.vs.ctrl", ref="Z")
    with pytest.raises(InferenceError, match="method must be"):
        grid.contrast("polynomial")
    with pytest.raises(InferenceError, match="unknown adjust"):
        grid.contrast("pairwise", adjust="scheffe-ish")


def test_printed_tables_say_the_method():
    grid = _grid("penicillin", 0)[1]
    text = grid.pairs().to_text()
    assert "tukey method for a family of 6 estimates" in text
    assert "Kenward-Roger" in grid.to_text()
