"""One progress bar for long loops (bootstrap replicates, out-of-core chunks): tqdm's or none.

``progress=True`` shows a bar (and needs tqdm: ``pip install 'mixedmodels[progress]'``),
``False`` never, ``None`` (the default of every caller) when tqdm is installed and standard
error is a terminal.
"""

from __future__ import annotations

import sys
from typing import Protocol

__all__ = ["ProgressBar", "progress_bar"]


class ProgressBar(Protocol):
    """What the loops call: tqdm's bar or a bar that shows nothing."""

    def update(self, n: int = 1) -> object:
        """Advance by ``n`` steps."""
        ...

    def close(self) -> None:
        """End the bar."""
        ...


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def progress_bar(
    progress: bool | None, total: int | None, desc: str, unit: str = "chunk"
) -> ProgressBar:
    """A tqdm bar when ``progress`` is True (or None in an interactive session), else a no-op.

    Parameters
    ----------
    progress
        True, False, or None (shown when tqdm is installed and stderr is a terminal).
    total
        Number of steps, or None when unknown.
    desc, unit
        The bar's label and the name of one step.

    Returns
    -------
    ProgressBar
        An object with ``update(n)`` and ``close()``.

    Raises
    ------
    ImportError
        When ``progress=True`` and tqdm is not installed.
    """
    enabled = progress if progress is not None else _interactive()
    if not enabled:
        return _NoBar()
    try:
        from tqdm.auto import tqdm
    except ImportError as exc:
        if progress:
            raise ImportError(
                "progress=True needs tqdm: pip install 'mixedmodels[progress]'"
            ) from exc
        return _NoBar()
    return tqdm(total=total, desc=desc, unit=unit)


def _interactive() -> bool:
    return bool(getattr(sys.stderr, "isatty", None) and sys.stderr.isatty())
