"""Parse lme4 model formulas into a response, a fixed part and random-effects terms.

The grammar is lme4's: ``Reaction ~ Days + (Days | Subject)``. A random-effects term is a
parenthesised group, added at the top level of the right-hand side, that contains a top-level
``|`` or ``||``. Nested grouping (``a/b``) and uncorrelated terms (``x || g``) are expanded the way
lme4's ``findbars`` and ``expandDoubleVerts`` do. glmmTMB's covariance structures are written as
a call around the term, ``ar1(0 + time | g)``, ``cs(1 | g)``... (see :data:`STRUCTURES`).
Everything else on the right-hand side is the fixed part, handed on as a formulaic
right-hand-side string.

This module is pure string processing. Returned expressions are canonical: they depend on the
tokens of the formula only, not on its whitespace (``"1+x"`` and ``"1 + x"`` give the same result).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple

from mixedmodels.errors import ArgumentError, FormulaError
from mixedmodels.rsyntax import translate

__all__ = ["RandomTerm", "ParsedFormula", "parse_formula", "STRUCTURES"]

STRUCTURES = ("us", "diag", "homdiag", "cs", "homcs", "ar1", "toep")
"""glmmTMB's covariance structures of a random-effects term: ``us(x | g)`` is ``(x | g)``."""
_OTHER_STRUCTURES = frozenset(
    {"ou", "exp", "gau", "mat", "rr", "propto", "hetar1", "homtoep", "homar1", "equalto"}
)  # glmmTMB's, not supported here


@dataclass(frozen=True)
class RandomTerm:
    """One random-effects term after expansion.

    Attributes
    ----------
    lhs
        The left side of the bar as a formulaic right-hand-side string that states the intercept
        explicitly: ``"1"``, ``"1 + Days"``, ``"0 + Time"``.
    group
        Grouping-factor variable names, without backquotes; an interaction ``a:b`` gives
        ``("a", "b")``.
    text
        The term as the user wrote it, e.g. ``"(Days | Subject)"``; terms expanded from one
        written term share its text.
    structure
        The covariance structure, one of :data:`STRUCTURES` (``"us"``, lme4's, by default).
    """

    lhs: str
    group: tuple[str, ...]
    text: str
    structure: str = "us"
    split_columns: bool = False
    """``zerocorr(...)``: every model-matrix column its own term (factor levels too)."""

    @property
    def group_name(self) -> str:
        """The grouping factor's name as lme4 prints it (``"Subject"``, ``"cask:batch"``)."""
        return ":".join(self.group)


@dataclass(frozen=True)
class ParsedFormula:
    """A parsed lme4 formula.

    Attributes
    ----------
    formula
        The original formula text.
    response
        The left side of ``~``, e.g. ``"Reaction"`` or ``"np.log(y)"``.
    fixed
        The right side without the random-effects terms, a formulaic right-hand-side string;
        ``"1"`` when only random-effects terms were given. ``0``/``-1`` terms are kept as written.
    random
        The random-effects terms after expansion, in formula order.
    offsets
        The expressions of the fixed part's ``offset(...)`` terms (R's offset: added to the
        linear predictor with coefficient 1), as Python text.
    labels
        ``(python key, lme4 name)`` of every call at the formula level, for column names
        (``I(day ** 2)`` is named ``I(day^2)``); see :mod:`mixedmodels.rsyntax`.

    The response, fixed part and left sides are Python text with R's meaning: R's spellings
    inside calls (``I(t^2)``, ``TRUE``, ``as.numeric``) are rewritten by
    :func:`mixedmodels.rsyntax.translate`.
    """

    formula: str
    response: str
    fixed: str
    random: tuple[RandomTerm, ...]
    offsets: tuple[str, ...] = ()
    labels: tuple[tuple[str, str], ...] = ()


class _Tok(NamedTuple):
    kind: str  # name, num, str, bq (backquoted name), dot, open, close, op
    text: str
    pos: int


class _Src(NamedTuple):
    formula: str
    toks: tuple[_Tok, ...]
    match: dict[int, int]  # index of an opening bracket -> index of its closing bracket


