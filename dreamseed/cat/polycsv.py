"""Bank and parameter CSV files of the ``simulate`` and ``calibrate`` tools
(:mod:`dreamseed.cat.cli`).

A **bank file** has columns ``a,b,c`` and optionally ``d``, ``id`` (or ``item``), ``content``,
``exposure_k`` and ``flag``; the 1PL/2PL/3PL parameter file that ``calibrate`` writes is one.

A **mixed bank file** has a ``model`` column (``1PL``, ``2PL``, ``3PL``, ``4PL``, ``GPCM``,
``PCM`` or ``GRM``) and the category thresholds in columns ``b1, b2, ...`` (left empty beyond
an item's last threshold), plus optional ``a`` (default 1), ``c``, ``d``, ``id`` (or
``item``), ``content``, ``exposure_k`` and ``flag``. A dichotomous row may give its
difficulty in ``b`` instead of ``b1``. Example::

    id,model,a,b1,b2,b3,c
    q1,GPCM,1.1,-0.8,0.2,1.1,
    q2,GRM,0.9,-1.2,0.4,,
    q3,3PL,1.3,0.5,,,0.2

The parameter file that ``calibrate`` writes for such a bank has the same columns (and
``se_a, se_b1, ..., se_c, n_responses``), so it can be given back to ``simulate``; its items
flagged as not estimated are skipped there.
"""

from __future__ import annotations

import csv
import math
import sys

import numpy as np

from .csvio import NUMBER, TEXT, read_table, write_table
from .exceptions import CatError, CsvFormatError, InvalidParametersError
from .polytomous import MAX_CATEGORIES, MODEL_CODES, make_bank
from .pool import ItemPool

#: Threshold columns ``b1 .. b{MAX_CATEGORIES - 1}``.
THRESHOLD_COLUMNS = tuple(f"b{k}" for k in range(1, MAX_CATEGORIES))
#: Models written by calibrate (PCM and 1PL keep their names: their slope is fixed at 1).
POLYTOMOUS_MODELS = ("GPCM", "PCM", "GRM")
#: Columns of the 1PL/2PL/3PL parameter file.
PARAMS_COLUMNS = ("item", "a", "b", "c", "d", "se_a", "se_b", "se_c", "flag", "n_responses")

_BANK_COLUMNS = {"a": NUMBER, "b": NUMBER, "c": NUMBER}
_BANK_OPTIONAL = {
    "d": NUMBER,
    "id": TEXT,
    "item": TEXT,
    "content": TEXT,
    "exposure_k": NUMBER,
    "flag": TEXT,
}


def read_bank(path: str) -> ItemPool:
    """Read a bank file into a pool, mapping parameter errors back to file lines (a mixed bank
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


def write_params(path: str, labels: list[str], result) -> None:
    """Write a :class:`~dreamseed.cat.calibration.CalibrationResult` as a parameter file (a
    bank file with standard errors, flags and response counts)."""
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
    write_table(path, PARAMS_COLUMNS, rows)


def is_mixed_bank_file(path: str) -> bool:
    """Whether a bank CSV uses the mixed format (a ``model`` or a ``b1`` column)."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            header = next(csv.reader(handle), [])
    except (OSError, UnicodeDecodeError, csv.Error):
        return False  # read_table reports the problem with the usual message
    names = {cell.strip() for cell in header}
    return "model" in names or "b1" in names


def read_mixed_bank(path: str):
    """Read a mixed bank file into a :class:`~dreamseed.cat.adaptive_poly.PolyItemPool`.

    Raises
    ------
    CsvFormatError
        Unreadable file, missing columns, a bad number or model, or parameters the engine
        refuses; the message names the line and column.
    """
    from .adaptive_poly import PolyItemPool

    optional = {**_BANK_COLUMNS, **_BANK_OPTIONAL, **dict.fromkeys(THRESHOLD_COLUMNS, NUMBER)}
    table = read_table(
        path,
        required={"model": TEXT},
        optional=optional,
        allow_empty=("a", "b", "c", "d", "flag", "exposure_k", *THRESHOLD_COLUMNS),
    )
    columns = table.columns
    rows = list(range(len(table)))
    if "flag" in columns:  # a calibrate output: skip the items it could not estimate
        rows = [
            r
            for r in rows
            if not (columns["flag"][r] and "a" in columns and columns["a"][r] is None)
        ]
        skipped = len(table) - len(rows)
        if skipped:
            print(f"note: skipped {skipped} flagged item(s) without parameters", file=sys.stderr)
        if not rows:
            raise CatError(f"{path}: every item is flagged; no item to test with")
    present = [name for name in THRESHOLD_COLUMNS if name in columns]
    if not present and "b" not in columns:
        raise CsvFormatError("missing threshold columns: give b1, b2, ... (or b)", path=path)
    models, thresholds = [], []
    for r in rows:
        model = columns["model"][r]
        if model not in MODEL_CODES:
            raise table.error(
                r, "model", f"unknown model {model!r}: use one of {', '.join(MODEL_CODES)}"
            )
        row = [columns[name][r] for name in present]
        while row and row[-1] is None:
            row.pop()
        if not row and "b" in columns and columns["b"][r] is not None:
            row = [columns["b"][r]]
        if not row:
            raise table.error(r, present[0] if present else "b", "no threshold on this row")
        if None in row:
            gap = present[row.index(None)]
            raise table.error(
                r, gap, "empty threshold before a later one: fill thresholds in order"
            )
        models.append(model)
        thresholds.append(row)

    def column(name, default):
        values = columns.get(name)
        if values is None:
            return np.full(len(rows), default, dtype=float)
        return np.array([default if values[r] is None else values[r] for r in rows], dtype=float)

    id_column = "id" if "id" in columns else ("item" if "item" in columns else None)
    ids = [columns[id_column][r] for r in rows] if id_column else None
    content = [columns["content"][r] for r in rows] if "content" in columns else None
    try:
        bank = make_bank(
            column("a", 1.0), thresholds, models, c=column("c", 0.0), d=column("d", 1.0)
        )
        return PolyItemPool(bank, ids=ids, content=content, exposure_k=column("exposure_k", 1.0))
    except InvalidParametersError as exc:
        if exc.item is not None:
            message = str(exc).split(": ", 1)[-1]
            column_name = exc.column if exc.column in columns else None
            if exc.column == "thresholds":
                column_name = present[0] if present else "b"
            raise table.error(rows[exc.item], column_name, message) from None
        raise CatError(f"{path}: {exc}") from None


