"""The optimiser's settings of a linear mixed model fit, as one frozen, documented record.

``lmer(..., control=...)`` and :meth:`LinearMixedModel.fit` take a :class:`Control` or a
mapping of some of its fields (``{"optimizer": "newuoa"}``); either way the settings are
checked once, here: an unknown setting, optimiser or start is an
:class:`~mixedmodels.errors.ArgumentError` naming the choices, a setting that must be a number
and is not, too. The optimiser's defaults are :data:`mixedmodels.optimize.DEFAULT_CONTROL`'s.

Two settings are checks of the model rather than of the optimiser, lme4's
``lmerControl(check.nobs.vs.nRE=, check.nobs.vs.nlev=)``: ``check_nobs_vs_nre`` and
``check_nobs_vs_nlev``, applied when the model is built (``lmer(..., control=...)`` or
``LinearMixedModel(..., control=...)``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from mixedmodels.errors import ArgumentError
from mixedmodels.optimize import DEFAULT_CONTROL
from mixedmodels.options import NobsCheck, Optimizer, StartMethod, choose

SINGULAR_TOLERANCE = 1e-4
"""A bounded theta component below this marks a fit on the boundary (lme4's ``isSingular``)."""

MODEL_CHECKS = ("check_nobs_vs_nre", "check_nobs_vs_nlev")
"""The settings that check the model when it is built (not passed to the optimiser)."""

__all__ = ["Control", "NobsCheck", "MODEL_CHECKS", "resolve_control"]


def _default(name: str) -> Any:
    return field(default=DEFAULT_CONTROL[name])


@dataclass(frozen=True)
class Control:
    """Settings of the optimiser (BOBYQA by default) and its convergence check.

    Parameters
    ----------
    optimizer
        nlopt's algorithm: ``"bobyqa"`` (lme4's default), ``"newuoa"``, ``"neldermead"``,
        ``"sbplx"`` or ``"cobyla"``.
    ftol_rel, ftol_abs, xtol_abs
        Stopping tolerances on the objective (relative, absolute) and on theta (absolute),
        lme4's (nloptwrap) by default; a relative tolerance stops early on large objectives.
    initial_step, step_floor
        BOBYQA's initial trust-region radius per component is
        ``initial_step * max(|x0_i|, step_floor)`` (relative: the moment start is close).
    start
        ``"moments"`` (moment estimates per random-effect column) or ``"identity"`` (lme4's
        identity lambdas); used when no ``start`` theta is given.
    maxeval
        Most objective evaluations of one run of the optimiser.
    check_convergence
        Check the optimum with finite differences, then take one Newton step from it.
    gradient_tolerance
        The convergence check's tolerance (see :func:`mixedmodels.convergence.check_convergence`).
    check_nobs_vs_nre
        lme4's ``check.nobs.vs.nRE``: a grouping factor's block of unstructured or diagonal
        terms with as many random effects as observations, or more (e.g. a random intercept
        and slope on groups of two rows) cannot be told apart from the residual. ``"stop"``
        (default) refuses the model with a :class:`~mixedmodels.errors.DesignError`,
        ``"warning"`` fits it with an :class:`~mixedmodels.errors.IdentifiabilityWarning`,
        ``"ignore"`` fits it without a word.
    check_nobs_vs_nlev
        lme4's ``check.nobs.vs.nlev``: a grouping factor with as many levels as observations,
        or more (one row per group), whose variance is confounded with the residual's;
        ``"stop"`` (default), ``"warning"`` or ``"ignore"`` as above.

    Examples
    --------
    >>> import mixedmodels as mm
    >>> from mixedmodels.control import Control
    >>> fit = mm.lmer("Reaction ~ Days + (Days | Subject)", mm.datasets.load("sleepstudy"),
    ...               control=Control(optimizer="newuoa"))
    >>> fit.optsum.optimizer
    'newuoa'
    """

    optimizer: Optimizer = _default("optimizer")
    ftol_rel: float = _default("ftol_rel")
    ftol_abs: float = _default("ftol_abs")
    xtol_abs: float = _default("xtol_abs")
    initial_step: float = _default("initial_step")
    step_floor: float = _default("step_floor")
    start: StartMethod = _default("start")
    maxeval: int = _default("maxeval")
    check_convergence: bool = _default("check_convergence")
    gradient_tolerance: float = _default("gradient_tolerance")
    check_nobs_vs_nre: NobsCheck = "stop"
    check_nobs_vs_nlev: NobsCheck = "stop"

    def __post_init__(self) -> None:
        """Check every setting (an unknown optimiser or value is our own error)."""
        object.__setattr__(self, "optimizer", choose("optimizer", self.optimizer, Optimizer))
        object.__setattr__(self, "start", choose("start", self.start, StartMethod))
        for name in MODEL_CHECKS:
            object.__setattr__(self, name, choose(name, getattr(self, name), NobsCheck))
        for item in fields(self):
            value = getattr(self, item.name)
            if item.type in ("float", "int"):
                number = isinstance(value, int | float) and not isinstance(value, bool)
                if not number or value != value:
                    raise ArgumentError(
                        f"control setting {item.name!r} must be a number, got {value!r}"
                    )

    def as_dict(self) -> dict[str, Any]:
        """The optimiser's settings as its functions read them (a new dict; no model checks)."""
        return {name: getattr(self, name) for name in NAMES if name not in MODEL_CHECKS}


NAMES = tuple(item.name for item in fields(Control))

_DEFAULTS = Control()
"""Every default, checked once (a frozen record, so one instance serves every fit)."""


def resolve_control(control: Control | Mapping[str, Any] | None) -> tuple[Control, frozenset[str]]:
    """The checked settings, and the names of those the caller set.

    Parameters
    ----------
    control
        A :class:`Control`, a mapping of some of its fields, or None (every default).

    Returns
    -------
    Control, frozenset of str
        The settings; the fields given (all of them for a :class:`Control`, whose fields are
        all set).

    Raises
    ------
    ArgumentError
        For an unknown setting or value, or a mapping that is not one.
    """
    if control is None:
        return _DEFAULTS, frozenset()
    if isinstance(control, Control):
        return control, frozenset(
            f.name for f in fields(Control) if getattr(control, f.name) != f.default
        )
    if not isinstance(control, Mapping):
        raise ArgumentError(
            f"control must be a Control or a dict of settings, got {type(control).__name__}"
        )
    unknown = sorted(set(control) - set(NAMES))
    if unknown:
        raise ArgumentError(
            f"unknown control setting(s): {', '.join(map(str, unknown))}; the settings are "
            f"{', '.join(sorted(NAMES))}"
        )
    return Control(**control), frozenset(control)
