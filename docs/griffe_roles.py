"""Griffe extension: Sphinx roles in docstrings become mkdocs-autorefs cross-references.

The docstrings use numpydoc's ``:func:`name```, ``:class:`~pkg.Name```, ``:meth:``,
``:mod:``, ``:data:``, ``:attr:`` and ``:exc:`` roles. mkdocstrings renders them as raw text;
this extension rewrites them, once the package is loaded, into ``[`Name`][pkg.Name]`` links
when the name resolves to an object of the package (absolute, or relative to the object's
module, class or package, or re-exported by ``mixedmodels``) that a page renders (a ``:::``
directive or one of its public members), and into plain code otherwise (private helpers;
matplotlib, numpy, pandas objects: no inventory is loaded, and strict builds fail on
unresolved links).
"""

from __future__ import annotations

import re
from pathlib import Path

import griffe

ROLE = re.compile(r":(?:py:)?(func|class|meth|mod|data|attr|exc|obj):`(~?)([^`]+)`")
DOCS = Path(__file__).resolve().parent
_DIRECTIVE = re.compile(r"^:::\s+(\S+)\s*$")
_MEMBERS = re.compile(r"^\s+members:\s*\[([^\]]*)\]")


def rendered_objects(docs: Path = DOCS) -> dict[str, set[str] | None]:
    """The ``::: identifier`` directives of the pages, each with its ``members`` (None: all)."""
    out: dict[str, set[str] | None] = {}
    for page in docs.rglob("*.md"):
        lines = page.read_text(encoding="utf-8").splitlines()
        for i, line in enumerate(lines):
            match = _DIRECTIVE.match(line)
            if not match:
                continue
            members = None
            for follow in lines[i + 1 : i + 6]:
                found = _MEMBERS.match(follow)
                if found:
                    members = {m.strip() for m in found.group(1).split(",") if m.strip()}
                    break
                if follow.strip() == "" or _DIRECTIVE.match(follow):
                    break
            out[match.group(1)] = members
    return out


def is_rendered(path: str, directives: dict[str, set[str] | None]) -> bool:
    """Whether the docs render ``path``: a directive, or a public member of one."""
    if path in directives:
        return True
    for root, members in directives.items():
        if not path.startswith(root + "."):
            continue
        rest = path[len(root) + 1 :].split(".")
        if any(part.startswith("_") for part in rest):
            continue
        if members is None or rest[0] in members:
            return True
    return False


def _lookup(pkg, path: str):
    """The object at ``path`` in ``pkg`` (following aliases), or None."""
    if not path.startswith(pkg.name + ".") and path != pkg.name:
        return None
    try:
        target = pkg if path == pkg.name else pkg[path[len(pkg.name) + 1 :]]
    except (KeyError, griffe.AliasResolutionError, griffe.CyclicAliasError):
        return None
    return target


def _candidates(obj, name: str, root: str) -> list[str]:
    scopes = []
    current = obj
    while current is not None:
        scopes.append(current.path)
        current = current.parent
    out = [name] if name.startswith(root + ".") or name == root else []
    out += [f"{scope}.{name}" for scope in scopes]
    out.append(f"{root}.{name}")
    return list(dict.fromkeys(out))


def _rewrite(text: str, obj, pkg, directives) -> str:
    def replace(match: re.Match) -> str:
        tilde, name = match.group(2), match.group(3).strip()
        name = name.removesuffix("()")
        short = name.rsplit(".", 1)[-1] if tilde else name
        for path in _candidates(obj, name, pkg.name):
            target = _lookup(pkg, path)
            if target is not None:
                try:
                    full = target.path if not target.is_alias else target.final_target.path
                except (griffe.AliasResolutionError, griffe.CyclicAliasError):
                    full = path
                if is_rendered(path, directives):
                    return f"[`{short}`][{path}]"
                if is_rendered(full, directives):
                    return f"[`{short}`][{full}]"
        return f"`{short}`"

    return ROLE.sub(replace, text)


class SphinxRoles(griffe.Extension):
    """Rewrite the roles of every docstring of the package once it is loaded."""

    def on_package(self, *, pkg, **kwargs) -> None:
        """Walk the package and rewrite each docstring."""
        seen: set[int] = set()
        directives = rendered_objects()

        def visit(obj) -> None:
            if id(obj) in seen or obj.is_alias:
                return
            seen.add(id(obj))
            if obj.docstring is not None and ":" in obj.docstring.value:
                obj.docstring.value = _rewrite(obj.docstring.value, obj, pkg, directives)
            for member in obj.members.values():
                if not member.is_alias:
                    visit(member)

        visit(pkg)
