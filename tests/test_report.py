"""Tests for mixedmodels.report: one table model rendered as text, HTML, Markdown and LaTeX."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

try:
    import mixedmodels  # noqa: F401
except ImportError:  # not installed: run from the source tree
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import mixedmodels as mm  # noqa: E402
from mixedmodels.report import Report, Section, format_number, latex_escape  # noqa: E402


@pytest.fixture(scope="module")
def singular():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mm.SingularFitWarning)
        return mm.lmer("Yield ~ 1 + (1|Batch)", mm.datasets.load("dyestuff2"))


@pytest.fixture
def lrt() -> Report:
    table = pd.DataFrame(
        {
            "npar": [4, 6],
            "AIC": [1802.079, 1763.939],
            "Chisq": [np.nan, 42.139],
            "Pr(>Chisq)": [np.nan, 7.07e-10],
        },
        index=pd.Index(["m1", "m2"], name="model"),
    )
    return Report.from_frame(
        "Likelihood-ratio test",
        table,
        lines=("m1: y ~ x",),
        notes=("refitting model(s) with ML (instead of REML)",),
    )


def test_format_number():
    assert format_number(2) == "2"
    assert format_number(np.int64(17)) == "17"
    assert format_number(np.nan) == ""
    assert format_number(7.07e-10) == "7.070e-10"
    assert format_number(42.139) == "42.139"


def test_text_of_one_table_report(lrt):
    text = lrt.to_text().splitlines()
    assert text[0] == "Likelihood-ratio test"
    assert "m1: y ~ x" in text
    row = next(line for line in text if line.strip().startswith("m2"))
    assert row.split() == ["m2", "6", "1763.939", "42.139", "7.07e-10"]
    assert text[-1] == "Note: refitting model(s) with ML (instead of REML)"
    assert str(lrt) == lrt.to_text() == repr(lrt)


def test_markdown_table(lrt):
    md = lrt.to_markdown().splitlines()
    assert md[0] == "**Likelihood-ratio test**"
    header = md.index("| model | npar | AIC | Chisq | Pr(>Chisq) |")
    assert md[header + 1] == "|---|---|---|---|---|"
    assert md[header + 2] == "| m1 | 4 | 1802.079 |  |  |"
    assert md[-1] == "> **Note:** refitting model(s) with ML (instead of REML)"
    assert lrt._repr_markdown_() == lrt.to_markdown()


def test_markdown_escapes_bars_in_cells():
    report = Report("h", (Section(table=pd.DataFrame({"term": ["1|g"]}), index=False),))
    assert "| 1\\|g |" in report.to_markdown()


def test_latex_table(lrt):
    tex = lrt.to_latex().splitlines()
    assert tex[0] == r"\textbf{Likelihood-ratio test}\par"
    begin = tex.index(r"\begin{tabular}{lrrrr}")
    assert tex[begin + 2] == r"model & npar & AIC & Chisq & Pr(\textgreater{}Chisq) \\"
    assert tex[begin + 5] == r"m2 & 6 & 1763.939 & 42.139 & 7.07e-10 \\"
    assert r"\end{tabular}\par" in tex
    assert tex[-1].startswith(r"\medskip\textbf{Note:} refitting")
    assert tex.count(r"\begin{tabular}{lrrrr}") == tex.count(r"\end{tabular}\par") == 1


def test_latex_escape():
    assert latex_escape("a_b & 50% ~ (1|g) {x}") == (
        r"a\_b \& 50\% \textasciitilde{} (1\textbar{}g) \{x\}"
    )


def test_html_shows_table_and_notes(lrt):
    html = lrt.to_html()
    assert html.count("<table") == 1
    assert "<th>m2</th>" in html
    assert "class='mixedmodels-note'" in html
    assert "refitting model(s) with ML (instead of REML)" in html
    assert lrt._repr_html_() == html


def test_singular_fit_note_in_every_rendering(singular):
    summary = singular.summary()
    assert summary.notes
    assert "singular" in summary.notes[0]
    html = singular._repr_html_()
    note = html[html.index("class='mixedmodels-note'") :]
    assert "boundary (singular) fit" in note
    assert "Note: boundary (singular) fit" in str(singular)
    assert "> **Note:** boundary (singular) fit" in summary.to_markdown()
    assert r"\textbf{Note:} boundary (singular) fit" in summary.to_latex()


def test_regular_fit_has_no_notes():
    fit = mm.lmer("Yield ~ 1 + (1|Batch)", mm.datasets.load("dyestuff"))
    summary = fit.summary()
    assert summary.notes == ()
    assert "mixedmodels-note" not in summary.to_html()
    # scaled residuals, random effects, fixed effects (no correlation table for one column)
    assert summary.to_latex().count(r"\begin{tabular}") == 3
