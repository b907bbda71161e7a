"""The examples in the docstrings of the post-fit modules run and print what they show."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "mixedmodels.predict",
    "mixedmodels.influence",
    "mixedmodels.workflow",
    "mixedmodels.persist",
    "mixedmodels.formula_update",
    "mixedmodels.rformat",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    flags = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS
    result = doctest.testmod(module, optionflags=flags)
    assert result.attempted > 0
    assert result.failed == 0


def test_plot_docstring_examples():
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    module = importlib.import_module("mixedmodels.plots.effect")
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0
