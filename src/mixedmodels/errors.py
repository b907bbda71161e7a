"""Exceptions and warnings raised by mixedmodels.

One root, :class:`MixedModelsError`, with a subclass per phase, so that users can catch
everything from this package, or only formula problems, or only data problems.
"""

from __future__ import annotations

__all__ = [
    "MixedModelsError",
    "ArgumentError",
    "FormulaError",
    "DesignError",
    "MissingColumnError",
    "FittingError",
    "InferenceError",
    "RowDataUnavailableError",
    "ConvergenceWarning",
    "SingularFitWarning",
    "RankDeficiencyWarning",
    "IdentifiabilityWarning",
    "NonIntegerCountWarning",
    "CompleteSeparationWarning",
]


class MixedModelsError(Exception):
    """Root of every error raised by mixedmodels."""


class ArgumentError(MixedModelsError, TypeError, ValueError):
    """An argument of the wrong kind, in the wrong place, or not one of the allowed values.

    Also a ``TypeError`` and a ``ValueError``, as Python would raise for such arguments.
    """


class FormulaError(MixedModelsError, ValueError):
    """A model formula that cannot be parsed or makes no sense.

    Parameters
    ----------
    message
        What is wrong.
    formula
        The formula text, shown with a caret under the offending position when given.
    position
        Character offset of the offending token in ``formula``.
    """

    def __init__(self, message: str, formula: str | None = None, position: int | None = None):
        self.formula = formula
        self.position = position
        text = message
        if formula is not None and position is not None:
            text = f"{message}\n    {formula}\n    {' ' * position}^"
        elif formula is not None:
            text = f"{message} in formula {formula!r}"
        super().__init__(text)


class DesignError(MixedModelsError, ValueError):
    """The data cannot support the model (bad column values, too few levels, ...)."""


class MissingColumnError(DesignError, KeyError):
    """A variable named in the formula is not a column of the data."""

    def __str__(self) -> str:  # KeyError would quote the message
        """The message as it is."""
        return str(self.args[0]) if self.args else ""


class FittingError(MixedModelsError, RuntimeError):
    """The optimisation could not be carried out (e.g. a non-finite objective)."""


class InferenceError(MixedModelsError, ValueError):
    """An inference request that cannot be carried out (unknown method, level outside (0, 1))."""


class RowDataUnavailableError(MixedModelsError):
    """A per-row quantity was asked of a fit that holds no rows (an out-of-core fit)."""


class ConvergenceWarning(UserWarning):
    """The optimiser may not have reached the optimum, or the optimum is on the boundary."""


class SingularFitWarning(ConvergenceWarning):
    """The fit is singular: a variance is zero or a correlation is +-1."""


class RankDeficiencyWarning(UserWarning):
    """Columns of the fixed-effects model matrix were dropped because they are aliased."""


class IdentifiabilityWarning(UserWarning):
    """A model lme4 would refuse by default was fitted because its check was relaxed.

    E.g. as many random effects as observations, ``control={"check_nobs_vs_nre": "warning"}``.
    """


class NonIntegerCountWarning(UserWarning):
    """A binomial or count response has non-integer values.

    Its likelihood is then not a probability (R's "non-integer counts" warning).
    """


class CompleteSeparationWarning(ConvergenceWarning):
    """A fixed effect separates the outcomes: its estimate runs off to +-infinity."""
