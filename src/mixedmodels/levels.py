"""Integer codes and level labels of grouping factors, levels in lme4's order."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mixedmodels.columns import Column, ColumnCache, category_codes


def sort_levels(values: pd.Series | Column) -> tuple[np.ndarray, list[str]]:
    """Integer codes and labels of a factor, levels in lme4's order (sorted / categorical order)."""
    dtype = values.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "iu":  # integers: numpy sorts as pandas
        uniques, codes = np.unique(values.to_numpy(), return_inverse=True)
        return codes.astype(np.intp), [str(u) for u in uniques.tolist()]
    if isinstance(dtype, pd.StringDtype):  # pandas' hash table on str objects: no Arrow detour
        return _sorted_codes(values.to_numpy(dtype=object))
    if isinstance(dtype, pd.CategoricalDtype):
        return _categorical_codes(category_codes(values), dtype.categories)
    codes, uniques = pd.factorize(values.array if isinstance(values, Column) else values, sort=True)
    return codes.astype(np.intp), [str(u) for u in uniques]


def _categorical_codes(codes: np.ndarray, categories: pd.Index) -> tuple[np.ndarray, list[str]]:
    """Codes and labels of the used categories (``remove_unused_categories`` without its copies).

    ``codes`` are pandas' category codes of complete rows (no -1).
    """
    codes = codes.astype(np.intp)
    used = np.bincount(codes, minlength=len(categories)) > 0
    if used.all():
        return codes, [str(c) for c in categories]
    renumber = np.cumsum(used, dtype=np.intp) - 1
    return renumber[codes], [str(c) for c in categories[used]]


def _sorted_codes(values: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """``pd.factorize(values, sort=True)`` for an object array of str, codes as intp.

    Factorised in order of appearance, then only the (few) distinct labels are sorted and
    the codes renumbered (faster than pandas' sorted factorisation: benchmarks/results.md).
    """
    codes, uniques = pd.factorize(values)
    if codes.size and codes.min() < 0:  # missing labels: pandas' own ordering rules
        codes, uniques = pd.factorize(values, sort=True)
        return codes.astype(np.intp), [str(u) for u in uniques]
    order = np.argsort(uniques)
    rank = np.empty(order.size, dtype=np.intp)
    rank[order] = np.arange(order.size, dtype=np.intp)
    return rank[codes], [str(u) for u in uniques[order]]


def group_codes(
    frame: pd.DataFrame | ColumnCache, group: tuple[str, ...]
) -> tuple[np.ndarray, list[str]]:
    """Codes and level labels of a grouping factor or an interaction of factors (``a:b``)."""
    codes, labels = sort_levels(frame[group[0]])
    for name in group[1:]:
        more, more_labels = sort_levels(frame[name])
        combined = codes * len(more_labels) + more
        used, codes = np.unique(combined, return_inverse=True)
        labels = [
            f"{labels[u // len(more_labels)]}:{more_labels[u % len(more_labels)]}" for u in used
        ]
        codes = codes.astype(np.intp)
    return codes, labels
