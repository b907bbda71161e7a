"""The examples in the package's docstrings run and print what they show.

Every module of mixedmodels with at least one example is collected (examples marked
``# doctest: +SKIP`` need data that is not bundled, such as a Parquet directory).
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import mixedmodels

FLAGS = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS


def _modules_with_examples() -> list[str]:
    finder = doctest.DocTestFinder(exclude_empty=True)
    names = []
    for info in pkgutil.walk_packages(mixedmodels.__path__, "mixedmodels."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        tests = finder.find(module)
        if any(not all(e.options.get(doctest.SKIP) for e in t.examples) for t in tests):
            names.append(info.name)
    return names


MODULES = _modules_with_examples()


def test_the_examples_are_found():
    """The collection sees the modules known to have examples."""
    for name in ("mixedmodels.api", "mixedmodels.workflow", "mixedmodels.inference.anova"):
        assert name in MODULES


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    if name.startswith("mixedmodels.plots"):
        matplotlib = pytest.importorskip("matplotlib")
        matplotlib.use("Agg")
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=FLAGS)
    assert result.attempted > 0
    assert result.failed == 0
