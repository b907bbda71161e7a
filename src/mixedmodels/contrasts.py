"""The ``contrasts=`` argument (lme4's ``contrasts = list(x = "contr.sum")``) applied to terms.

formulaic parses the fixed part into terms of factors; every factor that *is* a variable named
in ``contrasts`` (the column itself, or a call written out as the key, such as ``factor(x)``)
is replaced by ``C(factor, contrasts)``, and the formula is written back from those terms.
Factors that only use the variable (``np.log(x + 1)``, ``x > 3``) are left alone: contrasts
code a factor, not an expression of it.
"""

from __future__ import annotations

from collections.abc import Callable

from mixedmodels.errors import DesignError, FormulaError

__all__ = ["CONTRAST_KINDS", "apply_contrasts"]

CONTRAST_KINDS = {
    "treatment": "contr.treatment",
    "sum": "contr.sum",
    "helmert": "contr.helmert",
    "poly": "contr.poly",
    "diff": "contr.diff",
}
"""Short names of lme4's (R's) contrasts and formulaic's spelling of each."""


def _contrast_spec(kind) -> str:
    text = str(kind)
    return CONTRAST_KINDS.get(text.removeprefix("contr."), text)


def _factor_text(factor) -> str:
    method = str(getattr(factor.eval_method, "value", factor.eval_method)).lower()
    expr = str(factor.expr)
    if method == "lookup" and not expr.isidentifier():
        return f"`{expr}`"
    return expr


def apply_contrasts(
    fixed: str,
    contrasts: dict[str, str] | None,
    formula: str,
    is_numeric: Callable[[str], bool] | None = None,
) -> str:
    """The fixed part with each factor named in ``contrasts`` coded as asked.

    Parameters
    ----------
    fixed
        The fixed part (formulaic right-hand-side text, as :func:`parse_formula` gives it).
    contrasts
        Variable (or written factor) -> ``"treatment"``, ``"sum"``, ``"helmert"``,
        ``"poly"``, ``"diff"`` or a formulaic contrast expression
        (``"contr.treatment('b')"``).
    formula
        The whole formula, for messages.
    is_numeric
        Whether a data column is numeric (contrasts for it are refused); unchecked when None.

    Returns
    -------
    str
        The fixed part written back from its terms.

    Raises
    ------
    FormulaError
        A key that is no factor of the fixed part.
    DesignError
        A key that is a numeric column (contrasts code factors: write ``factor(x)``).
    """
    if not contrasts:
        return fixed
    import formulaic

    terms = list(formulaic.Formula(fixed, _ordering="none"))
    wanted = {str(name): _contrast_spec(kind) for name, kind in contrasts.items()}
    used: set[str] = set()
    written = []
    intercept = False
    for term in terms:
        parts: list[str] | None = []
        for factor in term.factors:
            expr = str(factor.expr)
            text = _factor_text(factor)
            if expr == "1" and len(term.factors) == 1:
                intercept = True
                parts = None
                break
            if expr in wanted:
                if is_numeric is not None and is_numeric(expr):
                    raise DesignError(
                        f"contrasts given for {expr!r}, a numeric column: contrasts code "
                        f"factors; write factor({expr}) in the formula to use it as one"
                    )
                used.add(expr)
                text = f"C({text}, {wanted[expr]})"
            parts.append(text)  # type: ignore[union-attr]  # None only after the break
        if parts is not None:
            written.append(":".join(parts))
    unused = sorted(set(wanted) - used)
    if unused:
        raise FormulaError(
            f"contrasts given for {', '.join(map(repr, unused))}, which is not a factor of the "
            "fixed part (contrasts apply to a variable used as a factor, or to a call written "
            "exactly as in the formula, e.g. 'factor(x)')",
            formula,
        )
    return " + ".join(([] if intercept else ["0"]) + written) or "1"
