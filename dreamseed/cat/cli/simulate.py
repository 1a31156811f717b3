"""Command line: simulate adaptive tests of examinees with known abilities on an item bank.

    python -m dreamseed.cat.cli.simulate --bank BANK.csv --thetas THETAS.csv --max-items 30 \\
        [--min-items N] [--se-target X] [--estimator eap|map|mle|wle] \\
        [--selector mfi|randomesque:K|sympson-hetter] [--content-targets A=0.5,B=0.5] \\
        [--seed S] --out OUT.csv

BANK.csv has columns ``a,b,c`` and optionally ``d``, ``id`` (or ``item``), ``content`` and
``exposure_k`` (Sympson-Hetter parameters, default 1). A bank with polytomous items has a
``model`` column and category thresholds in ``b1, b2, ...`` (see
:mod:`dreamseed.cat.polycsv`); examinees then score 0..m on those items. A parameter file written
by ``dreamseed.cat.cli.calibrate`` works as a bank: its items flagged as not estimated are
skipped. THETAS.csv has a column ``theta`` (and optionally ``examinee``). OUT.csv gets one row per
examinee: ``examinee,true_theta,theta,se,n_items``. The last line printed is a JSON summary.
Bad input exits with status 2 and a message naming the file, line and column.
"""

from __future__ import annotations

import argparse
import json
import sys

from ..csvio import read_thetas, write_table
from ..estimation import ESTIMATORS
from ..exceptions import ConfigurationError
from ..polycsv import read_bank
from ..selection import SELECTOR_MFI, SELECTOR_RANDOMESQUE, SELECTOR_SYMPSON_HETTER
from ..simulation import simulate
from ..stopping import StoppingRule
from . import EXIT_BAD_INPUT, run_or_report


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m dreamseed.cat.cli.simulate",
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


def _simulate(args):
    selector, randomesque_k = parse_selector(args.selector)
    rules = StoppingRule(
        max_items=args.max_items, min_items=args.min_items, se_target=args.se_target
    )
    content_targets = parse_content_targets(args.content_targets)
    pool = read_bank(args.bank)
    names, thetas = read_thetas(args.thetas)
    result = simulate(  # a mixed bank's pool is simulated with scores 0..m
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
    return pool, result


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    done = run_or_report(lambda: _simulate(args), out=args.out)
    if done is None:
        return EXIT_BAD_INPUT
    pool, result = done
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
