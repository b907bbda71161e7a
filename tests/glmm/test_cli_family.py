"""The command line's --family: a GLMM fit, its JSON, and bad input."""

from __future__ import annotations

import json

from mixedmodels.cli import main

FORMULA = "cbind(incidence, size - incidence) ~ period + (1 | herd)"


def test_family_fits_a_glmm(capsys):
    assert main(["fit", "cbpp", FORMULA, "--family", "binomial", "--json", "-"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["family"] == "binomial(logit)"
    assert abs(out["objective"] - 184.0525637) < 1e-4
    assert set(out["coefficients"]["period2"]) == {"Estimate", "Std. Error", "z value", "Pr(>|z|)"}


def test_summary_and_bad_family(capsys):
    assert main(["fit", "cbpp", FORMULA, "--family", "binomial", "--nagq", "5"]) == 0
    assert "nAGQ = 5" in capsys.readouterr().out
    assert main(["fit", "cbpp", FORMULA, "--family", "binomal"]) == 2
    assert "unknown family 'binomal'" in capsys.readouterr().err
    assert main(["fit", "cbpp", "incidence ~ period + (1 | herd)", "--link", "log"]) == 2
    assert "--link and --nagq need --family" in capsys.readouterr().err
