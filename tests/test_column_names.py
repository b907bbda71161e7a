"""lme4's names of fixed-effect columns from formulaic's (mixedmodels.column_names)."""

from __future__ import annotations

import pytest

import mixedmodels as mm
from mixedmodels.column_names import lme4_column_names, split_top
from mixedmodels.formula import parse_formula


@pytest.mark.parametrize(
    ("formulaic", "lme4"),
    [
        ("Intercept", "(Intercept)"),
        ("Days", "Days"),
        ("f[T.b]", "fb"),
        ("C(f)[T.b]", "fb"),
        ("C(f, contr.treatment)[T.b]", "fb"),
        ("x[T.True]", "xTRUE"),
        ("x[False]", "xFALSE"),
        ("f[T.b]:Days", "fb:Days"),
        ("poly(x)[.L]", "poly(x).L"),
    ],
)
def test_formulaic_columns_get_lme4s_names(formulaic, lme4):
    assert lme4_column_names([formulaic]) == (lme4,)


def test_sum_and_helmert_columns_are_numbered_by_position_within_their_factor():
    names = ["Intercept", "f[S.a]", "f[S.b]", "g[H.x]", "g[H.y]", "f[S.b]:g[H.y]"]
    assert lme4_column_names(names) == ("(Intercept)", "f1", "f2", "g1", "g2", "f2:g2")


def test_labels_name_a_call_as_r_writes_it():
    parsed = parse_formula("y ~ I(day^2) + as.numeric(x) + (1 | g)")
    names = ["Intercept", "I(day ** 2)", "as_numeric(x)", "I(day ** 2):f[T.b]"]
    assert lme4_column_names(names, parsed.labels) == (
        "(Intercept)",
        "I(day^2)",
        "as.numeric(x)",
        "I(day^2):fb",
    )
    assert lme4_column_names(["I(day ** 2)"]) == ("I(day ** 2)",)  # without labels: as it is


def test_the_names_of_a_fit_are_lme4s():
    data = mm.datasets.load("penicillin").assign(big=lambda d: d["diameter"] > 24)
    fit = mm.lmer("diameter ~ big + (1 | plate) + (1 | sample)", data)
    assert list(fit.fixef.index) == ["(Intercept)", "bigTRUE"]


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("a:b:c", ["a", "b", "c"]),
        ("f(a:b):c", ["f(a:b)", "c"]),
        ("x[a:b]:y", ["x[a:b]", "y"]),
        ("'a:b':c", ["'a:b'", "c"]),
        ("abc", ["abc"]),
        ("", [""]),
    ],
)
def test_split_top_cuts_only_outside_brackets_and_quotes(text, parts):
    assert split_top(text, ":") == parts
