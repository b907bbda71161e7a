"""The facade uses the engine through its public API only.

``mixedmodels.compat`` reads no underscore attribute of an object of the main package (such
as ``engine._result``) and imports no private module or name from it: every ``._name`` in
the facade must be a name the facade itself defines (its own classes' internals).
"""

from __future__ import annotations

import ast
from pathlib import Path

from test_private_access import private_names_defined

COMPAT = Path(__file__).resolve().parents[2] / "src" / "mixedmodels" / "compat"
MODULES = sorted(COMPAT.glob("*.py"))
SHARED_HELPERS = {"mixedmodels._warn"}
"""Private modules the whole package shares, not the engine's: ``_warn`` (warnings at the
user's line, see docs/repo-map.md)."""


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _trees() -> dict[str, ast.AST]:
    return {path.name: ast.parse(path.read_text(), str(path)) for path in MODULES}


def test_the_facade_reads_no_private_attribute_of_the_engine():
    trees = _trees()
    own = set().union(*(private_names_defined(tree) for tree in trees.values()))
    found = [
        f"{name}:{node.lineno}: .{node.attr}"
        for name, tree in trees.items()
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and _private(node.attr) and node.attr not in own
    ]
    assert not found, "private engine internals used by the facade:\n" + "\n".join(found)


def test_the_facade_imports_nothing_private_from_the_main_package():
    found = []
    for name, tree in _trees().items():
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                inside = node.module.startswith("mixedmodels.compat")
                inside |= node.module in SHARED_HELPERS
                parts = node.module.split(".")
                if not inside and any(_private(p) for p in parts):
                    found.append(f"{name}:{node.lineno}: from {node.module}")
                if not inside and any(_private(alias.name) for alias in node.names):
                    found.append(f"{name}:{node.lineno}: a private name from {node.module}")
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    parts = alias.name.split(".")
                    main = parts[0] == "mixedmodels" and "compat" not in parts
                    if main and any(_private(p) for p in parts):
                        found.append(f"{name}:{node.lineno}: import {alias.name}")
    assert not found, "\n".join(found)


def test_the_check_sees_a_private_access():
    """The rule is not vacuous: ``engine._result`` would be found."""
    tree = ast.parse("def f(engine):\n    return engine._result(1, 2, 3)\n")
    attributes = [n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)]
    assert attributes == ["_result"]
    assert "_result" not in set().union(*(private_names_defined(t) for t in _trees().values()))
