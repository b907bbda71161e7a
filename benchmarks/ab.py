"""A/B timing of two source trees: ``python -m benchmarks.ab BASE_TREE [OTHER_TREE]``.

Fits the small reference models (and one_factor_1e4x1e5, insteval) with the ``src`` of two
checkouts, in alternating fresh processes (A, B, B, A, ...), so that load from other users of
the machine falls on both sides alike. Each process warms up on every model, then fits each
model ``--repeats`` times; over all rounds the table reports the minimum and the median per
model and side, and the ratio B / A of each. The data and the formulas come from this tree
(tests/reference, benchmarks.synthetic), so both sides fit the same problems. The load
average before and after is printed with the table.

``python -m benchmarks.ab --worker TREE`` is one process's run (JSON on stdout).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
REFERENCE = ROOT / "tests" / "reference"

SMALL = [
    "dyestuff",
    "dyestuff_ml",
    "dyestuff2",
    "sleepstudy_rs",
    "sleepstudy_rs_ml",
    "sleepstudy_zc",
    "dietox_ri",
    "dietox_rs",
    "dietox_indep",
    "sitka_ri",
    "sitka_rs",
    "penicillin",
    "pastes",
]
LARGE = ["one_factor_1e4x1e5", "insteval"]
LARGE_REPEATS = {"one_factor_1e4x1e5": 5, "insteval": 1}


def _case(name: str):
    """Data frame, formula and REML flag of a case (from this tree's files)."""
    import mixedmodels as mm

    if name == "one_factor_1e4x1e5":
        sys.path.insert(0, str(ROOT))
        from benchmarks import synthetic

        return synthetic.one_factor(levels=10_000, rows=100_000), "y ~ x + (1|g)", True
    ref = json.loads((REFERENCE / f"{name}.json").read_text())
    data = mm.datasets.load(ref["data"])
    for col in ref["factors"]:
        if col in data.columns:
            data[col] = data[col].astype("category")
    return data, ref["formula"], bool(ref["REML"])


def worker(names: list[str], repeats: int) -> dict[str, list[float]]:
    """Per case the seconds of ``repeats`` fits, after one warm-up fit of every case."""
    import mixedmodels as mm

    cases = {name: _case(name) for name in names}
    times: dict[str, list[float]] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for data, formula, reml in cases.values():
            mm.lmer(formula, data, REML=reml)
        for name, (data, formula, reml) in cases.items():
            count = LARGE_REPEATS.get(name, repeats)
            out = times.setdefault(name, [])
            for _ in range(count):
                start = time.perf_counter()
                mm.lmer(formula, data, REML=reml)
                out.append(time.perf_counter() - start)
    return times


def _spawn(tree: Path, names: list[str], repeats: int) -> dict[str, list[float]]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(tree / "src")
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--worker", str(tree)]
        + ["--repeats", str(repeats), "--only", *names],
        capture_output=True,
        text=True,
        env=env,
        cwd=tree,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"worker on {tree} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _fmt(seconds: float) -> str:
    return f"{seconds * 1e3:.3f} ms" if seconds < 1 else f"{seconds:.3f} s"


def table(a: dict[str, list[float]], b: dict[str, list[float]], names: list[str]) -> str:
    """Markdown table: min and median of each side and the ratios B / A."""
    lines = [
        "| model | A min | B min | B/A min | A median | B median | B/A median |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name in names:
        amin, bmin = min(a[name]), min(b[name])
        amed, bmed = statistics.median(a[name]), statistics.median(b[name])
        lines.append(
            f"| {name} | {_fmt(amin)} | {_fmt(bmin)} | {bmin / amin:.3f} | "
            f"{_fmt(amed)} | {_fmt(bmed)} | {bmed / amed:.3f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trees", nargs="*", type=Path, help="A (base) and B (default: this tree)")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--rounds", type=int, default=6, help="process pairs (default 6)")
    parser.add_argument("--repeats", type=int, default=30, help="fits per process and model")
    parser.add_argument("--only", nargs="+", help="case names (default: all)")
    parser.add_argument("--small", action="store_true", help="only the small models")
    args = parser.parse_args(argv)
    names = args.only or (SMALL if args.small else SMALL + LARGE)
    if args.worker is not None:
        print(json.dumps(worker(names, args.repeats)))
        return
    if not args.trees:
        parser.error("give the base tree (A)")
    tree_a = args.trees[0].resolve()
    tree_b = (args.trees[1] if len(args.trees) > 1 else ROOT).resolve()
    load_before = os.getloadavg()
    a: dict[str, list[float]] = {n: [] for n in names}
    b: dict[str, list[float]] = {n: [] for n in names}
    for i in range(args.rounds):
        order = [(tree_a, a), (tree_b, b)] if i % 2 == 0 else [(tree_b, b), (tree_a, a)]
        for tree, into in order:
            for name, secs in _spawn(tree, names, args.repeats).items():
                into[name] += secs
        print(f"round {i + 1}/{args.rounds} done", file=sys.stderr, flush=True)
    load_after = os.getloadavg()
    print(f"A = {tree_a}\nB = {tree_b}")
    print(
        f"{args.rounds} rounds x {args.repeats} fits per small model; load average before "
        + " / ".join(f"{x:.2f}" for x in load_before)
        + ", after "
        + " / ".join(f"{x:.2f}" for x in load_after)
    )
    print(table(a, b, names))


if __name__ == "__main__":
    if sys.path and Path(sys.path[0]).resolve() == HERE:
        sys.path.pop(0)  # run as a script: benchmarks/*.py must not shadow top-level modules
    main()
