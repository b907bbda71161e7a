"""R's spellings in a formula, given R's meaning: tokens in, Python tokens and lme4's names out.

A formula pasted from R evaluates its function calls as R does: ``I(t^2)`` is a power (Python's
``^`` is XOR), ``TRUE`` is ``True``, ``x %% 2`` is ``x % 2``, ``a > 1 & b < 2`` compares before
it combines (Python's ``&`` binds first), ``as.numeric(x)`` is a call (``as`` is a Python
keyword). Inside every call the tokens are rewritten to Python with that meaning; the functions
themselves (``log``, ``sqrt``, ``factor``, ``poly``, ...) are R's, from
:mod:`mixedmodels.rfunctions`. At the formula level ``a %in% b`` is R's nesting (``a:b``).

For each call at the formula level the translation also records lme4's name of the term (R's
deparse of the call, e.g. ``I(day^2)``, ``poly(x, 2, raw = TRUE)``), keyed by the Python text
in a form that does not depend on spacing (:func:`python_key`), so that model-matrix columns
can be named as lme4 names them.

Pure token processing: a token is any object with ``kind``, ``text`` and ``pos``; new tokens
are made with the ``make`` callable the caller passes.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Sequence
from functools import lru_cache

from mixedmodels.errors import FormulaError

__all__ = ["translate", "python_key", "UNSUPPORTED"]

_NAMES = {"TRUE": "True", "FALSE": "False", "NULL": "None", "Inf": "inf", "NaN": "nan"}
_OPERATORS = {"^": "**", "%%": "%", "%/%": "//"}
_DOTTED_PREFIXES = frozenset({"as", "is"})  # Python keywords: as.numeric cannot be parsed
_R_UNSPACED = frozenset({"/", "^", ":", "$", "%%", "%/%", "**"})
_OPEN, _CLOSE = "({[", ")}]"

UNSUPPORTED = {
    "ns": "R's splines::ns basis is not available: use bs(x, df) (R's splines::bs basis) or "
    "write the basis columns into the data",
    "cut": "cut() is not available in a formula: make the binned column in the data "
    "(pandas.cut) and use it as a factor",
    "interaction": "interaction(a, b) is not available: write a:b",
    "c": "c() is not available in a formula: write a Python list, e.g. [1, 2]",
    "paste": "paste() is not available in a formula: make the column in the data",
    "as_character": "as.character() is not available: make the column in the data",
}
"""R functions a formula may name that are not given R's meaning here, with what to write."""


STRUCTURAL_CALLS = frozenset({"zerocorr"})
"""Calls that wrap a random-effects term (MixedModels.jl's ``zerocorr(x | g)``): not
translated, their bar is the term's."""


@lru_cache(maxsize=4096)
def python_key(text: str) -> str:
    """Python source in a canonical form (``ast.unparse``), or the text itself."""
    try:
        return ast.unparse(ast.parse(text, mode="eval"))
    except (SyntaxError, ValueError):
        return " ".join(text.split())


def _matching(toks: Sequence, formula: str) -> dict[int, int]:
    match, stack = {}, []
    for i, t in enumerate(toks):
        if t.kind == "open":
            stack.append(i)
        elif t.kind == "close" and stack:
            match[stack.pop()] = i
    return match


def _r_label(toks: Sequence) -> str:
    """R's deparse of a call's tokens: spaces round most binary operators, not ``/ ^ :``."""
    out: list[str] = []
    prev = None
    for t in toks:
        text = t.text
        if t.kind == "str":
            body = text[1:-1]
            text = '"' + body.replace('"', '\\"') + '"' if text[0] == "'" else text
        unary = prev is None or prev.kind in ("op", "open") or prev.text == ","
        if t.text == ",":
            out.append(", ")
        elif t.kind == "op" and not unary and t.text not in _R_UNSPACED:
            out.append(f" {text} ")
        else:
            out.append(text)
        prev = t
    return "".join(out)


