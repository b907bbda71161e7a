"""The values an option may take, as ``Literal`` types, and the one validator of them all.

Every option with a fixed set of values (the optimiser, the start, the denominator degrees of
freedom, the interval method, the multiplicity adjustment, a GLMM's residual type...) is a
``Literal`` alias here or beside its function, and is checked by :func:`choose`: the value
(any case, or one of its aliases) becomes the canonical one, anything else is an error of our
own naming the option and the values allowed. A type checker reads the same ``Literal``, so
the editor offers the values and flags a misspelt one before the code runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, get_args

import numpy as np

from mixedmodels.errors import ArgumentError, MixedModelsError

__all__ = ["Optimizer", "StartMethod", "choose", "flag", "values_of"]

Optimizer = Literal["bobyqa", "newuoa", "neldermead", "sbplx", "cobyla"]
"""nlopt's derivative-free bounded algorithms (``bobyqa``, lme4's default, is ours)."""

StartMethod = Literal["moments", "identity"]
"""Starting theta: moment estimates per random-effect column, or lme4's identity lambdas."""


def values_of(allowed: Any) -> tuple[str, ...]:
    """The values of a ``Literal`` alias, in order (a tuple of strings is returned as it is)."""
    if isinstance(allowed, tuple):
        return allowed
    values = get_args(allowed)
    if not values:
        raise TypeError(f"{allowed!r} is not a Literal type")
    return tuple(values)


def choose(
    name: str,
    value: object,
    allowed: Any,
    *,
    aliases: Mapping[str, str] | None = None,
    error: type[MixedModelsError] = ArgumentError,
) -> str:
    """The canonical value of option ``name``, or an error naming the values allowed.

    Parameters
    ----------
    name
        The option's name, as the caller's signature spells it (used in the message).
    value
        What was passed. Matched without regard to case or surrounding space.
    allowed
        A ``Literal`` alias (e.g. :data:`Optimizer`) or a tuple of the canonical values.
    aliases
        Other spellings accepted (lower case) and the canonical value each stands for.
    error
        The error class raised (an :class:`~mixedmodels.errors.ArgumentError` unless the
        caller's phase has its own, e.g. ``InferenceError``).

    Returns
    -------
    str
        One of the values of ``allowed``, as spelt there.

    Raises
    ------
    MixedModelsError
        Of class ``error``, for a value that is none of them.

    Examples
    --------
    >>> from mixedmodels.options import Optimizer, choose
    >>> choose("optimizer", "BOBYQA", Optimizer)
    'bobyqa'
    >>> choose("optimizer", "lbfgs", Optimizer)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    mixedmodels.errors.ArgumentError: unknown optimizer 'lbfgs': use one of 'bobyqa', ...
    """
    values = values_of(allowed)
    if isinstance(value, str):
        key = value.strip().lower()
        for canonical in values:
            if canonical.lower() == key:
                return canonical
        if aliases and key in aliases:
            return aliases[key]
    spelled = ", ".join(repr(v) for v in values)
    if aliases:
        spelled += f" (or {', '.join(repr(a) for a in aliases)})"
    raise error(f"unknown {name} {value!r}: use one of {spelled}")


def flag(name: str, value: object) -> bool:
    """A yes/no option as a ``bool``, or an error naming the option.

    ``True``/``False`` (Python's or numpy's) and the integers 0 and 1 are accepted; anything
    else (``"no"``, ``None``, ``2``) is refused rather than read by its truth value, so that
    ``REML="no"`` never fits by REML without a word.

    Parameters
    ----------
    name
        The option's name, as the caller's signature spells it (used in the message).
    value
        What was passed.

    Returns
    -------
    bool

    Raises
    ------
    ArgumentError
        For any other value.

    Examples
    --------
    >>> from mixedmodels.options import flag
    >>> flag("REML", 0)
    False
    >>> flag("REML", "no")
    Traceback (most recent call last):
    ...
    mixedmodels.errors.ArgumentError: REML must be True or False, got 'no'
    """
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)) and value in (0, 1):
        return bool(value)
    raise ArgumentError(f"{name} must be True or False, got {value!r}")
