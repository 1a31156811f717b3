"""Command line: calibrate item parameters from long-format responses (MML by EM).

    python -m dreamseed.cat.calibrate --responses RESP.csv --model 1PL|2PL|3PL --out PARAMS.csv
    python -m dreamseed.cat.calibrate --responses RESP.csv --model GPCM|PCM|GRM --out PARAMS.csv
    python -m dreamseed.cat.calibrate --responses RESP.csv --item-models MODELS.csv \\
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

import numpy as np

from .calibration import (
    DEFAULT_MAX_ITERATIONS,
    DEFAULT_MIN_RESPONSES,
    DEFAULT_TOLERANCE,
    MODELS,
    calibrate,
)
from .csvio import TEXT, read_table, write_table
from .exceptions import CatError
from .polycsv import POLYTOMOUS_MODELS, run_mixed_calibration

EXIT_BAD_INPUT = 2
OUTPUT_COLUMNS = ("item", "a", "b", "c", "d", "se_a", "se_b", "se_c", "flag", "n_responses")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m dreamseed.cat.calibrate",
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


def _sorted_labels(labels: set[str]) -> list[str]:
    """Numeric labels in numeric order, others alphabetically."""
    try:
        return sorted(labels, key=lambda label: (float(label), label))
    except ValueError:
        return sorted(labels)


def read_responses(path: str):
    """Read RESP.csv into index arrays; returns (person, item, response, item_labels, n_persons)."""
    table = read_table(path, required={"person": TEXT, "item": TEXT, "response": TEXT})
    persons, items, answers = (table.columns[k] for k in ("person", "item", "response"))
    response = np.empty(len(table), dtype=np.int8)
    for row, value in enumerate(answers):
        if value not in ("0", "1", "0.0", "1.0"):
            raise table.error(row, "response", f"{value!r} is not a response: use 0 or 1")
        response[row] = 1 if value.startswith("1") else 0

    item_labels = _sorted_labels(set(items))
    item_code = {label: i for i, label in enumerate(item_labels)}
    person_code: dict[str, int] = {}
    person = np.fromiter(
        (person_code.setdefault(p, len(person_code)) for p in persons), np.intp, len(table)
    )
    item = np.fromiter((item_code[i] for i in items), np.intp, len(table))

    keys = person.astype(np.int64) * len(item_labels) + item
    order = np.argsort(keys, kind="stable")
    repeats = np.flatnonzero(np.diff(keys[order]) == 0)
    if len(repeats):
        first, second = order[repeats[0]], order[repeats[0] + 1]
        raise table.error(
            second,
            "item",
            f"person {persons[second]!r} answered item {items[second]!r} twice "
            f"(first on line {table.lines[first]})",
        )
    return person, item, response, item_labels, len(person_code)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not (args.model or args.item_models):
        parser.error("give --model or --item-models")
    if args.model in POLYTOMOUS_MODELS or args.item_models or args.anchors:
        return run_mixed_calibration(args)
    try:
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
        rows = (
            [
                label,
                *result.params[i].tolist(),
                *result.se[i].tolist(),
                result.flags[i],
                int(result.n_responses[i]),
            ]
            for i, label in enumerate(labels)
        )
        write_table(args.out, OUTPUT_COLUMNS, rows)
    except CatError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as exc:
        print(f"error: cannot write {args.out}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_BAD_INPUT

    flag_counts: dict[str, int] = {}
    for flag in result.flags:
        if flag:
            flag_counts[flag] = flag_counts.get(flag, 0) + 1
    summary = {
        "model": result.model,
        "items": len(labels),
        "persons": n_persons,
        "responses": len(response),
        "iterations": result.iterations,
        "converged": result.converged,
        "loglik": None if np.isnan(result.loglik) else round(result.loglik, 4),
        "seconds": round(result.seconds, 4),
        "items_flagged": int(sum(flag_counts.values())),
        "flags": flag_counts,
        "flagged_items": [labels[i] for i in result.flagged.tolist()][:50],
    }
    print(
        f"{args.model}: {len(labels)} items, {n_persons} persons, {len(response)} responses, "
        f"{result.iterations} EM iterations, {summary['items_flagged']} flagged; wrote {args.out}"
    )
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
