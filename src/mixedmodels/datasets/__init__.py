"""Example datasets bundled with mixedmodels (the classic lme4 / statsmodels examples).

>>> from mixedmodels import datasets
>>> datasets.load("sleepstudy").shape
(180, 3)
"""

from __future__ import annotations

from importlib import resources

import pandas as pd

__all__ = ["load", "names", "DESCRIPTIONS", "FACTORS"]

DESCRIPTIONS = {
    "cake": "Breaking angle of chocolate cakes: 3 recipes x 6 baking temperatures, 15 "
    "replicates (lme4's cake).",
    "cbpp": "Contagious bovine pleuropneumonia: new cases in 15 herds over 4 periods (lme4).",
    "contraception": "Contraceptive use of 1,934 women in 60 districts of Bangladesh (mlmRev).",
    "grouseticks": "Ticks on 403 red grouse chicks in broods and locations (lme4).",
    "owls": "Sibling negotiation calls of barn owl chicks in 27 nests (glmmTMB).",
    "verbagg": "Verbal aggression: 316 subjects crossed with 24 items, 0/1 answers (lme4).",
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


FACTORS = {
    "cake": ("replicate", "recipe", "temperature"),
    "cbpp": ("herd", "period"),
    "contraception": ("woman", "district", "livch", "urban"),
    "grouseticks": ("INDEX", "BROOD", "YEAR", "LOCATION"),
    "oats": ("Block", "Variety", "nitro"),
    "owls": ("Nest", "FoodTreatment", "SexParent"),
    "verbagg": ("id", "item", "Gender", "btype", "situ", "mode"),
}
"""Columns of the GLMM, oats and cake datasets that R holds as factors, loaded as pandas
categoricals (levels sorted, as R's ``factor``)."""


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
        frame = pd.read_csv(file)
    for column in FACTORS.get(key, ()):
        frame[column] = frame[column].astype("category")
    return frame
