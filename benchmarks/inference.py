"""Inference timings beside lme4 in the same run: parametric bootstrap and profile intervals.

usage: python -m benchmarks.inference [--replicates 1000] [--jobs 2] [--no-write]

Times (wall clock, median of repeats after a warm-up) of
- 1,000 parametric bootstrap replicates of the sleepstudy random-slope model
  (ours: ``result.bootstrap(n, n_jobs)``; lme4: ``bootMer(fit, fixef, nsim)``);
- profile confidence intervals of the same model
  (ours: ``result.confint("profile")``; lme4: ``confint(fit, method = "profile")``).
lme4 runs only when Rscript with lme4 is installed (never needed by the tests). The table
replaces the section of the same title in benchmarks/results.md.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from statistics import median

import mixedmodels as mm

TITLE = "## Inference (benchmarks/inference.py)"
RESULTS = Path(__file__).with_name("results.md")

R_SCRIPT = r"""
suppressMessages({library(lme4); library(jsonlite)})
args <- commandArgs(TRUE)
d <- read.csv(args[1]); d$Subject <- factor(d$Subject)
n <- as.integer(args[2]); repeats <- as.integer(args[3])
fit <- lmer(Reaction ~ Days + (Days | Subject), d)
boot <- c(); prof <- c()
for (i in seq_len(repeats)) {
  t0 <- proc.time()[["elapsed"]]
  b <- bootMer(fit, fixef, nsim = n, seed = i)
  boot <- c(boot, proc.time()[["elapsed"]] - t0)
  t0 <- proc.time()[["elapsed"]]
  ci <- suppressMessages(confint(fit, method = "profile"))
  prof <- c(prof, proc.time()[["elapsed"]] - t0)
}
write_json(list(bootstrap = median(boot), profile = median(prof)), args[4], auto_unbox = TRUE)
"""


def _ours(replicates: int, jobs: int, repeats: int) -> dict[str, float]:
    data = mm.datasets.load("sleepstudy")
    fit = mm.lmer("Reaction ~ Days + (Days | Subject)", data)
    fit.bootstrap(n=20, seed=0, n_jobs=jobs, progress=False)  # warm-up (workers, compiled code)
    fit.confint("profile")
    boot, prof = [], []
    for i in range(repeats):
        start = time.perf_counter()
        fit.bootstrap(n=replicates, seed=i, n_jobs=jobs, progress=False)
        boot.append(time.perf_counter() - start)
        fresh = mm.lmer("Reaction ~ Days + (Days | Subject)", data)
        start = time.perf_counter()
        fresh.confint("profile")
        prof.append(time.perf_counter() - start)
    return {"bootstrap": median(boot), "profile": median(prof)}


def _lme4(replicates: int, repeats: int) -> dict[str, float] | None:
    if shutil.which("Rscript") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "sleepstudy.csv"
        mm.datasets.load("sleepstudy").to_csv(csv, index=False)
        script = Path(tmp) / "inference.R"
        script.write_text(R_SCRIPT)
        out = Path(tmp) / "out.json"
        args = [str(csv), str(replicates), str(repeats), str(out)]
        done = subprocess.run(["Rscript", str(script), *args], capture_output=True, text=True)
        if done.returncode != 0 or not out.exists():
            return None
        return json.loads(out.read_text())


def _table(ours: dict, lme4: dict | None, replicates: int, jobs: int) -> str:
    rows = [
        ("sleepstudy bootstrap", f"{replicates} replicates, n_jobs={jobs}", "bootstrap"),
        ("sleepstudy profile CIs", "all 6 parameters", "profile"),
    ]
    lines = [
        TITLE,
        "",
        f"Run {time.strftime('%Y-%m-%d %H:%M')}, median of repeats after a warm-up.",
        "",
        "| task | detail | ours | lme4 | lme4/ours |",
        "|---|---|---:|---:|---:|",
    ]
    for name, detail, key in rows:
        theirs = lme4.get(key) if lme4 else None
        ratio = f"{theirs / ours[key]:.1f}x" if theirs else "-"
        their_text = f"{theirs:.2f} s" if theirs else "not installed"
        lines.append(f"| {name} | {detail} | {ours[key]:.3f} s | {their_text} | {ratio} |")
    return "\n".join(lines) + "\n"


def _write(section: str) -> None:
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    if TITLE in text:
        head, _, rest = text.partition(TITLE)
        tail = rest.split("\n## ", 1)
        text = head + section + ("\n## " + tail[1] if len(tail) > 1 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    RESULTS.write_text(text)


def main(argv: list[str] | None = None) -> int:
    """Run the inference benchmark, print its table and store it in results.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=1000)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    ours = _ours(args.replicates, args.jobs, args.repeats)
    lme4 = _lme4(args.replicates, args.repeats)
    section = _table(ours, lme4, args.replicates, args.jobs)
    print(section)
    if not args.no_write:
        _write(section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
