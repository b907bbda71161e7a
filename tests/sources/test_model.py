"""Out-of-core fits answer anova, Kenward-Roger and simulate as the in-memory fit of the data."""

from __future__ import annotations

import warnings
from functools import cache

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm
from mixedmodels.errors import DesignError, InferenceError, RowDataUnavailableError

from .conftest import frame, pandas_fit, parquet_file

duckdb = pytest.importorskip("duckdb")

FORMULA = "y ~ x * f + z + (1 + z | g)"
SMALLER = "y ~ x + f + z + (1 + z | g)"
METHODS = ("chunks", "sql")


@cache
def data() -> pd.DataFrame:
    """Covariates far from zero (the engine centres them), a factor, weights and an offset."""
    rng = np.random.default_rng(7)
    n, levels = 600, 30
    g = rng.integers(0, levels, n)
    x = 10.0 + 2.0 * rng.normal(size=n)
    z = 3.0 + rng.normal(size=n)
    f = rng.choice(["a", "b", "c"], n)
    b0, b1 = rng.normal(0, 2.0, levels), rng.normal(0, 0.5, levels)
    y = 0.3 * x + (f == "b") + z + b0[g] + b1[g] * z + rng.normal(size=n)
    return pd.DataFrame(
        {
            "y": y,
            "x": x,
            "z": z,
            "f": pd.Categorical(f),
            "g": pd.Categorical([f"g{k:02d}" for k in g]),
            "w": rng.uniform(0.5, 2.0, n),
            "off": rng.normal(size=n),
        }
    )


def streamed(formula: str, method: str, **options):
    source = mm.sources.DuckDBSource(
        duckdb.connect().from_df(data()), method=method, chunk_size=128
    )
    return mm.lmer(formula, source, **options)


@cache
def pair(formula: str, method: str, weights=None, offset=None):
    """The in-memory fit, and the out-of-core model's result at the in-memory theta."""
    fit = mm.lmer(formula, data(), weights=weights, offset=offset)
    out = streamed(formula, method, weights=weights, offset=offset)
    return fit, out.model.result_at(fit.theta, fit.reml, fit.optsum), out


def assert_tables_equal(got, expected, rtol=1e-8) -> None:
    """Equal tables to ``rtol``; p-values to 1e-6 (at 1e-74 a tail amplifies the F's error)."""
    assert list(got.index) == list(expected.index)
    assert list(got.table.columns) == list(expected.table.columns)
    for column in expected.table.columns:
        tol = max(rtol, 1e-6) if column.startswith("Pr(") else rtol
        np.testing.assert_allclose(
            got[column].to_numpy(float), expected[column].to_numpy(float), rtol=tol, err_msg=column
        )


@pytest.mark.parametrize("name", ["sleepstudy", "dietox"])
def test_anova_of_the_reference_models_matches_in_memory(name, parquet_dir):
    source = mm.sources.DuckDBSource(parquet_file(parquet_dir, name), chunk_size=50)
    fit = pandas_fit(name)
    at = source.model(frame(name)[0]).result_at(fit.theta, fit.reml, fit.optsum)
    for ddf in ("Satterthwaite", "Kenward-Roger"):
        assert_tables_equal(mm.anova(at, ddf=ddf), mm.anova(fit, ddf=ddf))


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("type_", [3, 2, 1])
def test_anova_satterthwaite_matches_in_memory(method, type_):
    fit, at, out = pair(FORMULA, method)
    assert not out.design.has_rows
    expected = mm.anova(fit, type=type_)
    # Satterthwaite's df are finite differences of the objective, which magnify the last
    # bits in which two summations of A differ: the in-memory fit of the same rows shuffled
    # differs from this one by 4e-9 in its df
    assert_tables_equal(mm.anova(at, type=type_), expected, rtol=1e-7)
    # at its own optimum: the optimiser stops within about 1e-5 of theta on either A
    assert_tables_equal(mm.anova(out, type=type_), expected, rtol=1e-4)


