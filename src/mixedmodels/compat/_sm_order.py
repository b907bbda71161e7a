"""patsy's order of the fixed-effects columns, for formulas evaluated by formulaic.

statsmodels builds its design with patsy, which orders terms differently from formulaic:
the intercept first, then the terms grouped by the set of *numeric* factors they contain
(the group with no numeric factor first, the other groups in the order they first appear
in the formula as written), and within each group by interaction degree (stable). The
columns of one term are the same in both (left-most factor varying fastest), so only whole
terms move.
"""

from __future__ import annotations

import numpy as np

__all__ = ["patsy_column_order"]


def _key(term) -> frozenset[str]:
    return frozenset(str(f) for f in term.factors)


def patsy_column_order(formula: str, spec) -> np.ndarray:
    """Permutation taking formulaic's columns of ``spec`` to patsy's order.

    Parameters
    ----------
    formula
        The formula as written (``"y ~ x + C(g)"``; a one-sided formula is accepted).
    spec
        formulaic's ``ModelSpec`` of the right-hand side evaluated from ``formula``.

    Returns
    -------
    numpy.ndarray
        Column indices: ``matrix[:, order]`` is the design in patsy's order.
    """
    import formulaic

    parsed = formulaic.Formula(formula, _ordering="none")
    rhs = parsed.rhs if hasattr(parsed, "rhs") else parsed
    written = [_key(t) for t in rhs]
    kinds = {str(expr): kind for expr, (kind, _) in spec.encoder_state.items()}
    columns = {name: i for i, name in enumerate(spec.column_names)}
    by_key = {_key(s.term): [columns[c] for c in s.columns] for s in spec.structure}
    rank = {key: i for i, key in enumerate(written)}
    buckets: dict[frozenset[str], list[frozenset[str]]] = {}
    intercept = []
    for key in sorted(by_key, key=lambda k: rank.get(k, len(rank))):
        if key == frozenset({"1"}) or not key:
            intercept.append(key)
            continue
        numeric = frozenset(
            f for f in key if str(getattr(kinds.get(f), "value", "numerical")) == "numerical"
        )
        buckets.setdefault(numeric, []).append(key)
    groups = list(buckets)
    if frozenset() in buckets:
        groups.remove(frozenset())
        groups.insert(0, frozenset())
    ordered = list(intercept)
    for group in groups:
        ordered.extend(sorted(buckets[group], key=len))
    return np.array([i for key in ordered for i in by_key[key]], dtype=np.intp)
