"""The terms of a random-effect term's left side, as lmerTest's ranova reduces them."""

from __future__ import annotations


def lhs_terms(lhs: str) -> tuple[bool, list[tuple[str, frozenset[str]]]]:
    """Whether ``lhs`` has an intercept, and its other terms with the variables of each."""
    import formulaic

    terms = list(formulaic.Formula(lhs))
    intercept = any(str(t) == "1" for t in terms)
    named = [(str(t), frozenset(str(f.expr) for f in t.factors)) for t in terms if str(t) != "1"]
    return intercept, named
