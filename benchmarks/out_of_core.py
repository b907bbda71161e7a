"""Out-of-core benchmark: a seeded synthetic random intercept and slope model from Parquet.

    python benchmarks/out_of_core.py --rows 100_000_000 --levels 100_000 --sample 10_000_000

writes ``y = 1 + 0.5 x + b0[g] + b1[g] x + e`` (``g`` with ``--levels`` levels) to Parquet in
``--dir`` (once; reused when present), then fits ``y ~ x + (1 + x | g)``:

* out of core through DuckDB, the blocks of A summed in SQL (``method="sql"``),
* out of core through DuckDB in Arrow chunks of 1,000,000 rows (``method="chunks"``),
* in memory (pandas) on the first ``--sample`` rows,

each in its own process, and reports wall time, peak resident memory and rows per second.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

FORMULA = "y ~ x + (1 + x | g)"
ROW_GROUP = 1_000_000


def generate(path: Path, rows: int, levels: int, seed: int) -> float:
    """Write the synthetic data to ``path`` chunk by chunk; returns seconds."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    began = time.perf_counter()
    rng = np.random.default_rng(seed)
    b0 = rng.normal(0.0, 1.0, levels)
    b1 = rng.normal(0.0, 0.3, levels)
    schema = pa.schema([("g", pa.int32()), ("x", pa.float64()), ("y", pa.float64())])
    tmp = path.with_suffix(".tmp")
    with pq.ParquetWriter(tmp, schema) as writer:
        for start in range(0, rows, ROW_GROUP):
            n = min(ROW_GROUP, rows - start)
            g = rng.integers(0, levels, n, dtype=np.int32)
            x = rng.normal(0.0, 1.0, n)
            y = 1.0 + 0.5 * x + b0[g] + b1[g] * x + rng.normal(0.0, 1.0, n)
            writer.write_table(pa.table({"g": g, "x": x, "y": y}, schema=schema))
    tmp.rename(path)
    return time.perf_counter() - began


def run_fit(mode: str, path: str, sample: int) -> dict:
    """One fit in this process; returns timings and the peak resident memory."""
    import mixedmodels as mm

    began = time.perf_counter()
    if mode == "memory":
        import duckdb

        data = duckdb.connect().read_parquet(path).limit(sample).df()
        rows = len(data)
        loaded = time.perf_counter()
        fit = mm.lmer(FORMULA, data)
    else:
        rows = None
        loaded = began
        fit = mm.lmer(FORMULA, mm.sources.DuckDBSource(path, method=mode))
        rows = fit.nobs
    seconds = time.perf_counter() - began
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "mode": mode,
        "rows": rows,
        "seconds": seconds,
        "load_seconds": loaded - began,
        "optimise_seconds": fit.optsum.seconds,
        "peak_gib": peak_kib / 2**20,
        "rows_per_second": rows / seconds,
        "objective": fit.objective,
        "fixef": fit.fixef.round(5).to_dict(),
        "theta": [round(t, 5) for t in fit.theta],
        "sigma": fit.sigma,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000_000)
    parser.add_argument("--levels", type=int, default=100_000)
    parser.add_argument("--sample", type=int, default=10_000_000)
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--dir", default="/tmp/mixedmodels-out-of-core")
    parser.add_argument("--modes", default="sql,chunks,memory")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_fit(args.child, args.path, args.sample)))
        return
    folder = Path(args.dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"ooc_{args.rows}_{args.levels}_{args.seed}.parquet"
    if not path.exists():
        seconds = generate(path, args.rows, args.levels, args.seed)
        print(f"wrote {path} ({path.stat().st_size / 2**30:.2f} GiB) in {seconds:.1f} s")
    results = []
    for mode in args.modes.split(","):
        command = [
            sys.executable,
            __file__,
            "--child",
            mode,
            "--path",
            str(path),
            "--sample",
            str(args.sample),
        ]
        out = subprocess.run(
            command,
            check=True,
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
        )
        result = json.loads(out.stdout.strip().splitlines()[-1])
        results.append(result)
        print(json.dumps(result))
    print()
    print("| fit | rows | time (s) | peak memory (GiB) | rows / s | objective |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        print(
            f"| {r['mode']} | {r['rows']:,} | {r['seconds']:.1f} | {r['peak_gib']:.2f} | "
            f"{r['rows_per_second']:,.0f} | {r['objective']:.4f} |"
        )


if __name__ == "__main__":
    main()
