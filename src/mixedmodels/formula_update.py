"""R's ``update.formula``: ``". ~ . - x"`` applied to a model formula, terms simplified as R does.

``.`` on the left stands for the old response, on the right for the old right-hand side.
The result is expanded into terms (``*``, ``:``, ``^``, ``/``, ``-``), subtracted terms are
removed and the terms ordered by their number of variables, first appearance breaking ties,
as ``terms.formula`` orders them; a parenthesised random-effects term ``(x | g)`` counts as
one variable, so it can be removed (``- (x | g)``) or added like any other.

This module is pure string processing (the tokenizer of :mod:`mixedmodels.formula`).
"""

from __future__ import annotations

from mixedmodels.errors import FormulaError
from mixedmodels.formula import _OPERAND_END, _match_brackets, _render, _Src, _tokenize, _top

__all__ = ["update_formula"]

_Term = tuple[str, ...]  # variables in order of first appearance


class _Expanded:
    """Terms (ordered, no duplicates) and the intercept of a right-hand side."""

    def __init__(self, terms: list[_Term], intercept: bool | None) -> None:
        self.terms = terms
        self.intercept = intercept  # None: not stated


def split_top(src: _Src, lo: int, hi: int, ops: tuple[str, ...]) -> list[tuple[str, int, int]]:
    """Split ``[lo, hi)`` at top-level operators of ``ops``: ``(operator before, start, end)``.

    A leading unary ``-`` or ``+`` gives a first part with that operator.
    """
    toks = src.toks
    parts: list[tuple[str, int, int]] = []
    start, op = lo, "+"
    i = lo
    while i < hi:
        t = toks[i]
        if t.kind == "open":
            i = src.match[i] + 1
            continue
        if t.kind == "op" and t.text in ops:
            binary = i > lo and toks[i - 1].kind in _OPERAND_END
            if binary or i == lo:
                if i > start:
                    parts.append((op, start, i))
                op, start = t.text, i + 1
        i += 1
    parts.append((op, start, hi))
    return parts


def _text(src: _Src, lo: int, hi: int) -> str:
    return _render(src, lo, hi)


def _interact(a: list[_Term], b: list[_Term]) -> list[_Term]:
    out: list[_Term] = []
    for x in a:
        for y in b:
            t = tuple(dict.fromkeys(x + y))
            if t not in out:
                out.append(t)
    return out


def _union(a: list[_Term], b: list[_Term]) -> list[_Term]:
    return a + [t for t in b if t not in a]


def _same(t: _Term, u: _Term) -> bool:
    return set(t) == set(u)


def _expand(src: _Src, lo: int, hi: int, formula: str) -> _Expanded:
    """Expand a right-hand side (or part of it) into terms."""
    toks = src.toks
    if lo >= hi:
        raise FormulaError("empty expression in the formula update", formula)
    # + and - (lowest precedence)
    parts = split_top(src, lo, hi, ("+", "-"))
    if len(parts) > 1 or parts[0][0] == "-":
        terms: list[_Term] = []
        intercept: bool | None = None
        for op, a, b in parts:
            if a >= b:
                raise FormulaError(f"nothing after {op!r} in the formula update", formula)
            sub = _expand(src, a, b, formula)
            if op == "-":
                terms = [t for t in terms if not any(_same(t, u) for u in sub.terms)]
                if sub.intercept:
                    intercept = False
            else:
                terms = _union(terms, [t for t in sub.terms if not any(_same(t, u) for u in terms)])
                if sub.intercept is not None:
                    intercept = sub.intercept
        return _Expanded(terms, intercept)
    # * then / then : then ^ (R's precedence: ^ > : > %in% > / > *)
    for ops in (("*",), ("/",), (":",)):
        parts = split_top(src, lo, hi, ops)
        if len(parts) > 1:
            acc = _expand(src, parts[0][1], parts[0][2], formula).terms
            for op, a, b in parts[1:]:
                nxt = _expand(src, a, b, formula).terms
                if op == "*":
                    acc = _union(_union(acc, nxt), _interact(acc, nxt))
                elif op == "/":
                    whole = [tuple(dict.fromkeys(v for t in acc for v in t))]
                    acc = _union(acc, _interact(whole, nxt))
                else:
                    acc = _interact(acc, nxt)
            return _Expanded(acc, None)
    parts = split_top(src, lo, hi, ("^",))
    if len(parts) == 2:
        base = _expand(src, parts[0][1], parts[0][2], formula).terms
        try:
            power = int(_text(src, parts[1][1], parts[1][2]))
        except ValueError as exc:
            raise FormulaError("the power in '^' must be an integer", formula) from exc
        acc = list(base)
        for _ in range(power - 1):
            acc = _union(acc, _interact(acc, base))
        return _Expanded(acc, None)
    text = _text(src, lo, hi)
    if text in ("0", "-1"):
        return _Expanded([], False)
    if text == "1":
        return _Expanded([], True)
    if toks[lo].kind == "open" and src.match[lo] == hi - 1:
        inner = [i for i in _top(src, lo + 1, hi - 1) if toks[i].text in ("|", "||")]
        if not inner:  # plain parentheses group
            return _expand(src, lo + 1, hi - 1, formula)
    return _Expanded([(text,)], None)