_TOKEN = re.compile(
    r"""(?P<ws>\s+)
    |(?P<bq>`[^`]*`)
    |(?P<str>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
    |(?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?[jJ]?)
    |(?P<name>[^\W\d]\w*)
    |(?P<dot>\.)
    |(?P<open>[(\[{])
    |(?P<close>[)\]}])
    |(?P<op>\*\*|//|\|\||[<>=!]=|%[^%\s]*%|[^\s\w`'"])""",
    re.VERBOSE,
)
_PAIRS = {"(": ")", "[": "]", "{": "}"}
_OPERAND_END = frozenset({"name", "num", "str", "bq", "dot", "close"})
_WORDY = frozenset({"name", "num"})
_KEYWORDS = frozenset({"if", "else", "and", "or", "not", "in", "is", "for", "lambda"})
_SPACED = frozenset({"+", "-", "*", "/", "//", "~", "|", "||", "<", ">", "<=", ">=", "==", "!="})


def _err(formula: str, pos: int, message: str) -> FormulaError:
    # Whitespace (newlines, tabs) is shown as spaces so that the caret lines up.
    return FormulaError(message, re.sub(r"\s", " ", formula), pos)


def _fail(src: _Src, i: int, message: str) -> FormulaError:
    """An error with the caret under token ``i``."""
    return _err(src.formula, src.toks[i].pos, message)


def _tokenize(formula: str) -> tuple[_Tok, ...]:
    toks, pos = [], 0
    while pos < len(formula):
        m = _TOKEN.match(formula, pos)
        if m is None:
            what = "backquoted name" if formula[pos] == "`" else "string"
            raise _err(formula, pos, f"unterminated {what}: no closing {formula[pos]}")
        if m.lastgroup != "ws":
            toks.append(_Tok(m.lastgroup or "op", m.group(), pos))
        pos = m.end()
    return tuple(toks)


def _match_brackets(toks: tuple[_Tok, ...], formula: str) -> dict[int, int]:
    match: dict[int, int] = {}
    stack: list[int] = []
    for i, t in enumerate(toks):
        if t.kind == "open":
            stack.append(i)
        elif t.kind == "close":
            if not stack:
                raise _err(formula, t.pos, f"unmatched {t.text!r}: no opening bracket")
            j = stack.pop()
            if _PAIRS[toks[j].text] != t.text:
                raise _err(formula, t.pos, f"{t.text!r} does not match the {toks[j].text!r}")
            match[j] = i
    if stack:
        t = toks[stack[-1]]
        raise _err(formula, t.pos, f"unmatched {t.text!r}: no closing {_PAIRS[t.text]!r}")
    return match


def _top(src: _Src, lo: int, hi: int) -> Iterator[int]:
    """Indices of the tokens in ``[lo, hi)`` not inside brackets (an opening bracket is yielded)."""
    i = lo
    while i < hi:
        yield i
        i = src.match[i] + 1 if src.toks[i].kind == "open" else i + 1


def _is_op(tok: _Tok, *texts: str) -> bool:
    return tok.kind == "op" and tok.text in texts


def _is_binary(src: _Src, lo: int, i: int) -> bool:
    return i > lo and src.toks[i - 1].kind in _OPERAND_END and src.toks[i - 1].text not in _KEYWORDS


def _needs_space(prev: _Tok, tok: _Tok) -> bool:
    if prev.kind in _WORDY and tok.kind in _WORDY:
        return True
    if prev.text in _KEYWORDS and prev.kind == "name":
        return tok.kind != "close" and tok.text not in (",", ":")
    return tok.text in _KEYWORDS and tok.kind == "name" and prev.kind in _OPERAND_END


def _span(src: _Src, lo: int, hi: int) -> str:
    last = src.toks[hi - 1]
    return src.formula[src.toks[lo].pos : last.pos + len(last.text)]


def _render(src: _Src, lo: int, hi: int) -> str:
    """Canonical text of the tokens in ``[lo, hi)``: the same for any whitespace between them."""
    out: list[str] = []
    for i in range(lo, hi):
        t = src.toks[i]
        if t.kind == "op" and t.text in _SPACED and _is_binary(src, lo, i):
            out.append(f" {t.text} ")
        elif t.text == ",":
            out.append(", ")
        else:
            if i > lo and _needs_space(src.toks[i - 1], t):
                out.append(" ")
            out.append(t.text)
    return "".join(out).strip()


