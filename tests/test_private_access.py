"""The tests use the package through its public names; only the engine's own tests look inside.

Issue 14's rule, checked on every run: outside ``tests/linalg`` (the engine's unit tests) a
test reads no underscore attribute or function of the package and imports no underscore name
from it. A private *module* (``inference/_tukey.py``, ``compat/_sm_missing.py``) is the unit
its own folder's tests test: a test may import it when it sits in the mirror folder
(``tests/inference``, ``tests/compat``). IPython's display protocol (``_repr_html_``) is
public by convention; so are the internals of the tests' own helper modules.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "mixedmodels"
TESTS = ROOT / "tests"
ENGINE_TESTS = ("linalg",)
"""Folders of tests/ whose tests may read the engine's internals."""
STATSMODELS_NAMES = {"_freepat", "_cov_sing"}
"""statsmodels' own MixedLM attributes, which the facade reproduces: tests set them on
statsmodels' models (its evaluation methods read what its ``fit`` would have set)."""


def _private(name: str) -> bool:
    dunder = name.startswith("__") and name.endswith("__")
    display = name.startswith("_repr_") and name.endswith("_")
    return name.startswith("_") and not dunder and not display


def private_names_defined(tree: ast.AST) -> set[str]:
    """Underscore names a module defines: functions, classes, assigned names and attributes."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            names.add(node.attr)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif (  # object.__setattr__(self, "_name", value) in frozen dataclasses
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", None) == "__setattr__"
            and len(node.args) > 1
            and isinstance(node.args[1], ast.Constant)
        ):
            names.add(str(node.args[1].value))
    return {n for n in names if _private(n)}


def _package_private_names() -> set[str]:
    trees = (ast.parse(p.read_text()) for p in PACKAGE.rglob("*.py"))
    return set().union(*(private_names_defined(tree) for tree in trees))


def _test_trees() -> dict[Path, ast.AST]:
    return {p: ast.parse(p.read_text(), str(p)) for p in sorted(TESTS.rglob("*.py"))}


def _test_helper_modules(tree: ast.AST) -> set[str]:
    """Names bound in a test file to modules that are not the package (tests' own helpers)."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {
                (a.asname or a.name).split(".")[0]
                for a in node.names
                if not a.name.startswith("mixedmodels")
            }
    return names


def _own_module(parts: list[str], folder: str) -> bool:
    """Whether ``parts`` name a private module of the package folder ``folder`` mirrors."""
    path = PACKAGE.joinpath(*parts[1:])
    return path.with_suffix(".py").exists() and ".".join(parts[1:-1]) == folder


def private_uses(trees: dict[Path, ast.AST], package_names: set[str]) -> list[str]:
    """Every private access of the package from tests outside the engine's folders."""
    found = []
    for path, tree in trees.items():
        rel = path.relative_to(TESTS)
        if rel.parts[0] in ENGINE_TESTS:
            continue
        folder = ".".join(rel.parts[:-1])  # tests/inference/x.py -> "inference"
        helpers = _test_helper_modules(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and _private(node.attr):
                on_helper = isinstance(node.value, ast.Name) and node.value.id in helpers
                theirs = node.attr in STATSMODELS_NAMES
                if node.attr in package_names and not on_helper and not theirs:
                    found.append(f"{rel}:{node.lineno}: .{node.attr}")
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("mixedmodels"):
                parts = str(node.module).split(".")
                found += [
                    f"{rel}:{node.lineno}: {alias.name} from {node.module}"
                    for alias in node.names
                    if _private(alias.name) and not _own_module(parts + [alias.name], folder)
                ]
                private_at = [i for i, part in enumerate(parts) if _private(part)]
                if private_at and ".".join(parts[1 : private_at[0]]) != folder:
                    found.append(f"{rel}:{node.lineno}: module {node.module}")
    return found


def test_the_tests_reach_no_private_internals():
    found = private_uses(_test_trees(), _package_private_names())
    assert not found, "private internals used by tests outside tests/linalg:\n" + "\n".join(found)


def test_the_rule_sees_private_accesses():
    """Not vacuous: an attribute, a name and a module of another folder are each found."""
    planted = ast.parse(
        "from mixedmodels.levels import _sorted_codes\n"
        "from mixedmodels.inference._tukey import ptukey\n"
        "def f(model):\n    return model._result(1, 2, 3)\n"
    )
    found = private_uses({TESTS / "x" / "test_planted.py": planted}, {"_result", "_sorted_codes"})
    assert len(found) == 3, found
    allowed = private_uses({TESTS / "inference" / "test_planted.py": planted}, {"_result"})
    assert not any("module mixedmodels.inference._tukey" in f for f in allowed)
