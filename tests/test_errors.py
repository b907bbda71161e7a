"""The package's exceptions and warnings (mixedmodels.errors): what they are and what they say."""

from __future__ import annotations

import pandas as pd
import pytest

import mixedmodels as mm
from mixedmodels import errors
from mixedmodels.errors import (
    ArgumentError,
    CompleteSeparationWarning,
    ConvergenceWarning,
    DesignError,
    FittingError,
    FormulaError,
    InferenceError,
    MissingColumnError,
    MixedModelsError,
    SingularFitWarning,
)


@pytest.mark.parametrize(
    ("error", "builtins"),
    [
        (ArgumentError, (TypeError, ValueError)),
        (FormulaError, (ValueError,)),
        (DesignError, (ValueError,)),
        (MissingColumnError, (DesignError, KeyError)),
        (FittingError, (RuntimeError,)),
        (InferenceError, (ValueError,)),
    ],
)
def test_every_error_is_ours_and_what_python_would_raise(error, builtins):
    assert issubclass(error, MixedModelsError)
    for base in builtins:
        assert issubclass(error, base)


def test_warnings_of_convergence_share_a_class():
    assert issubclass(SingularFitWarning, ConvergenceWarning)
    assert issubclass(CompleteSeparationWarning, ConvergenceWarning)
    for name in errors.__all__:
        assert hasattr(errors, name)


def test_a_formula_error_shows_a_caret_under_the_position():
    error = FormulaError("unexpected ')'", "y ~ x)", 5)
    assert str(error) == "unexpected ')'\n    y ~ x)\n         ^"
    assert error.formula == "y ~ x)"
    assert error.position == 5
    assert str(FormulaError("bad", "y ~ ")) == "bad in formula 'y ~ '"
    assert str(FormulaError("bad")) == "bad"


def test_a_missing_column_error_reads_as_its_message():
    error = MissingColumnError("column(s) not found in the data: 'g'")
    assert str(error) == "column(s) not found in the data: 'g'"  # KeyError would quote it
    assert str(MissingColumnError()) == ""


def test_lmer_raises_them_for_real_inputs():
    data = pd.DataFrame({"y": [1.0, 2.0, 3.0, 4.0], "g": ["a", "a", "b", "b"]})
    with pytest.raises(MissingColumnError, match="'x'"):
        mm.lmer("y ~ x + (1 | g)", data)
    with pytest.raises(FormulaError, match=r"\^"):
        mm.lmer("y ~ (1 | g", data)
    with pytest.raises(MixedModelsError):
        mm.lmer("y ~ 1 + (1 | g)", data, REML="yes")