def _additive(src: _Src, lo: int, hi: int) -> list[tuple[int, int, int]]:
    """Split ``[lo, hi)`` at top-level binary ``+``/``-``: ``(sign, start, end)`` for each term."""
    toks = src.toks
    seps = [i for i in _top(src, lo, hi) if _is_op(toks[i], "+", "-") and _is_binary(src, lo, i)]
    items = []
    for sep, end in zip([lo - 1, *seps], [*seps, hi], strict=True):
        sign = -1 if sep >= lo and toks[sep].text == "-" else 1
        start, last_op = sep + 1, sep
        while start < end and _is_op(toks[start], "+", "-"):
            sign, last_op, start = (-sign if toks[start].text == "-" else sign), start, start + 1
        if start == end:  # callers never pass an empty range, so last_op >= lo
            raise _fail(src, last_op, f"nothing after {toks[last_op].text!r}: expected a term")
        _check_ends(src, start, end)
        items.append((sign, start, end))
    return items


def _check_ends(src: _Src, lo: int, hi: int) -> None:
    first, last = src.toks[lo], src.toks[hi - 1]
    if first.kind == "op":
        raise _fail(src, lo, f"nothing before {first.text!r}: expected a term")
    if last.kind == "op":
        raise _fail(src, hi - 1, f"nothing after {last.text!r}: expected a term")


def _bars(src: _Src, lo: int, hi: int) -> list[int]:
    return [i for i in _top(src, lo, hi) if _is_op(src.toks[i], "|", "||")]


def _bar_content(src: _Src, lo: int, hi: int) -> tuple[int, int] | None:
    """The span inside the parentheses if ``[lo, hi)`` is a random-effects term, else None."""
    while hi - lo >= 2 and src.toks[lo].text == "(" and src.match[lo] == hi - 1:
        lo, hi = lo + 1, hi - 1
        if _bars(src, lo, hi):
            return lo, hi
    return None


def _check_no_bars(src: _Src, lo: int, hi: int) -> None:
    """Reject bars in a fixed-effects expression: at its top level or in bare parentheses."""
    for i in _bars(src, lo, hi):
        msg = f"{src.toks[i].text!r} outside parentheses in {_span(src, lo, hi)!r}"
        raise _fail(src, i, msg + ": write random-effects terms as (expr | group)")
    for i in range(lo, hi):
        is_call = i > lo and src.toks[i - 1].kind in ("name", "close")
        if src.toks[i].text == "(" and not is_call and _bars(src, i + 1, src.match[i]):
            msg = f"random-effects term {_span(src, i, src.match[i] + 1)!r} must be a separate"
            raise _fail(src, i, msg + " term, added to the formula with '+'")


def _lhs_terms(src: _Src, lo: int, hi: int, double: bool, text: str) -> list[str]:
    """The left side of a bar as formulaic strings: one, or one per column term for ``||``."""
    intercept, rest = True, []
    for sign, a, b in _additive(src, lo, hi):
        _check_no_bars(src, a, b)
        body = _render(src, a, b)
        if body in ("0", "1"):
            intercept = (body == "1") == (sign > 0)
        elif double and sign < 0:
            raise _fail(src, a, f"cannot remove {body!r} in the double-bar term {text!r}")
        else:
            rest.append(f"{'+' if sign > 0 else '-'} {body}")
    if not intercept and not rest:
        raise _fail(src, lo - 1, f"random-effects term {text!r} has no intercept and no variables")
    if double:
        return (["1"] if intercept else []) + [f"0 {r}" for r in rest]
    return [" ".join(["1" if intercept else "0", *rest])]


def _groups(src: _Src, lo: int, hi: int, text: str) -> list[tuple[str, ...]]:
    """Grouping factors of ``a``, ``a:b``, ``a/b``...; ``a/b/c`` gives a, b:a, c:b:a."""
    parts: list[list[str]] = [[]]
    want_name = True
    for i in range(lo, hi):
        t = src.toks[i]
        if want_name and t.kind in ("name", "bq"):
            parts[-1].append(t.text[1:-1] if t.kind == "bq" else t.text)
            want_name = False
        elif not want_name and _is_op(t, ":", "/"):
            parts[-1:] = [parts[-1], []] if t.text == "/" else parts[-1:]
            want_name = True
        else:
            msg = f"grouping factor {_span(src, lo, hi)!r} in {text!r} must be a variable name"
            raise _fail(src, i, msg + " or names joined by ':' or '/'")
    if want_name:
        last = src.toks[hi - 1].text
        raise _fail(src, hi - 1, f"nothing after {last!r} in the grouping factor of {text!r}")
    return [tuple(n for part in reversed(parts[: k + 1]) for n in part) for k in range(len(parts))]