def _is_bar(variable: str) -> bool:
    return variable.startswith("(") and ("|" in variable)


def _render_terms(expanded: _Expanded, formula: str) -> str:
    for t in expanded.terms:
        if len(t) > 1 and any(_is_bar(v) for v in t):
            raise FormulaError(
                f"the update interacts a random-effects term: {':'.join(t)}", formula
            )
    ordered = sorted(expanded.terms, key=len)  # stable: first appearance within an order
    pieces = [":".join(t) for t in ordered]
    if not pieces:
        return "1" if expanded.intercept is not False else "0"
    body = " + ".join(pieces)
    return body + (" - 1" if expanded.intercept is False else "")


def _substitute_dot(text: str, replacement: str) -> str:
    """Replace every ``.`` token of ``text`` by ``replacement``."""
    toks = _tokenize(text)
    out, last = [], 0
    for t in toks:
        if t.kind == "dot":
            out.append(text[last : t.pos])
            out.append(replacement)
            last = t.pos + 1
    out.append(text[last:])
    return "".join(out)


def _sides(formula: str) -> tuple[str, str]:
    toks = _tokenize(formula)
    src = _Src(formula, toks, _match_brackets(toks, formula))
    depth_zero = [t for i, t in enumerate(toks) if t.kind == "op" and t.text == "~"]
    if len(depth_zero) != 1:
        raise FormulaError("a formula needs exactly one '~'", formula)
    pos = depth_zero[0].pos
    del src
    return formula[:pos].strip(), formula[pos + 1 :].strip()


def update_formula(old: str, new: str) -> str:
    """R's ``update.formula(old, new)``.

    Parameters
    ----------
    old
        The model's formula, e.g. ``"Weight ~ Time * Evit + (Time | Pig)"``.
    new
        The update: ``". ~ . - Time:Evit"``, ``"~ . + Cu"``, ``"log(.) ~ ."``,
        ``". ~ . - (Time | Pig) + (1 | Pig)"``.

    Returns
    -------
    str
        The new formula, its right-hand side simplified as R's ``terms.formula`` does.

    Examples
    --------
    >>> update_formula("Weight ~ Time * Evit + Cu + (Time | Pig)", ". ~ . - Cu")
    'Weight ~ Time + Evit + (Time | Pig) + Time:Evit'
    """
    old_lhs, old_rhs = _sides(old)
    new_lhs, new_rhs = _sides(new) if "~" in new else ("", new)
    lhs = _substitute_dot(new_lhs, old_lhs) if new_lhs else old_lhs
    rhs = _substitute_dot(new_rhs, f"({old_rhs})")
    toks = _tokenize(rhs)
    src = _Src(rhs, toks, _match_brackets(toks, rhs))
    expanded = _expand(src, 0, len(toks), new)
    return f"{lhs} ~ {_render_terms(expanded, new)}"
