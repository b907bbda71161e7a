"""Tests mirror the package: every ``src/mixedmodels/a/b.py`` has a ``tests/a/test_b.py``.

A private module ``_b.py`` may be mirrored by ``test_b.py``. A module listed in
:data:`WAITING` may go without a mirror for a while; the list may only shrink (empty now:
every module has its mirror).
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "mixedmodels"

WAITING: set[str] = set()


def unmirrored() -> set[str]:
    out = set()
    for path in PACKAGE.rglob("*.py"):
        module = path.relative_to(PACKAGE)
        if module.name in ("__init__.py", "__main__.py"):
            continue
        folder = ROOT / "tests" / module.parent
        names = {module.name, module.name.lstrip("_")}
        if not any((folder / f"test_{name}").exists() for name in names):
            out.add(module.as_posix())
    return out


def test_every_module_has_a_mirror_test():
    missing = sorted(unmirrored() - WAITING)
    assert not missing, f"modules without a tests/.../test_<name>.py mirror: {missing}"


def test_the_waiting_list_only_shrinks():
    done = sorted(WAITING - unmirrored())
    assert not done, f"these have a mirror now (or are gone): take them off WAITING: {done}"
