"""New data coded as the fitting data were; unseen or missing factor levels refused by name."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm
from mixedmodels.errors import DesignError

DIETOX = mm.datasets.load("dietox")


def fit(formula: str, data: pd.DataFrame = DIETOX):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mm.lmer(formula, data)


EVIT = fit("Weight ~ Time + Evit + (1 | Pig)")


def rows(**columns) -> pd.DataFrame:
    new = DIETOX.head(3).copy()
    for name, values in columns.items():
        new[name] = values
    return new


def test_known_levels_predict_by_hand():
    new = rows(Evit=["Evit000", "Evit100", "Evit200"])
    beta = EVIT.fixef
    want = beta["(Intercept)"] + beta["Time"] * new["Time"].to_numpy()
    want = want + np.array([0.0, beta["EvitEvit100"], beta["EvitEvit200"]])
    np.testing.assert_allclose(EVIT.predict(new, re_form="~0"), want, rtol=1e-12)


@pytest.mark.parametrize("re_form", [None, "~0"])
def test_an_unseen_level_names_the_column_and_the_level(re_form):
    new = rows(Evit=["Evit999", "Evit000", "Evit100"])
    with pytest.raises(DesignError, match=r"column 'Evit'.*did not see: 'Evit999'.*'Evit000'"):
        EVIT.predict(new, re_form=re_form)


@pytest.mark.parametrize("missing", [None, np.nan])
def test_a_missing_level_names_the_column_and_the_row(missing):
    new = rows(Evit=["Evit000", missing, "Evit100"])
    with pytest.raises(DesignError, match=r"column 'Evit'.*missing values in row\(s\) 1"):
        EVIT.predict(new, re_form="~0")


def test_categorical_dtype_with_an_unused_category_is_refused_only_where_used():
    levels = ["Evit000", "Evit100", "Evit200", "Evit999"]
    new = rows(Evit=pd.Categorical(["Evit000", "Evit100", "Evit200"], categories=levels))
    plain = rows(Evit=["Evit000", "Evit100", "Evit200"])
    np.testing.assert_array_equal(
        EVIT.predict(new, re_form="~0"), EVIT.predict(plain, re_form="~0")
    )
    new = rows(Evit=pd.Categorical(["Evit000", "Evit999", "Evit200"], categories=levels))
    with pytest.raises(DesignError, match="'Evit999'"):
        EVIT.predict(new, re_form="~0")


def test_a_coded_factor_is_checked_through_its_column():
    coded = fit("Weight ~ Time + C(Evit, contr.sum) + (1 | Pig)")
    with pytest.raises(DesignError, match=r"column 'Evit'.*'Evit999'"):
        coded.predict(rows(Evit=["Evit999", "Evit000", "Evit100"]), re_form="~0")


def test_a_factor_of_an_expression_is_refused_naming_the_expression():
    data = DIETOX.assign(dose=DIETOX["Evit"].str.slice(4).astype(int))
    coded = fit("Weight ~ Time + C(dose // 100) + (1 | Pig)", data)
    new = rows(dose=[300, 0, 100])
    with pytest.raises(DesignError, match=r"'C\(dose // 100\)'.*did not see.*\{3\}"):
        coded.predict(new, re_form="~0")


def test_a_categorical_random_slope_refuses_unseen_levels():
    slopes = fit("Weight ~ Time + (0 + Evit | Pig)")
    with pytest.raises(DesignError, match=r"column 'Evit' \(in term \(0 \+ Evit \| Pig\)\)"):
        slopes.predict(rows(Evit=["Evit999", "Evit000", "Evit100"]))


def test_a_missing_covariate_gives_a_missing_prediction_even_inside_an_expression():
    data = DIETOX.assign(dose=DIETOX["Evit"].str.slice(4).astype(int))
    coded = fit("Weight ~ Time + C(dose > 50) + (1 | Pig)", data)
    got = coded.predict(rows(dose=[np.nan, 0.0, 100.0]), re_form="~0")
    assert np.isnan(got.iloc[0])  # NaN > 50 is False in numpy, unknown in R: no prediction
    assert np.isfinite(got.iloc[1:]).all()


def test_statsmodels_facade_predict_refuses_unseen_levels():
    import mixedmodels.compat.statsmodels as sm

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = sm.MixedLM.from_formula("Weight ~ Time + Evit", DIETOX, groups="Pig").fit()
    with pytest.raises(DesignError, match="'Evit999'"):
        result.predict(rows(Evit=["Evit999", "Evit000", "Evit100"]))


def _sleep_fit():
    return mm.lmer("Reaction ~ Days + (Days | Subject)", mm.datasets.load("sleepstudy"))


@pytest.mark.parametrize(
    "days",
    [["a"], pd.Categorical([1]), pd.to_datetime(["2020-01-01"])],
    ids=["text", "category", "date"],
)
def test_a_numeric_column_given_as_another_kind_is_named(days):
    fit = _sleep_fit()
    with pytest.raises(DesignError, match="newdata column 'Days' .*must be numeric"):
        fit.predict(pd.DataFrame({"Days": days, "Subject": ["308"]}))


def test_a_refused_newdata_leaves_the_fit_usable():
    # formulaic rewrites a spec's encoder state in place when it meets text in a numeric
    # column; the fit's predictions afterwards must be what they were
    fit = _sleep_fit()
    good = pd.DataFrame({"Days": [0, 1], "Subject": ["308", "308"]})
    before = fit.predict(good).to_numpy()
    state = {k: (v[0], dict(v[1])) for k, v in fit.model.design.fixed_spec.encoder_state.items()}
    with pytest.raises(DesignError):
        fit.predict(pd.DataFrame({"Days": ["a"], "Subject": ["308"]}))
    assert fit.model.design.fixed_spec.encoder_state == state
    np.testing.assert_array_equal(fit.predict(good).to_numpy(), before)
    assert len(fit.predict(good.iloc[:0])) == 0


def test_numbers_held_as_objects_are_numbers():
    fit = _sleep_fit()
    given = pd.DataFrame({"Days": np.array([1, None], dtype=object), "Subject": ["308", "308"]})
    out = fit.predict(given).to_numpy()
    expected = fit.predict(pd.DataFrame({"Days": [1.0], "Subject": ["308"]})).to_numpy()
    assert out[0] == expected[0]
    assert np.isnan(out[1])
