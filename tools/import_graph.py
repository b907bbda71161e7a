"""The package's import graph: module-level edges, cycles, and function-level imports.

``python tools/import_graph.py [--edges]`` (from the repository root) prints the cycles among
module-level imports of mixedmodels' own modules (strongly connected components), the count
of function-level imports of the package's own modules, and the largest modules. Read from
the source text (``ast``), so nothing is imported. ``TYPE_CHECKING`` blocks are not edges.
"""

from __future__ import annotations

import argparse
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "src"
PACKAGE = "mixedmodels"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _resolve(node: ast.ImportFrom, here: str, is_package: bool) -> str:
    if node.level == 0:
        return node.module or ""
    base = here.split(".")
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports(path: Path, modules: set[str]) -> tuple[set[str], list[tuple[str, int]]]:
    """Module-level targets and function-level (target, line) imports of one file."""
    here = module_name(path)
    is_package = path.name == "__init__.py"
    tree = ast.parse(path.read_text())
    top: set[str] = set()
    inner: list[tuple[str, int]] = []

    def targets(node: ast.AST) -> list[str]:
        found = []
        if isinstance(node, ast.Import):
            found = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(node, here, is_package)
            submodules = [f"{base}.{alias.name}" for alias in node.names]
            found = [name for name in submodules if name in modules]
            if len(found) < len(submodules):  # a name defined in ``base`` itself
                found.append(base)
        return [_owner(name, modules) for name in found if name.startswith(PACKAGE)]

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                continue
            if isinstance(child, ast.Import | ast.ImportFrom):
                for target in targets(child):
                    if target is None or target == here:
                        continue
                    if in_function:
                        inner.append((target, child.lineno))
                    else:
                        top.add(target)
                continue
            nested = in_function or isinstance(
                child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
            )
            visit(child, nested)

    visit(tree, False)
    return top, sorted(set(inner), key=lambda item: item[1])


def _owner(name: str, modules: set[str]) -> str | None:
    """The module a dotted name lives in (``a.b.func`` -> ``a.b``)."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def graph() -> tuple[dict[str, set[str]], dict[str, list[tuple[str, int]]]]:
    paths = {module_name(p): p for p in (ROOT / PACKAGE).rglob("*.py")}
    modules = set(paths)
    edges, inner = {}, {}
    for name, path in sorted(paths.items()):
        edges[name], inner[name] = imports(path, modules)
    return edges, inner


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def strong(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            strong(v)
    return found


def reach(edges: dict[str, set[str]], start: str) -> set[str]:
    """Modules imported, directly or not, when ``start`` is imported (module-level edges).

    Importing ``a.b.c`` from outside ``a.b`` runs the package's ``__init__`` too (the root
    package aside, which every import runs first).
    """
    seen: set[str] = set()
    todo = [start]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for target in edges.get(name, ()):
            parts = target.split(".")
            parents = (".".join(parts[:k]) for k in range(2, len(parts)))
            todo.append(target)
            todo.extend(p for p in parents if not name.startswith(p + "."))
    return seen


def dodges(edges, inner) -> list[tuple[str, int, str]]:
    """Function-level imports that would close a cycle if written at module level."""
    found = []
    for name, items in inner.items():
        for target, line in items:
            if target != PACKAGE and name in reach(edges, target):
                found.append((name, line, target))
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--edges", action="store_true", help="list function-level imports")
    args = parser.parse_args()
    edges, inner = graph()
    found = cycles(edges)
    print(f"modules: {len(edges)}; module-level edges: {sum(map(len, edges.values()))}")
    print(f"cycles (strongly connected components): {len(found)}")
    for component in found:
        print("  " + " <-> ".join(component))
    both = {name: edges[name] | {t for t, _ in inner[name]} for name in edges}
    hidden = cycles(both)
    print(f"cycles once function-level imports count as edges: {len(hidden)}")
    for component in hidden:
        print("  " + " <-> ".join(component))
    count = sum(map(len, inner.values()))
    print(f"function-level imports of the package's own modules: {count}")
    dodging = dodges(edges, inner)
    print(f"of which close a cycle if written at module level: {len(dodging)}")
    if args.edges:
        closing = {(name, line, target) for name, line, target in dodging}
        for name, items in inner.items():
            for target, line in items:
                mark = "  (closes a cycle)" if (name, line, target) in closing else ""
                print(f"  {name}:{line} -> {target}{mark}")
    sizes = sorted(
        ((len(p.read_text().splitlines()), module_name(p)) for p in (ROOT / PACKAGE).rglob("*.py")),
        reverse=True,
    )
    print("modules over 500 lines: " + ", ".join(f"{n} ({s})" for s, n in sizes if s > 500))


if __name__ == "__main__":
    main()
