"""Warnings that point at the user's line: the first frame outside this package.

A fixed ``stacklevel`` is right for one call path only (``lmer`` -> ``fit`` -> ``_result`` is
one frame deeper than ``model.fit``); :func:`warn` counts the frames instead, as pandas'
``find_stack_level`` does.
"""

from __future__ import annotations

import os
import sys
import warnings
from types import FrameType

__all__ = ["warn"]

_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep


def warn(message: str, category: type[Warning]) -> None:
    """``warnings.warn`` with the stack level of the first frame outside mixedmodels."""
    frame: FrameType | None = sys._getframe(0)
    level = 1
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame = frame.f_back
        level += 1
    warnings.warn(message, category, stacklevel=level)