class _Translator:
    def __init__(
        self, toks: Sequence, formula: str, make: Callable, terms: frozenset[str] = frozenset()
    ) -> None:
        self.toks = list(toks)
        self.formula = formula
        self.make = make
        self.match = _matching(self.toks, formula)
        self.terms = terms

    def is_term(self, i: int, paren: int, close: int) -> bool:
        """Whether the call at ``i`` is a random-effects term (a bar at its top level)."""
        if self.toks[i].text not in self.terms or paren != i + 1:
            return False
        j = paren + 1
        while j < close:
            t = self.toks[j]
            if t.kind == "op" and t.text in ("|", "||"):
                return True
            j = self.match.get(j, j) + 1 if t.kind == "open" else j + 1
        return False

    def fail(self, tok, message: str) -> FormulaError:
        import re

        return FormulaError(message, re.sub(r"\s", " ", self.formula), tok.pos)

    def call_name_end(self, i: int) -> int | None:
        """If a call starts at token i (``f(`` or ``as.numeric(``), the index of its ``(``."""
        toks = self.toks
        if toks[i].kind != "name":
            return None
        j = i + 1
        if (
            toks[i].text in _DOTTED_PREFIXES
            and j + 1 < len(toks)
            and toks[j].kind == "dot"
            and toks[j + 1].kind == "name"
        ):
            j += 2
        if j < len(toks) and toks[j].text == "(":
            return j
        return None

    def python_tokens(self, lo: int, hi: int) -> list:
        """Tokens ``[lo, hi)`` inside a call, rewritten to Python with R's meaning."""
        toks, out = self.toks, []
        i = lo
        while i < hi:
            t = toks[i]
            paren = self.call_name_end(i)
            if paren is not None and paren > i + 1:  # as.numeric -> as_numeric
                name = "".join(x.text for x in toks[i:paren]).replace(".", "_")
                out.append(self.make("name", name, t.pos))
                i = paren
                continue
            if t.kind == "name" and t.text in _NAMES and (i == lo or toks[i - 1].kind != "dot"):
                out.append(self.make("name", _NAMES[t.text], t.pos))
            elif t.kind == "op" and t.text in _OPERATORS:
                out.append(self.make("op", _OPERATORS[t.text], t.pos))
            elif t.kind == "op" and t.text.startswith("%") and t.text.endswith("%"):
                raise self.fail(
                    t,
                    f"R's {t.text} inside a function call is not available: for %in% write "
                    "np.isin(x, [...])",
                )
            else:
                out.append(t)
            i += 1
        return self.logical_precedence(out)

    def logical_precedence(self, toks: list) -> list:
        """Parenthesise the operands of ``&``/``|`` and what ``!`` negates, as R groups them.

        R compares before it combines (``a > 1 & b < 2``) and ``!`` negates a whole
        comparison; Python's ``&``, ``|`` and ``~`` bind before comparisons.
        """
        match = _matching(toks, self.formula)
        return self._group(toks, 0, len(toks), match)

    def _group(self, toks: list, lo: int, hi: int, match: dict[int, int]) -> list:
        out: list = []
        start = lo
        pieces: list[list] = []
        i = lo
        while i <= hi:
            if i == hi or (toks[i].kind == "op" and toks[i].text == ","):
                pieces.append(self._argument(toks, start, i, match))
                if i < hi:
                    pieces.append([toks[i]])
                start = i + 1
                i += 1
                continue
            i = match[i] + 1 if toks[i].kind == "open" else i + 1
        for piece in pieces:
            out.extend(piece)
        return out

    def _argument(self, toks: list, lo: int, hi: int, match: dict[int, int]) -> list:
        operands, ops = [], []
        start, i = lo, lo
        while i < hi:
            t = toks[i]
            if t.kind == "op" and t.text in ("&", "|") and i > start:
                operands.append((start, i))
                ops.append(t)
                start = i + 1
            i = match[i] + 1 if t.kind == "open" else i + 1
        operands.append((start, hi))
        wrap = len(operands) > 1
        out: list = []
        for k, (a, b) in enumerate(operands):
            if k:
                out.append(ops[k - 1])
            out.extend(self._operand(toks, a, b, match, wrap))
        return out

    def _operand(self, toks: list, lo: int, hi: int, match: dict[int, int], wrap: bool) -> list:
        if lo >= hi:
            return []
        first = toks[lo]
        if first.kind == "op" and first.text == "!":
            inner = self._operand(toks, lo + 1, hi, match, True)
            return [self.make("op", "~", first.pos), *inner]
        body: list = []
        i = lo
        while i < hi:  # recurse into brackets, which group arguments of their own
            t = toks[i]
            if t.kind == "open":
                j = match[i]
                body.append(t)
                body.extend(self._group(toks, i + 1, j, match))
                body.append(toks[j])
                i = j + 1
            else:
                body.append(t)
                i += 1
        single = len(body) == 1 or (body[0].kind == "open" and match.get(lo) == hi - 1)
        if not wrap or single:
            return body
        return [self.make("open", "(", first.pos), *body, self.make("close", ")", first.pos)]

    def run(self) -> tuple[list, dict[str, str]]:
        toks, out, labels = self.toks, [], {}
        i = 0
        while i < len(toks):
            t = toks[i]
            paren = self.call_name_end(i)
            if paren is not None and i > 0 and toks[i - 1].kind == "dot":
                paren = None  # a method or module function (np.log): Python's own
            if paren == i + 1 and t.text in STRUCTURAL_CALLS:
                paren = None  # zerocorr(x | g): a random-effects term, parsed by formula.py
            if paren is not None:
                close = self.match.get(paren)
                if close is None:  # unmatched: the formula parser reports it
                    out.extend(toks[i:])
                    break
                if self.is_term(i, paren, close):  # ar1(0 + t | g): formula text, as (...)
                    out.append(t)
                    i += 1
                    continue
                name = "".join(x.text for x in toks[i:paren])
                python_name = name.replace(".", "_") if paren > i + 1 else name
                if python_name in UNSUPPORTED:
                    raise self.fail(t, f"{name}(): {UNSUPPORTED[python_name]}")
                inner = self.python_tokens(paren + 1, close)
                call = [
                    self.make("name", python_name, t.pos),
                    toks[paren],
                    *inner,
                    toks[close],
                ]
                out.extend(call)
                labels[python_key(" ".join(x.text for x in call))] = _r_label(toks[i : close + 1])
                i = close + 1
                continue
            if t.kind == "op" and t.text == "%in%":
                out.append(self.make("op", ":", t.pos))
            elif t.kind == "op" and t.text.startswith("%") and t.text.endswith("%"):
                raise self.fail(t, f"unknown operator {t.text!r} in the formula")
            else:
                out.append(t)
            i += 1
        return out, labels


def translate(
    toks: Sequence, formula: str, make: Callable, terms: frozenset[str] = frozenset()
) -> tuple[list, dict[str, str]]:
    """Rewrite R's spellings in a formula's tokens.

    Parameters
    ----------
    toks
        The formula's tokens (objects with ``kind``, ``text`` and ``pos``).
    formula
        The formula text, for error messages.
    make
        ``make(kind, text, pos)`` makes a new token.
    terms
        Names of calls that are random-effects terms when their content has a top-level
        ``|`` or ``||`` (glmmTMB's covariance structures, ``ar1(0 + t | g)``): such a call
        is kept as bracketed formula text, the calls inside it translated.

    Returns
    -------
    tokens, labels
        The tokens with every call's content in Python with R's meaning, and lme4's name of
        every call at the formula level keyed by :func:`python_key` of its Python text.

    Raises
    ------
    FormulaError
        For an R function or operator that has no translation, saying what to write.
    """
    return _Translator(toks, formula, make, terms).run()
