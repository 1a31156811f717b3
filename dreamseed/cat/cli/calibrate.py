"""Command line: calibrate item parameters from long-format responses (MML by EM).

    python -m dreamseed.cat.cli.calibrate --responses RESP.csv --model 1PL|2PL|3PL --out PARAMS.csv
    python -m dreamseed.cat.cli.calibrate --responses RESP.csv --model GPCM|PCM|GRM --out PARAMS.csv
    python -m dreamseed.cat.cli.calibrate --responses RESP.csv --item-models MODELS.csv \\
        [--anchors BANK.csv] --out PARAMS.csv

RESP.csv has columns ``person,item,response`` (0/1, or scores 0..m for polytomous items), one
row per answer; pairs never asked are simply absent. For 1PL/2PL/3PL PARAMS.csv gets
``item,a,b,c,d,se_a,se_b,se_c,flag,n_responses``, one row per item (empty cells where a value
was not estimated). Polytomous models, a mixed bank (MODELS.csv: ``item,model[,categories]``)
or anchors (a bank file whose ids name items held at their parameters, e.g. for pilot items)
use :func:`dreamseed.cat.calibration_poly.calibrate_poly` and write a mixed bank file
(``item,model,a,b1..bM,c,se_...,flag,anchor,n_responses``; see :mod:`dreamseed.cat.polycsv`).
The last line printed is a JSON summary. Bad input exits with status 2 and a message naming
the file, line and column.
"""

from __future__ import annotations

import argparse
import json
import sys

from ..calibration import (
    DEFAULT_MAX_ITERATIONS,
    DEFAULT_MIN_RESPONSES,
    DEFAULT_TOLERANCE,
    MODELS,
    calibrate,
)
from ..calibration_poly import calibrate_poly
from ..csvio import read_responses
from ..polycsv import (
    POLYTOMOUS_MODELS,
    anchors_for,
    read_item_models,
    read_mixed_bank,
    write_mixed_params,
    write_params,
)
from . import EXIT_BAD_INPUT, run_or_report


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m dreamseed.cat.cli.calibrate",
        description=(
            "Calibrate 1PL/2PL/3PL, GPCM/PCM/GRM or mixed-bank item parameters by marginal "
            "maximum likelihood (EM), optionally with anchor items held fixed."
        ),
    )
    parser.add_argument("--responses", required=True, help="CSV with person,item,response")
    parser.add_argument("--model", choices=MODELS + POLYTOMOUS_MODELS)
    parser.add_argument("--item-models", help="CSV item,model[,categories] for a mixed bank")
    parser.add_argument("--anchors", help="bank CSV of anchor items held fixed (matched by id)")
    parser.add_argument("--out", required=True, help="output CSV of item parameters")
    parser.add_argument(
        "--min-responses",
        type=int,
        default=DEFAULT_MIN_RESPONSES,
        help=f"flag items with fewer responses (default {DEFAULT_MIN_RESPONSES})",
    )
    parser.add_argument(
        "--slope-prior-sd",
        type=float,
        default=None,
        help="2PL/3PL: put a normal prior with this SD on ln a (e.g. 0.5); default none (ML)",
    )
    parser.add_argument("--max-iterations", type=int, default=DEFAULT_MAX_ITERATIONS)
    parser.add_argument("--tolerance", type=float, default=DEFAULT_TOLERANCE)
    return parser


def _calibrate_dichotomous(args):
    person, item, response, labels, n_persons = read_responses(args.responses)
    result = calibrate(
        person,
        item,
        response,
        n_items=len(labels),
        n_persons=n_persons,
        model=args.model,
        min_responses=args.min_responses,
        max_iterations=args.max_iterations,
        tolerance=args.tolerance,
        slope_prior=None if args.slope_prior_sd is None else (0.0, args.slope_prior_sd),
    )
    write_params(args.out, labels, result)
    summary = result.summary(labels, persons=n_persons, responses=len(response))
    return summary, f"{args.model}: {len(labels)} items, "


def _calibrate_mixed(args):
    """Polytomous models, per-item models or anchors."""
    person, item, score, labels, n_persons = read_responses(args.responses, scores=True)
    if args.item_models:
        models, categories = read_item_models(args.item_models, labels)
    else:
        models, categories = [args.model] * len(labels), None
    anchors, fixed = None, None
    if args.anchors:
        anchors, fixed = anchors_for(read_mixed_bank(args.anchors), labels, args.anchors)
    result = calibrate_poly(
        person,
        item,
        score,
        models=models,
        n_items=len(labels),
        n_persons=n_persons,
        n_categories=categories,
        anchors=anchors,
        fixed=fixed,
        min_responses=args.min_responses,
        max_iterations=args.max_iterations,
        tolerance=args.tolerance,
    )
    write_mixed_params(args.out, labels, result)
    summary = result.summary(labels, persons=n_persons, responses=len(score))
    kinds = ", ".join(f"{count} {model}" for model, count in result.model_counts.items())
    return summary, f"{kinds}: "


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not (args.model or args.item_models):
        parser.error("give --model or --item-models")
    mixed = args.model in POLYTOMOUS_MODELS or args.item_models or args.anchors
    if mixed and args.slope_prior_sd is not None:
        print(
            "error: --slope-prior-sd is for the 2PL/3PL calibration only; polytomous, mixed and "
            "anchored calibrations are plain marginal maximum likelihood",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    done = run_or_report(
        lambda: (_calibrate_mixed if mixed else _calibrate_dichotomous)(args), out=args.out
    )
    if done is None:
        return EXIT_BAD_INPUT
    summary, headline = done
    print(
        f"{headline}{summary['persons']} persons, {summary['responses']} responses, "
        f"{summary['iterations']} EM iterations, {summary['items_flagged']} flagged; "
        f"wrote {args.out}"
    )
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