@pytest.mark.parametrize("method", METHODS)
def test_kenward_roger_matches_in_memory(method):
    fit, at, _ = pair(FORMULA, method)
    assert_tables_equal(mm.anova(at, ddf="Kenward-Roger"), mm.anova(fit, ddf="Kenward-Roger"))
    L = np.eye(fit.n_fixed)[1:3]  # x and f[T.b]: one joint test
    got, want = at.test(L, ddf="Kenward-Roger"), fit.test(L, ddf="Kenward-Roger")
    np.testing.assert_allclose(got.to_numpy(float), want.to_numpy(float), rtol=1e-8)
    assert "Kenward-Roger" in str(at.summary(ddf="Kenward-Roger"))


def test_kenward_roger_refuses_prior_weights_out_of_core():
    _, at, _ = pair(FORMULA, "chunks", weights="w")
    with pytest.raises(InferenceError, match="prior weights"):
        mm.anova(at, ddf="Kenward-Roger")


@pytest.mark.parametrize("method", METHODS)
def test_model_comparison_of_two_out_of_core_fits(method):
    fit, _, out = pair(FORMULA, method)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # refitted with ML
        expected = mm.anova(fit, mm.lmer(SMALLER, data()))
        got = mm.anova(out, streamed(SMALLER, method))
    assert_tables_equal(got, expected, rtol=1e-6)


def test_model_comparison_refuses_another_response():
    _, _, out = pair(FORMULA, "chunks")
    other = streamed("x ~ f + (1 | g)", "chunks")
    with pytest.raises(DesignError, match="response of model 2"):
        mm.anova(out, other, refit=False)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("options", [{}, {"weights": "w", "offset": "off"}])
def test_simulate_reads_rows_and_matches_in_memory(method, options):
    fit, at, _ = pair(FORMULA, method, **options)
    got = at.simulate(nsim=3, seed=11)
    np.testing.assert_allclose(got, fit.simulate(nsim=3, seed=11), rtol=1e-8, atol=1e-9)
    assert got.shape == (fit.nobs, 3)


def test_methods_that_need_rows_say_why():
    _, at, _ = pair(FORMULA, "chunks")
    with pytest.raises(RowDataUnavailableError, match="write_fitted"):
        _ = at.residuals
    with pytest.raises(RowDataUnavailableError, match="new response"):
        at.bootstrap(n=2, seed=1)


def test_an_out_of_core_fit_is_an_lmer_result_with_a_row_free_design():
    fit, at, out = pair(FORMULA, "chunks")
    assert type(out) is type(fit) is mm.LmerResult
    assert isinstance(out.design, mm.design_spec.DesignSpec)
    assert out.design.fixed_names == fit.design.fixed_names
    gram = fit.design.fixed_crossproduct()  # out of core: R'R of the streamed QR
    np.testing.assert_allclose(
        out.design.fixed_crossproduct(), gram, rtol=1e-10, atol=1e-12 * np.abs(gram).max()
    )
    np.testing.assert_allclose(out.design.response_sums(), fit.design.response_sums(), rtol=1e-12)
    with pytest.raises(RowDataUnavailableError, match="in memory"):
        fit.write_fitted("unused.parquet")


@pytest.mark.parametrize("method", METHODS)
def test_emmeans_hold_covariates_at_their_whole_data_means(method):
    fit, at, _ = pair(FORMULA, method)
    assert at.design.covariate_means.keys() == fit.design.covariate_means.keys() == {"x", "z"}
    for name, value in fit.design.covariate_means.items():
        assert at.design.covariate_means[name] == pytest.approx(value, rel=1e-13)
    got, want = at.emmeans("f").to_frame(), fit.emmeans("f").to_frame()  # Kenward-Roger df
    numeric = want.select_dtypes("number").columns
    np.testing.assert_allclose(got[numeric].to_numpy(), want[numeric].to_numpy(), rtol=1e-8)
