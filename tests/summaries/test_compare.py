"""compare against performance::compare_performance 0.10.2 (make_postfit.R)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from inference._postfit import REFERENCE, result_at

import mixedmodels as mm
from mixedmodels.errors import InferenceError
from mixedmodels.summaries import compare

R = json.loads((REFERENCE / "postfit_compare.json").read_text())


@pytest.mark.parametrize(
    ("key", "dataset", "factor"),
    [("dietox", "dietox", "Pig"), ("sleepstudy", "sleepstudy", "Subject")],
)
def test_compare_matches_performance(key, dataset, factor):
    data = mm.datasets.load(dataset)
    data[factor] = data[factor].astype("category")
    for column in ("Evit", "Cu"):
        if column in data:
            data[column] = data[column].astype("category")
    ref = R[key]
    fits = [
        result_at(mm.LinearMixedModel(f, data), t)
        for f, t in zip(ref["formulas"], ref["theta"], strict=True)
    ]
    table = compare(*fits)
    want = pd.DataFrame(ref["rows"]).drop(columns=".row")
    assert list(table.columns) == list(want.columns)
    for column in want.columns:
        got, exp = table[column].to_numpy(), want[column].to_numpy(dtype=float)
        err = np.abs(got - exp) / np.maximum(1.0, np.abs(exp))
        assert np.max(err) <= 1e-6, column


def test_compare_needs_fits_and_matching_names():
    with pytest.raises(InferenceError, match="at least one"):
        compare()
    fit = mm.lmer("Reaction ~ Days + (1 | Subject)", mm.datasets.load("sleepstudy"))
    with pytest.raises(InferenceError, match="2 names for 1 fits"):
        compare(fit, names=["a", "b"])
    assert list(compare(fit, fit, names=["a", "b"]).index) == ["a", "b"]