def _structure_call(src: _Src, lo: int, hi: int) -> tuple[int, int] | None:
    """The argument span of ``name(... | ...)`` spanning ``[lo, hi)``, else None."""
    toks = src.toks
    if hi - lo < 3 or toks[lo].kind != "name" or toks[lo + 1].text != "(":
        return None
    if src.match[lo + 1] != hi - 1 or not _bars(src, lo + 2, hi - 1):
        return None
    name = toks[lo].text
    if name in _OTHER_STRUCTURES:
        msg = f"unknown covariance structure {name!r} in {_span(src, lo, hi)!r}: use one of"
        raise _fail(src, lo, f"{msg} {', '.join(STRUCTURES)}")
    if name not in STRUCTURES:
        return None
    return lo + 2, hi - 1


_FULLDUMMY = re.compile(r"\bfulldummy\(\s*([^()]+?)\s*\)")


def _zerocorr_content(src: _Src, lo: int, hi: int) -> tuple[int, int] | None:
    """The content of ``zerocorr( expr | g )`` spanning ``[lo, hi)``, else None."""
    toks = src.toks
    if hi - lo < 4 or toks[lo].text != "zerocorr" or toks[lo + 1].text != "(":
        return None
    if src.match[lo + 1] != hi - 1 or not _bars(src, lo + 2, hi - 1):
        return None
    return lo + 2, hi - 1


def _random_terms(
    src: _Src, lo: int, hi: int, text: str, structure: str = "us", zerocorr: bool = False
) -> list[RandomTerm]:
    """Expand the random-effects term whose parenthesised content is ``[lo, hi)``.

    ``fulldummy(f)`` on the left becomes an indicator of every level of ``f`` (also with an
    intercept: ``C(f, spans_intercept=False)``); ``zerocorr`` makes every column (every level
    of a factor) a term of its own, MixedModels.jl's ``zerocorr``; ``structure`` is the
    covariance structure of a ``name(x | g)`` term.
    """
    bars = _bars(src, lo, hi)
    if len(bars) > 1:
        raise _fail(src, bars[1], f"more than one bar in random-effects term {text!r}")
    bar = src.toks[bars[0]]
    if bar.text == "||" and structure != "us":
        msg = f"'||' inside {structure}() in {text!r}: write {structure}(x | g)"
        raise _fail(src, bars[0], msg + " (diag(x | g) for uncorrelated columns)")
    if bars[0] == lo:
        msg = f"nothing to the left of {bar.text!r} in random-effects term {text!r}"
        raise _fail(src, lo, msg + f" (a random intercept is (1 {bar.text} group))")
    if bars[0] == hi - 1:
        msg = f"no grouping factor to the right of {bar.text!r} in random-effects term"
        raise _fail(src, hi - 1, f"{msg} {text!r}")
    lhss = _lhs_terms(src, lo, bars[0], bar.text == "||" or zerocorr, text)
    lhss = [_FULLDUMMY.sub(r"C(\1, spans_intercept=False)", lhs) for lhs in lhss]
    groups = _groups(src, bars[0] + 1, hi, text)
    return [
        RandomTerm(lhs, group, text, structure=structure, split_columns=zerocorr)
        for lhs in lhss
        for group in groups
    ]


