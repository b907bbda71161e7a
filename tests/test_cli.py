"""Tests for mixedmodels.cli, run as a user runs it: ``python -m mixedmodels`` in a subprocess."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "tests" / "reference"


def reference(name: str) -> dict:
    return json.loads((REFERENCE / f"{name}.json").read_text())


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    return subprocess.run(
        [sys.executable, "-m", "mixedmodels", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=300,
    )


def assert_close_json(out: dict, ref: dict) -> None:
    assert out["objective"] == pytest.approx(ref["objective"], abs=1e-5)
    assert out["sigma"] == pytest.approx(ref["sigma"], rel=1e-4)
    assert out["loglik"] == pytest.approx(ref["loglik"], abs=1e-5)
    assert out["aic"] == pytest.approx(ref["aic"], abs=1e-5)
    assert out["bic"] == pytest.approx(ref["bic"], abs=1e-5)
    assert out["fixef"] == pytest.approx(ref["fixef"], rel=1e-4)
    assert out["se"] == pytest.approx(ref["se"], rel=1e-4)
    theta = ref["theta"] if isinstance(ref["theta"], list) else [ref["theta"]]  # R unboxes
    assert out["theta"] == pytest.approx(theta, rel=1e-3, abs=1e-4)
    assert out["ngrps"] == ref["ngrps"]
    assert out["nobs"] == ref["nobs"]
    assert out["singular"] == ref["singular"]
    assert out["converged"] is True
    assert out["formula"] == ref["formula"]
    assert out["REML"] == ref["REML"]
    assert [(v["grp"], v["var1"], v["var2"]) for v in out["varcorr"]] == [
        (v["grp"], v["var1"], v["var2"]) for v in ref["varcorr"]
    ]
    for got, want in zip(out["varcorr"], ref["varcorr"], strict=True):
        assert got["sdcor"] == pytest.approx(want["sdcor"], rel=1e-3, abs=1e-6)


def test_fit_bundled_dataset_prints_summary():
    ref = reference("sleepstudy_rs")
    done = run("fit", "sleepstudy", ref["formula"])
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    lines = done.stdout.splitlines()
    assert lines[0] == "Linear mixed model fit by REML"
    criterion = next(line for line in lines if line.startswith("REML criterion"))
    assert float(criterion.split(":")[1]) == pytest.approx(ref["objective"], abs=1e-4)
    assert "Number of obs: 180, groups:  Subject, 18" in lines


def test_fit_csv_ml_json_file(tmp_path):
    ref = reference("dyestuff_ml")
    data = tmp_path / "dye.csv"
    data.write_text((ROOT / "src/mixedmodels/datasets/data/dyestuff.csv").read_text())
    out = tmp_path / "fit.json"
    done = run("fit", str(data), ref["formula"], "--ml", "--factors", "Batch", "--json", str(out))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Linear mixed model fit by maximum likelihood")
    assert_close_json(json.loads(out.read_text()), ref)


def test_fit_parquet_json_stdout_and_singular_warning(tmp_path):
    pytest.importorskip("pyarrow")
    import pandas as pd

    ref = reference("dyestuff2")
    path = tmp_path / "dye2.parquet"
    pd.read_csv(ROOT / "src/mixedmodels/datasets/data/dyestuff2.csv").to_parquet(path)
    done = run("fit", str(path), ref["formula"], "--json", "-")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)  # JSON only: no summary on stdout
    assert_close_json(out, ref)
    assert out["singular"] is True
    warnings = done.stderr.splitlines()
    assert len(warnings) == 1
    assert warnings[0].startswith("mixedmodels: warning: boundary (singular) fit")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("fit", "no_such_file.csv", "y ~ 1 + (1|g)"), "no file or bundled dataset"),
        (("fit", "sleepstudy", "Reaction ~ Days + (Days|Subject"), "unmatched '('"),
        (("fit", "sleepstudy", "Reaction ~ Dayz + (1|Subject)"), "Dayz"),
        (("fit", "sleepstudy", "Reaction ~ 1 + (1|Subject)", "--factors", "Nope"), "Nope"),
        (("fit", "sleepstudy", "Reaction ~ 1 + (1|Subject)", "--ddf", "wald"), "--ddf"),
    ],
)
def test_bad_input_exit_2_one_line(tmp_path, args, message):
    done = run(*args, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert message in lines[0]
    assert lines[0].startswith("mixedmodels")


def test_unreadable_file_is_bad_input(tmp_path):
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"not a parquet file")
    done = run("fit", str(path), "y ~ 1 + (1|g)")
    assert done.returncode in (1, 2)  # 1 when no Parquet engine is installed
    assert len(done.stderr.splitlines()) == 1
    if importlib.util.find_spec("pyarrow") is not None:
        assert done.returncode == 2
        assert "cannot read" in done.stderr


def test_ddf_satterthwaite():
    ref = reference("sleepstudy_rs")
    done = run("fit", "sleepstudy", ref["formula"], "--ddf", "satterthwaite", "--json", "-")
    if importlib.util.find_spec("mixedmodels.inference.tests") is None:
        assert done.returncode == 1
        assert done.stderr.splitlines() == [
            "mixedmodels: error: --ddf satterthwaite needs mixedmodels.inference.tests.coef_table,"
            " which this installation of mixedmodels lacks"
        ]
        return
    assert done.returncode == 0, done.stderr
    table = json.loads(done.stdout)["coefficients"]
    assert set(table) == set(ref["fixef"])
    # the df column, whatever its name, holds lmerTest's Satterthwaite df
    df_columns = [
        column
        for column in table["Days"]
        if all(
            table[name][column] == pytest.approx(ref["satterthwaite_df"][name], rel=1e-3)
            for name in table
        )
    ]
    assert df_columns


def test_closed_stdout_is_no_traceback():
    """`mixedmodels fit ... | head`: the reader goes away before the summary is written."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    proc = subprocess.Popen(
        [sys.executable, "-m", "mixedmodels", "fit", "dyestuff", "Yield ~ 1 + (1|Batch)"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    proc.stdout.close()  # before the interpreter has even imported mixedmodels
    stderr = proc.stderr.read()
    proc.wait(timeout=300)
    proc.stderr.close()
    assert "Traceback" not in stderr
    assert proc.returncode == 1


def test_datasets_lists_every_bundled_dataset():
    done = run("datasets")
    assert done.returncode == 0
    names = [line.split()[0] for line in done.stdout.splitlines()]
    bundled = sorted(p.stem for p in (ROOT / "src/mixedmodels/datasets/data").glob("*.csv"))
    assert names == bundled