def read_item_models(path: str, labels: list[str]) -> tuple[list[str], np.ndarray | None]:
    """Read ``item,model[,categories]``: the model of every item of the responses (and,
    optionally, its number of score categories). Returns models and categories (or None)."""
    from .calibration_poly import MODELS

    table = read_table(
        path,
        required={"item": TEXT, "model": TEXT},
        optional={"categories": NUMBER},
        allow_empty=("categories",),
    )
    by_item: dict[str, tuple[str, float | None]] = {}
    for row, (label, model) in enumerate(
        zip(table.columns["item"], table.columns["model"], strict=True)
    ):
        if model not in MODELS:
            raise table.error(
                row, "model", f"unknown model {model!r}: use one of {', '.join(MODELS)}"
            )
        if label in by_item:
            raise table.error(row, "item", f"item {label!r} is listed twice")
        categories = table.columns.get("categories", [None] * len(table))[row]
        if categories is not None and not (
            categories == round(categories) and 2 <= categories <= MAX_CATEGORIES
        ):
            raise table.error(
                row, "categories", f"categories must be a whole number 2..{MAX_CATEGORIES}"
            )
        by_item[label] = (model, categories)
    missing = [label for label in labels if label not in by_item]
    if missing:
        raise CsvFormatError(
            f"no model for item(s) {', '.join(repr(m) for m in missing[:5])}"
            + (f" and {len(missing) - 5} more" if len(missing) > 5 else ""),
            path=path,
        )
    models = [by_item[label][0] for label in labels]
    given = [by_item[label][1] for label in labels]
    if all(value is None for value in given):
        return models, None
    observed = np.array([0 if value is None else int(value) for value in given])
    return models, observed


def anchors_for(pool, labels: list[str], path: str):
    """Match an anchor bank's ids to the response file's item labels.

    Returns ``(bank_rows_for_every_label, fixed_mask)``: a PolyBank with one row per label
    (free items get a placeholder row copied from the first anchor) and the anchors' mask.
    """
    if not pool.ids:
        raise CsvFormatError("the anchor bank needs an id (or item) column", path=path)
    position = {item_id: i for i, item_id in enumerate(pool.ids)}
    fixed = np.array([label in position for label in labels])
    if not fixed.any():
        raise CsvFormatError("none of the anchor bank's ids is an item of the responses", path=path)
    first = next(position[label] for label in labels if label in position)
    rows = [position.get(label, first) for label in labels]
    return pool.bank.subset(rows), fixed


def write_mixed_params(path: str, labels: list[str], result) -> None:
    """Write a :class:`~dreamseed.cat.calibration_poly.PolyCalibrationResult` as a mixed bank
    file with standard errors, flags and response counts."""
    width = result.thresholds.shape[1]
    b_names = [f"b{k}" for k in range(1, width + 1)]
    header = [
        "item",
        "model",
        "a",
        *b_names,
        "c",
        "se_a",
        *[f"se_{name}" for name in b_names],
        "se_c",
        "flag",
        "anchor",
        "n_responses",
    ]
    rows = []
    for i, label in enumerate(labels):
        rows.append(
            [
                label,
                result.models[i],
                float(result.a[i]),
                *[float(v) for v in result.thresholds[i]],
                float(result.c[i]) if np.isfinite(result.a[i]) else math.nan,
                float(result.se_a[i]),
                *[float(v) for v in result.se_thresholds[i]],
                float(result.se_c[i]),
                result.flags[i],
                "yes" if result.fixed[i] else "",
                int(result.n_responses[i]),
            ]
        )
    write_table(path, header, rows)
