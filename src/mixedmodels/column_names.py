"""lme4's names of fixed-effect columns from formulaic's.

``C(f)[T.b]`` -> ``fb``, ``x[T.True]`` -> ``xTRUE``, and contrasts' positional labels.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

_CODED = re.compile(r"C\(\s*([^,()]+?)\s*(?:,[^\[]*)?\)\[")


_TREATMENT = re.compile(r"\[[TSHD]\.([^\]]*)\]")


_POLY = re.compile(r"\[(\.[A-Z^0-9]+)\]")


_CONTRAST = re.compile(r"\[([^\]]*)\]")


_LOGICAL = re.compile(r"\[(T\.)?(True|False)\]")


def lme4_column_names(
    names: Sequence[str], labels: tuple[tuple[str, str], ...] = ()
) -> tuple[str, ...]:
    """Rename formulaic columns as lme4 does.

    ``Intercept`` becomes ``(Intercept)`` and ``f[T.b]`` becomes ``fb``; with ``labels``
    (:attr:`ParsedFormula.labels`), a call is named as R writes it (``I(day ** 2)`` becomes
    ``I(day^2)``, ``as_numeric(x)`` becomes ``as.numeric(x)``).
    """
    return _lme4_names(tuple(_r_named(name, labels) for name in names) if labels else tuple(names))


def split_top(text: str, sep: str) -> list[str]:
    """``text`` cut at ``sep`` outside brackets and quotes."""
    parts, depth, start, quote = [], 0, 0, None
    for i, ch in enumerate(text):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == sep and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def _r_named(name: str, labels: tuple[tuple[str, str], ...]) -> str:
    """A formulaic column name with each factor that is a call of the formula named as in R."""
    from mixedmodels.rsyntax import python_key

    table = dict(labels)
    out = []
    for part in split_top(name, ":"):
        expr, level = part, ""
        if part.endswith("]"):
            depth = 0
            for i in range(len(part) - 1, -1, -1):
                depth += {"]": 1, "[": -1}.get(part[i], 0)
                if depth == 0:
                    expr, level = part[:i], part[i:]
                    break
        label = table.get(python_key(expr))
        out.append((label if label is not None else expr) + level)
    return ":".join(out)


_POSITIONAL = re.compile(r"^(.*)\[([SH])\.(.*)\]$", re.DOTALL)


def _positional_levels(names: tuple[str, ...]) -> tuple[str, ...]:
    """Sum- and Helmert-coded columns named by position, as R names them (``nitro1``).

    formulaic names such a column by a level (``[S.a]``, ``[H.b]``); R's ``contr.sum`` and
    ``contr.helmert`` have no level names, so R numbers the columns ``1, 2, ...``. The
    position is the level's rank among that factor's columns, in formulaic's (level) order.
    """
    if "[S." not in "".join(names) and "[H." not in "".join(names):
        return names
    positions: dict[tuple[str, str], dict[str, int]] = {}
    split = []
    for name in names:
        parts: list[Any] = []  # (expr, kind, level) of a positional factor, else the text
        for part in split_top(name, ":"):
            match = _POSITIONAL.match(part)
            if match:
                expr, kind, level = match.groups()
                seen = positions.setdefault((expr, kind), {})
                seen.setdefault(level, len(seen) + 1)
                parts.append((expr, kind, level))
            else:
                parts.append(part)
        split.append(parts)
    out = []
    for parts in split:
        text = [
            part if isinstance(part, str) else f"{part[0]}[{positions[part[:2]][part[2]]}]"
            for part in parts
        ]
        out.append(":".join(text))
    return tuple(out)


@lru_cache(maxsize=1024)
def _lme4_names(names: tuple[str, ...]) -> tuple[str, ...]:
    out = []
    for name in _positional_levels(names):
        if name == "Intercept":
            out.append("(Intercept)")
            continue
        name = _LOGICAL.sub(lambda m: f"[{m.group(1) or ''}{m.group(2).upper()}]", name)
        name = _CODED.sub(r"\1[", name)
        name = _POLY.sub(r"\1", name)
        name = _TREATMENT.sub(r"\1", name)
        out.append(_CONTRAST.sub(r"\1", name))
    return tuple(out)
