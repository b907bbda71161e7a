"""Example datasets bundled with mixedmodels (the classic lme4 / statsmodels examples).

>>> from mixedmodels import datasets
>>> datasets.load("sleepstudy").shape
(180, 3)
"""

from __future__ import annotations

from importlib import resources

import pandas as pd

__all__ = ["load", "names", "DESCRIPTIONS"]

DESCRIPTIONS = {
    "cake": "Breaking angle of chocolate cakes: 3 recipes x 6 baking temperatures, 15 "
    "replicates (lme4's cake).",
    "dietox": "Growth of 72 pigs over 12 weeks (statsmodels' MixedLM example).",
    "dyestuff": "Yield of dyestuff from 6 batches of an intermediate product (lme4).",
    "dyestuff2": "Simulated dyestuff-like data whose batch variance is zero (lme4).",
    "insteval": "73,421 lecture evaluations by students, crossed students and lecturers (lme4).",
    "oats": "Oat yields: a split plot of 3 varieties (whole plots) x 4 nitrogen levels in 6 "
    "blocks (nlme's Oats).",
    "pastes": "Strength of paste: casks nested in batches (lme4).",
    "penicillin": "Penicillin assay diameters: plates crossed with samples (lme4).",
    "sitka": "Growth of 79 Sitka spruce trees under ozone (MASS / statsmodels).",
    "sleepstudy": "Reaction times of 18 subjects over 10 days of sleep deprivation (lme4).",
}


def names() -> list[str]:
    """Names of the bundled datasets."""
    return sorted(DESCRIPTIONS)


def load(name: str) -> pd.DataFrame:
    """Load a bundled dataset as a DataFrame.

    Parameters
    ----------
    name
        One of :func:`names` (case-insensitive).

    Raises
    ------
    KeyError
        For an unknown name (the message lists the available ones).
    """
    key = name.lower()
    if key not in DESCRIPTIONS:
        from mixedmodels.errors import MissingColumnError

        raise MissingColumnError(f"no dataset {name!r}; available: {', '.join(names())}")
    path = resources.files("mixedmodels.datasets") / "data" / f"{key}.csv"
    with resources.as_file(path) as file:
        return pd.read_csv(file)
