"""Direct arithmetic on columns against formulaic's evaluation of the same expression."""

from __future__ import annotations

import formulaic
import numpy as np
import pandas as pd
import pytest

from mixedmodels.glmm.expressions import simple_column


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    a = rng.uniform(0.5, 4.0, 30)
    a[3] = np.nan
    return pd.DataFrame(
        {
            "a": a,
            "n": rng.integers(1, 9, 30),
            "flag": rng.uniform(size=30) < 0.5,
            "g": pd.Categorical(rng.choice(["x", "y"], 30)),
        }
    )


@pytest.mark.parametrize(
    "expr",
    ["n - a", "log(n)", "I(a^2)", "a**2 / n + 1", "-a + 2 * n", "exp(-a) * n", "log10(a)",
     "flag * 1", "(n - 1) / (a + 3)", "abs(a - 2)", "3"],
)  # fmt: skip
def test_equals_formulaic(frame, expr):
    got = simple_column(expr, frame)
    inner = expr[2:-1] if expr.startswith("I(") else expr
    expected = np.asarray(
        formulaic.model_matrix(f"0 + I({inner.replace('^', '**')})", frame, na_action="ignore"),
        dtype=float,
    )[:, 0]
    np.testing.assert_allclose(got, expected, rtol=1e-15, equal_nan=True)
    assert got.shape == (len(frame),)
    assert got.flags.writeable


def test_r_functions_formulaic_lacks(frame):
    np.testing.assert_allclose(
        simple_column("sqrt(n) + log2(a)", frame),
        np.sqrt(frame["n"]) + np.log2(frame["a"]),
        equal_nan=True,
    )


@pytest.mark.parametrize("expr", ["g", "log(g)", "missing + 1", "np.log(a)", "mean(a)", "a[0]",
                                  "a if n else 1", "I(a) + I(n)", "a +"])  # fmt: skip
def test_other_expressions_are_left_to_the_formula_engine(frame, expr):
    assert simple_column(expr, frame) is None


def test_a_column_named_like_a_function_is_not_called(frame):
    data = frame.assign(log=frame["a"])
    assert simple_column("log(a)", data) is None
