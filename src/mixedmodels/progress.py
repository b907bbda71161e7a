"""Progress bars for long loops (bootstrap, profile, all_fit, influence): tqdm, when it is there.

``progress=None`` (the default of every caller) shows a bar in a Jupyter notebook or a
terminal, and only once the loop has run for :data:`DELAY` seconds, so quick calls print
nothing; ``True`` always shows one (when tqdm is installed), ``False`` never.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager

__all__ = ["DELAY", "progress_bar", "interactive"]

DELAY = 1.0
"""Seconds a loop runs before its bar appears."""


class _Silent:
    """Stands in for a bar: ``update`` does nothing."""

    def update(self, n: int = 1) -> None:
        """Ignore progress."""


def in_notebook() -> bool:
    """Whether the code runs in a Jupyter kernel."""
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    try:
        ip = shell.get_ipython()
    except AttributeError:  # pragma: no cover - an IPython without get_ipython
        return False
    return ip is not None and type(ip).__name__ == "ZMQInteractiveShell"


def interactive() -> bool:
    """A notebook, or standard error on a terminal."""
    return in_notebook() or (hasattr(sys.stderr, "isatty") and sys.stderr.isatty())


def make_bar(progress: bool | None, total: int, desc: str, unit: str = "fit"):
    """A tqdm bar or None (see the module docstring for ``progress``)."""
    if progress is False or (progress is None and not interactive()):
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=desc, unit=unit, delay=0.0 if progress else DELAY)


@contextmanager
def progress_bar(progress: bool | None, total: int, desc: str, unit: str = "fit"):
    """Context manager giving an object with ``update(n)``: a tqdm bar or a silent one."""
    bar = make_bar(progress, total, desc, unit)
    try:
        yield bar if bar is not None else _Silent()
    finally:
        if bar is not None:
            bar.close()