def parse_formula(formula: str) -> ParsedFormula:
    """Parse an lme4 model formula.

    Parameters
    ----------
    formula
        A formula such as ``"Reaction ~ Days + (Days | Subject)"``. Random-effects terms are
        ``(expr | group)`` or ``(expr || group)`` added at the top level of the right-hand side;
        ``group`` is a name, an interaction ``a:b`` or a nesting ``a/b``. Names may be backquoted.
        A covariance structure is a call around the term: ``ar1(0 + time | g)``, ``cs(1 | g)``,
        ``diag(x | g)``... (:data:`STRUCTURES`).

    Returns
    -------
    ParsedFormula
        The response, the fixed part and the expanded random-effects terms. ``(1 | a/b)`` becomes
        ``(1 | a)`` and ``(1 | b:a)``; ``(1 + x || g)`` becomes ``(1 | g)`` and ``(0 + x | g)``.

    Raises
    ------
    FormulaError
        If the formula is malformed or has no random-effects term; the message shows a caret under
        the offending position when there is one.
    """
    if not isinstance(formula, str):
        raise ArgumentError(f"formula must be a string, not {type(formula).__name__}")
    written = _tokenize(formula)
    _match_brackets(written, formula)  # reports unbalanced brackets on the text as written
    translated, labels = translate(written, formula, _Tok, frozenset(STRUCTURES))
    toks = tuple(translated)
    src = _Src(formula, toks, _match_brackets(toks, formula))
    n = len(toks)
    tildes = [i for i in _top(src, 0, n) if _is_op(toks[i], "~")]
    if not tildes:
        raise FormulaError("no '~' separating the response from the predictors", formula)
    if len(tildes) > 1:
        raise _fail(src, tildes[1], "more than one '~' in formula")
    tilde = tildes[0]
    if tilde == 0:
        raise _fail(src, tilde, "no response: nothing to the left of '~'")
    if tilde == n - 1:
        raise _fail(src, tilde, "empty right-hand side: nothing to the right of '~'")
    _check_ends(src, 0, tilde)
    _check_no_bars(src, 0, tilde)
    fixed: list[str] = []
    random: list[RandomTerm] = []
    offsets: list[str] = []
    for sign, lo, hi in _additive(src, tilde + 1, n):
        call = _structure_call(src, lo, hi)
        if call is not None:
            if sign < 0:
                msg = f"random-effects term {_span(src, lo, hi)!r} cannot be subtracted"
                raise _fail(src, lo, msg)
            structure = src.toks[lo].text
            random.extend(_random_terms(src, *call, _span(src, lo, hi), structure))
            continue
        zerocorr = _zerocorr_content(src, lo, hi)
        if zerocorr is not None and sign > 0:
            random.extend(_random_terms(src, *zerocorr, _span(src, lo, hi), zerocorr=True))
            continue
        content = _bar_content(src, lo, hi)
        if content is None:
            _check_no_bars(src, lo, hi)
            offset = _offset_expression(src, lo, hi, sign)
            if offset is not None:
                offsets.append(offset)
                continue
            if hi - lo == 1 and toks[lo].kind == "dot":
                msg = "'.' (every other column) is not supported: write the columns out"
                raise _fail(src, lo, msg)
            fixed.append(f"{'+' if sign > 0 else '-'} {_render(src, lo, hi)}")
        elif sign < 0:
            raise _fail(src, lo, f"random-effects term {_span(src, lo, hi)!r} cannot be subtracted")
        else:
            random.extend(_random_terms(src, *content, _span(src, lo, hi)))
    if not random:
        msg = "no random-effects terms such as (1 | group); for a model without random effects"
        raise FormulaError(f"{msg}, use an ordinary linear model (statsmodels' ols)", formula)
    signed = " ".join(fixed)  # "+ x - 1": drop or attach the leading sign
    fixed_text = ("" if signed[0] == "+" else "-") + signed[2:] if fixed else "1"
    return ParsedFormula(
        formula,
        _render(src, 0, tilde),
        fixed_text,
        tuple(random),
        offsets=tuple(offsets),
        labels=tuple(labels.items()),
    )


def _offset_expression(src: _Src, lo: int, hi: int, sign: int) -> str | None:
    """The expression of an ``offset(...)`` term spanning ``[lo, hi)``, else None."""
    toks = src.toks
    if not (
        hi - lo >= 3
        and toks[lo].kind == "name"
        and toks[lo].text == "offset"
        and toks[lo + 1].text == "("
        and src.match[lo + 1] == hi - 1
    ):
        return None
    if sign < 0:
        raise _fail(src, lo, "an offset cannot be subtracted: write offset(-expr)")
    if hi - lo == 3:
        raise _fail(src, lo, "offset() needs an expression, e.g. offset(log(n))")
    return _render(src, lo + 2, hi - 1)
