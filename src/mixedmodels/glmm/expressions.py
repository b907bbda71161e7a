"""Arithmetic on numeric columns, evaluated directly, without a formula engine.

The common response and offset expressions: ``size - incidence``, ``log(BroodSize)``,
``I(n^2)``.

:func:`simple_column` handles names of numeric columns, numbers, ``+ - * / ^ **``, unary
signs and R's elementwise functions ``log exp sqrt abs log2 log10 log1p expm1``; anything
else returns None and the caller evaluates the expression in full (formulaic), so the
results and errors of unusual expressions do not change.
"""

from __future__ import annotations

import ast

import numpy as np
import pandas as pd

__all__ = ["simple_column"]

_FUNCTIONS = {
    "log": np.log,
    "exp": np.exp,
    "sqrt": np.sqrt,
    "abs": np.abs,
    "log2": np.log2,
    "log10": np.log10,
    "log1p": np.log1p,
    "expm1": np.expm1,
}
_BINARY = {
    ast.Add: np.add,
    ast.Sub: np.subtract,
    ast.Mult: np.multiply,
    ast.Div: np.true_divide,
    ast.Pow: np.power,
}


class _Unsupported(Exception):
    pass


def simple_column(expr: str, data: pd.DataFrame) -> np.ndarray | None:
    """``expr`` over ``data``'s numeric columns as floats (NaN where missing), or None.

    None when the expression is outside the arithmetic described in the module docstring.
    """
    text = expr.strip()
    if text.startswith("I(") and text.endswith(")"):
        text = text[2:-1]
    try:
        tree = ast.parse(text.replace("^", "**"), mode="eval")
        with np.errstate(all="ignore"):
            value = _value(tree.body, data)
    except (SyntaxError, _Unsupported, RecursionError):
        return None
    return np.broadcast_to(np.asarray(value, dtype=float), (len(data),)).copy()


def _value(node, data: pd.DataFrame):
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return float(node.value)  # type: ignore[arg-type]  # an int or a float
    if isinstance(node, ast.Name):
        if node.id not in data.columns:
            raise _Unsupported
        column = data[node.id]
        dtype = column.dtype
        if isinstance(dtype, pd.CategoricalDtype) or not (
            pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)
        ):
            raise _Unsupported
        return column.to_numpy(dtype=float, na_value=np.nan)
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        return _BINARY[type(node.op)](_value(node.left, data), _value(node.right, data))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        operand = _value(node.operand, data)
        return -operand if isinstance(node.op, ast.USub) else operand
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in _FUNCTIONS
        and node.func.id not in data.columns
        and len(node.args) == 1
        and not node.keywords
    ):
        return _FUNCTIONS[node.func.id](_value(node.args[0], data))
    raise _Unsupported
