"""Command line: simulate adaptive tests of examinees with known abilities on an item bank.

    python -m dreamseed.cat.simulate --bank BANK.csv --thetas THETAS.csv --max-items 30 \\
        [--min-items N] [--se-target X] [--estimator eap|map|mle|wle] \\
        [--selector mfi|randomesque:K|sympson-hetter] [--content-targets A=0.5,B=0.5] \\
        [--seed S] --out OUT.csv

BANK.csv has columns ``a,b,c`` and optionally ``d``, ``id`` (or ``item``), ``content`` and
``exposure_k`` (Sympson-Hetter parameters, default 1). A bank with polytomous items has a
``model`` column and category thresholds in ``b1, b2, ...`` (see
:mod:`dreamseed.cat.polycsv`); examinees then score 0..m on those items. A parameter file written by
``dreamseed.cat.calibrate`` works as a bank: its items flagged as not estimated are skipped.
THETAS.csv has a column ``theta`` (and optionally ``examinee``). OUT.csv gets one row per
examinee: ``examinee,true_theta,theta,se,n_items``. The last line printed is a JSON summary.
Bad input exits with status 2 and a message naming the file, line and column.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from .adaptive_poly import PolyItemPool, simulate_poly
from .csvio import NUMBER, TEXT, read_table, write_table
from .estimation import ESTIMATORS
from .exceptions import CatError, ConfigurationError, InvalidParametersError
from .polycsv import is_mixed_bank_file, read_mixed_bank
from .pool import ItemPool
from .selection import SELECTOR_MFI, SELECTOR_RANDOMESQUE, SELECTOR_SYMPSON_HETTER
from .simulation import simulate
from .stopping import StoppingRule

EXIT_BAD_INPUT = 2

_BANK_COLUMNS = {"a": NUMBER, "b": NUMBER, "c": NUMBER}
_BANK_OPTIONAL = {
    "d": NUMBER,
    "id": TEXT,
    "item": TEXT,
    "content": TEXT,
    "exposure_k": NUMBER,
    "flag": TEXT,
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m dreamseed.cat.simulate",
        description="Simulate computerized adaptive tests on an item bank.",
    )
    parser.add_argument("--bank", required=True, help="item bank CSV (a,b,c[,d,id,content])")
    parser.add_argument("--thetas", required=True, help="CSV with a 'theta' column")
    parser.add_argument("--max-items", type=int, required=True, help="maximum test length")
    parser.add_argument("--min-items", type=int, default=0, help="minimum test length")
    parser.add_argument("--se-target", type=float, default=None, help="stop once SE <= this")
    parser.add_argument("--estimator", choices=ESTIMATORS, default="eap")
    parser.add_argument(
        "--selector",
        default=SELECTOR_MFI,
        help="mfi (default), randomesque:K, or sympson-hetter",
    )
    parser.add_argument(
        "--content-targets",
        default=None,
        help="content balancing targets, e.g. algebra=0.5,geometry=0.3,data=0.2",
    )
    parser.add_argument("--seed", type=int, default=None, help="random seed")
    parser.add_argument("--out", required=True, help="output CSV, one row per examinee")
    return parser


def parse_selector(text: str) -> tuple[str, int]:
    """``"mfi"``, ``"randomesque:K"`` (K defaults to 5) or ``"sympson-hetter"``."""
    name, _, argument = text.partition(":")
    if name == SELECTOR_RANDOMESQUE:
        try:
            k = int(argument) if argument else 5
        except ValueError:
            raise ConfigurationError(
                f"randomesque:K needs an integer K; got {argument!r}"
            ) from None
        if k < 1:
            raise ConfigurationError(f"randomesque:K needs K >= 1; got {k}")
        return name, k
    if name in (SELECTOR_MFI, SELECTOR_SYMPSON_HETTER) and not argument:
        return name, 5
    raise ConfigurationError(f"unknown selector {text!r}: use mfi, randomesque:K or sympson-hetter")


def parse_content_targets(text: str | None) -> dict[str, float] | None:
    if not text:
        return None
    targets = {}
    for part in text.split(","):
        area, sep, value = part.partition("=")
        area = area.strip()
        try:
            if not (sep and area):
                raise ValueError(part)
            targets[area] = float(value)
        except ValueError:
            raise ConfigurationError(
                f"content targets must look like area=0.5,other=0.5; got {part!r}"
            ) from None
    return targets


def read_bank(path: str) -> ItemPool:
    """Read BANK.csv into a pool, mapping parameter errors back to file lines (a mixed bank
    file gives a :class:`~dreamseed.cat.adaptive_poly.PolyItemPool`)."""
    if is_mixed_bank_file(path):
        return read_mixed_bank(path)
    table = read_table(
        path,
        required=_BANK_COLUMNS,
        optional=_BANK_OPTIONAL,
        allow_empty=("a", "b", "c", "d", "flag", "exposure_k"),
    )
    columns = table.columns
    rows = list(range(len(table)))
    if "flag" in columns:  # a calibrate output: skip the items it could not estimate
        rows = [r for r in rows if not (columns["flag"][r] and columns["a"][r] is None)]
        skipped = len(table) - len(rows)
        if skipped:
            print(f"note: skipped {skipped} flagged item(s) without parameters", file=sys.stderr)
        if not rows:
            raise CatError(f"{path}: every item is flagged; no item to test with")
    for name in ("a", "b", "c", "d"):
        for r in rows if name in columns else ():
            if columns[name][r] is None:
                raise table.error(r, name, "empty value")

    def column(name, default):
        if name not in columns:
            return np.full(len(rows), default, dtype=float)
        values = [columns[name][r] for r in rows]
        return np.array([default if v is None else v for v in values], dtype=float)

    id_column = "id" if "id" in columns else ("item" if "item" in columns else None)
    ids = [columns[id_column][r] for r in rows] if id_column else None
    content = [columns["content"][r] for r in rows] if "content" in columns else None
    try:
        return ItemPool.from_arrays(
            a=column("a", 1.0),
            b=column("b", 0.0),
            c=column("c", 0.0),
            d=column("d", 1.0),
            ids=ids,
            content=content,
            exposure_k=column("exposure_k", 1.0),
        )
    except InvalidParametersError as exc:
        if exc.item is not None:
            row = rows[exc.item]
            message = str(exc).split(": ", 1)[-1] if ": " in str(exc) else str(exc)
            raise table.error(row, exc.column, message) from None
        raise CatError(f"{path}: {exc}") from None


def read_thetas(path: str) -> tuple[list[str], np.ndarray]:
    table = read_table(path, required={"theta": NUMBER}, optional={"examinee": TEXT})
    names = table.columns.get("examinee") or [str(i) for i in range(1, len(table) + 1)]
    return names, np.array(table.columns["theta"], dtype=float)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        selector, randomesque_k = parse_selector(args.selector)
        rules = StoppingRule(
            max_items=args.max_items, min_items=args.min_items, se_target=args.se_target
        )
        content_targets = parse_content_targets(args.content_targets)
        pool = read_bank(args.bank)
        names, thetas = read_thetas(args.thetas)
        run = simulate_poly if isinstance(pool, PolyItemPool) else simulate
        result = run(
            pool,
            thetas,
            rules=rules,
            estimator=args.estimator,
            selector=selector,
            randomesque_k=randomesque_k,
            content_targets=content_targets,
            rng=args.seed,
        )
        rows = zip(
            names,
            result.true_theta.tolist(),
            result.theta.tolist(),
            result.se.tolist(),
            result.n_items.tolist(),
            strict=True,
        )
        write_table(args.out, ("examinee", "true_theta", "theta", "se", "n_items"), rows)
    except CatError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as exc:
        print(f"error: cannot write {args.out}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_BAD_INPUT

    summary = {
        **result.summary(),
        "pool_items": pool.n_items,
        "estimator": args.estimator,
        "selector": args.selector,
        "seed": args.seed,
    }
    print(
        f"{summary['examinees']} examinees, {summary['mean_items']} items on average, "
        f"RMSE {summary['rmse']:.3f}; results in {args.out}"
    )
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
