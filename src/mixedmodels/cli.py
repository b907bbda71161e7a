"""Command line: fit a model to a CSV/Parquet file or a bundled dataset, list the datasets.

Examples
--------
.. code-block:: console

    $ mixedmodels fit sleepstudy "Reaction ~ Days + (Days|Subject)"
    $ mixedmodels fit data.parquet "y ~ x + (1|g)" --ml --factors g --json fit.json
    $ python -m mixedmodels datasets

Exit codes: 0 on success, 2 on bad input (unknown file, malformed formula, missing column,
...) with a one-line message on standard error, 1 when an optional part is not installed
or standard output was closed early.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from mixedmodels import datasets
from mixedmodels._version import __version__
from mixedmodels.api import lmer
from mixedmodels.errors import FormulaError, MissingColumnError, MixedModelsError
from mixedmodels.glmm import glmer
from mixedmodels.summary import build_summary

__all__ = ["main", "read_data", "result_to_json"]

_DDF = {"satterthwaite": "Satterthwaite", "kenward-roger": "Kenward-Roger"}
_PARQUET = {".parquet", ".pq"}


class BadInput(MixedModelsError, ValueError):
    """The command line names something that cannot be used (exit code 2)."""


class Unavailable(MixedModelsError, RuntimeError):
    """An optional part of mixedmodels that the command needs is not installed (exit code 1)."""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line usage errors (exit code 2, no usage dump)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def read_data(source: str) -> pd.DataFrame:
    """Read ``source``: a CSV/TSV/Parquet file, or the name of a bundled dataset.

    Parameters
    ----------
    source
        A path (``.parquet``/``.pq`` read as Parquet, ``.tsv``/``.tab`` tab separated,
        anything else as CSV), or one of :func:`mixedmodels.datasets.names`.

    Returns
    -------
    pandas.DataFrame

    Raises
    ------
    BadInput
        No such file or dataset, or a file that cannot be read as a table.
    Unavailable
        A Parquet file without a Parquet engine (pyarrow) installed.
    """
    path = Path(source)
    if not path.is_file():
        if source.lower() in datasets.names():
            return datasets.load(source)
        if path.exists():
            raise BadInput(f"{source!r} is not a file")
        raise BadInput(
            f"no file or bundled dataset {source!r} (bundled: {', '.join(datasets.names())})"
        )
    suffix = path.suffix.lower()
    try:
        if suffix in _PARQUET:
            return pd.read_parquet(path)
        return pd.read_csv(path, sep="\t" if suffix in {".tsv", ".tab"} else ",")
    except ImportError as exc:
        raise Unavailable(f"reading {path.name} needs pyarrow: pip install pyarrow") from exc
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise BadInput(f"cannot read {source!r}: {reason}") from exc


def _as_factors(data: pd.DataFrame, names: str | None) -> pd.DataFrame:
    if not names:
        return data
    columns = [c.strip() for c in names.split(",") if c.strip()]
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise MissingColumnError(
            f"--factors names column(s) not in the data: {', '.join(missing)} "
            f"(columns: {', '.join(map(str, data.columns))})"
        )
    data = data.copy()
    for column in columns:
        data[column] = data[column].astype("category")
    return data


def _plain(value):
    """JSON-safe scalars: NaN/inf as null, numpy types as Python ones."""
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer, int)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return float(value) if math.isfinite(value) else None
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return value


def result_to_json(result, coefficients: pd.DataFrame | None = None) -> dict:
    """The fit's main numbers as a JSON-ready dict (what ``--json`` writes).

    Parameters
    ----------
    result
        A fitted :class:`~mixedmodels.results.LmerResult`.
    coefficients
        The fixed-effects table with df and p-values, added as ``coefficients`` when given.

    Returns
    -------
    dict
        Keys formula, REML, nobs, objective, theta, sigma, fixef, se, varcorr, loglik, aic,
        bic, singular, converged, ngrps (and coefficients).
    """
    out = {
        "formula": str(result.model.formula),
        "REML": bool(result.reml),
        "nobs": int(result.nobs),
        **({"family": str(result.family)} if hasattr(result, "family") else {}),
        "objective": _plain(result.objective),
        "theta": [_plain(v) for v in np.asarray(result.theta)],
        "sigma": _plain(result.sigma),
        "fixef": {k: _plain(v) for k, v in result.fixef.items()},
        "se": {k: _plain(v) for k, v in result.se.items()},
        "varcorr": [
            {k: _plain(v) for k, v in row.items()}
            for row in result.varcorr.to_dict(orient="records")
        ],
        "loglik": _plain(result.loglik),
        "aic": _plain(result.aic),
        "bic": _plain(result.bic),
        "singular": bool(result.is_singular),
        "converged": bool(result.converged),
        "ngrps": {k: int(v) for k, v in result.ngrps.items()},
    }
    if coefficients is not None:
        out["coefficients"] = {
            name: {k: _plain(v) for k, v in row.items()}
            for name, row in coefficients.to_dict(orient="index").items()
        }
    return out


def _coefficients(result, ddf: str):
    try:
        from mixedmodels.inference.tests import coef_table
    except ImportError as exc:
        raise Unavailable(
            f"--ddf {ddf.lower()} needs mixedmodels.inference.tests.coef_table, which this "
            "installation of mixedmodels lacks"
        ) from exc
    return coef_table(result, ddf=ddf)


def _fit_glmm(args: argparse.Namespace, data: pd.DataFrame):
    """A GLMM fit for ``--family`` (with ``--link``, ``--nagq``)."""
    if args.ml or args.ddf:
        raise BadInput("--ml and --ddf are for linear mixed models; GLMMs are fitted by ML")
    return glmer(
        args.formula,
        data,
        family=args.family,
        link=args.link,
        nAGQ=args.nagq,
        weights=args.weights,
        offset=args.offset,
    )


def _fit(args: argparse.Namespace) -> int:
    data = _as_factors(read_data(args.data), args.factors)
    if args.family is None and (args.link is not None or args.nagq != 1):
        raise BadInput("--link and --nagq need --family (a generalized linear mixed model)")
    if args.family is not None:
        result = _fit_glmm(args, data)
        coefficients = result.coef_table
        ddf = None
    else:
        result = lmer(
            args.formula, data, REML=not args.ml, weights=args.weights, offset=args.offset
        )
        ddf = _DDF[args.ddf] if args.ddf else None
        coefficients = _coefficients(result, ddf) if ddf else None
    if args.json is None or args.json != "-":
        summary = result.summary() if args.family is not None else build_summary(result, ddf=ddf)
        print(summary.to_text())
    if args.json is not None:
        text = json.dumps(result_to_json(result, coefficients), indent=2)
        if args.json == "-":
            print(text)
        else:
            try:
                Path(args.json).write_text(text + "\n", encoding="utf-8")
            except OSError as exc:
                raise BadInput(f"cannot write {args.json!r}: {exc.strerror or exc}") from exc
    return 0


def _datasets(args: argparse.Namespace) -> int:
    width = max(len(name) for name in datasets.names())
    for name in datasets.names():
        print(f"{name:<{width}}  {datasets.DESCRIPTIONS[name]}")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="mixedmodels", description="Linear mixed models, lme4's grammar.")
    parser.add_argument("--version", action="version", version=f"mixedmodels {__version__}")
    commands = parser.add_subparsers(dest="command", parser_class=_Parser)
    fit = commands.add_parser("fit", help="fit a model and print its summary")
    fit.add_argument("data", help="CSV or Parquet file, or a bundled dataset name")
    fit.add_argument("formula", help='lme4 formula, e.g. "y ~ x + (1|g)"')
    fit.add_argument("--ml", action="store_true", help="maximum likelihood instead of REML")
    fit.add_argument(
        "--ddf",
        type=str.lower,
        choices=sorted(_DDF),
        help="add denominator df and p-values to the fixed effects",
    )
    fit.add_argument("--factors", metavar="A,B", help="columns to treat as categorical")
    fit.add_argument("--weights", metavar="COLUMN", help="column of prior weights")
    fit.add_argument("--offset", metavar="COLUMN", help="column added to the linear predictor")
    fit.add_argument("--json", metavar="OUT", help="also write the estimates as JSON ('-': stdout)")
    fit.add_argument(
        "--family",
        type=str,
        help="fit a GLMM: binomial, poisson, Gamma or inverse_gaussian (lme4's glmer)",
    )
    fit.add_argument("--link", help="the GLMM's link (default: the family's canonical link)")
    fit.add_argument(
        "--nagq", type=int, default=1, help="GLMM: 1 Laplace (default), 0, or up to 25 nodes"
    )
    fit.set_defaults(handler=_fit)
    listing = commands.add_parser("datasets", help="list the bundled datasets")
    listing.set_defaults(handler=_datasets)
    return parser


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    if isinstance(exc, FormulaError) and exc.formula is not None and exc.position is not None:
        first += f" (at character {exc.position + 1} of {exc.formula!r})"
    return first


def _warn(message, category, filename, lineno, file=None, line=None) -> None:
    text = str(message).strip().splitlines()[0] if str(message).strip() else ""
    print(f"mixedmodels: warning: {text}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code.

    Parameters
    ----------
    argv
        Arguments without the program name; ``sys.argv[1:]`` when None.

    Returns
    -------
    int
        0 on success, 2 on bad input, 1 when an optional dependency is missing.
    """
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        warnings.showwarning = _warn
        try:
            code = args.handler(args)
            sys.stdout.flush()
            return code
        except BrokenPipeError:  # e.g. `mixedmodels fit ... | head`: the reader left
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 1
        except Unavailable as exc:
            print(f"mixedmodels: error: {_one_line(exc)}", file=sys.stderr)
            return 1
        except MixedModelsError as exc:
            print(f"mixedmodels: error: {_one_line(exc)}", file=sys.stderr)
            return 2
