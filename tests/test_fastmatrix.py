"""Cached model-matrix plans: identical to formulaic's matrices, or not used at all."""

from __future__ import annotations

import sys
from pathlib import Path

import formulaic
import numpy as np
import pandas as pd
import pytest

try:
    import mixedmodels  # noqa: F401
except ImportError:  # not installed: run from the source tree
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from mixedmodels import fastmatrix  # noqa: E402


def _frame(seed, levels="abcd"):
    rng = np.random.default_rng(seed)
    n = 60
    return pd.DataFrame(
        {
            "y": rng.normal(size=n),
            "x": rng.normal(size=n),
            "k": rng.integers(0, 5, n),
            "f": pd.Categorical(rng.choice(list(levels), n), categories=list("abcd")),
            "g": rng.choice(["u", "v", "w"], n),
            "b": rng.random(n) > 0.5,
        }
    )


SIMPLE = [
    "y ~ x",
    "y ~ 0 + f",
    "y ~ f:g",
    "y ~ g * f",
    "y ~ x * f * g",
    "y ~ f + x:g + k",
    "y ~ 1",
    "x + k",
    "0 + f",
    "y ~ b + x",
]


def _as_pair(result):
    rhs = result.rhs if hasattr(result, "rhs") else result
    return list(rhs.columns), np.asarray(rhs, dtype=float)


@pytest.mark.parametrize("spec", SIMPLE)
def test_plan_reproduces_formulaic_on_new_data(spec):
    first, second = _frame(1), _frame(2)
    fastmatrix.remember(spec, first, formulaic.model_matrix(spec, first))
    fast = fastmatrix.cached_model_matrix(spec, second)
    assert fast is not None
    names, values = _as_pair(formulaic.model_matrix(spec, second))
    fast_names, fast_values = _as_pair(fast)
    assert fast_names == names
    np.testing.assert_allclose(fast_values, values, rtol=1e-14, atol=0)
    if hasattr(fast, "lhs"):
        np.testing.assert_array_equal(np.asarray(fast.lhs)[:, 0], second["y"].to_numpy())


@pytest.mark.parametrize("spec", ["y ~ log(x + 10) + f", "y ~ C(g, contr.sum) + x", "y ~ I(x**2)"])
def test_transformed_columns_always_go_to_formulaic(spec):
    frame = _frame(3)
    fastmatrix.remember(spec, frame, formulaic.model_matrix(spec, frame))
    assert fastmatrix.cached_model_matrix(spec, frame) is None


def test_other_levels_present_means_a_different_schema():
    spec = "y ~ f + x"
    full, partial = _frame(4), _frame(5, levels="abc")  # level d unused in the second
    fastmatrix.remember(spec, full, formulaic.model_matrix(spec, full))
    assert fastmatrix.cached_model_matrix(spec, full) is not None
    assert fastmatrix.cached_model_matrix(spec, partial) is None


def test_formulaic_internals_read_by_plans():
    """The only formulaic internals the plans read; if formulaic changes them this fails
    (plans would silently become None: formulaic always used, lmer_many's set-up slower)."""
    frame = _frame(4)
    spec = formulaic.model_matrix("y ~ x + f + x:g", frame).rhs.model_spec
    encoded = fastmatrix.encoded_factors(spec)
    assert encoded is not None, "formulaic's ModelSpec layout changed: update encoded_factors"
    summary = [[(expr, kind, reduced) for expr, kind, _, reduced in term] for term in encoded]
    assert summary == [
        [],
        [("x", "numerical", False)],
        [("f", "categorical", True)],
        [("x", "numerical", False), ("g", "categorical", True)],
    ]
    states = {expr: state for term in encoded for expr, _, state, _ in term}
    assert list(states["f"]["categories"]) == list("abcd")
    assert fastmatrix.default_treatment(states["f"])
    summed = formulaic.model_matrix("y ~ C(g, contr.sum)", frame).rhs.model_spec
    coded = [term[0] for term in fastmatrix.encoded_factors(summed) if term]
    assert coded[0][:2] == ("C(g, contr.sum)", "categorical")
    assert not fastmatrix.default_treatment(coded[0][2])
    # the variables of stateful transforms are found through the parsed factors
    assert {"x", "f"} <= fastmatrix.required_variables("y ~ scale(x) + center(k) + f")
    assert "k" in fastmatrix.required_variables("y ~ scale(x) + center(k) + f")
