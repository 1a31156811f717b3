"""Reading and writing the CSV files of the command-line tools, with errors that name the file,
line and column of the problem (the header is line 1)."""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from .exceptions import CsvFormatError

NUMBER = "number"
TEXT = "text"


@dataclass
class Table:
    """Columns read from a CSV file.

    Attributes
    ----------
    path : str
    columns : dict of str to list
        Values per column: floats for numeric columns, stripped strings otherwise. Optional
        columns absent from the file are absent here.
    lines : list of int
        File line of each row (1-based; the header is line 1).
    """

    path: str
    columns: dict[str, list]
    lines: list[int]

    def __len__(self) -> int:
        return len(self.lines)

    def error(self, row: int, column: str | None, message: str) -> CsvFormatError:
        """An error pointing at data row ``row`` (0-based) of this table."""
        return CsvFormatError(message, path=self.path, line=self.lines[row], column=column)


def read_table(
    path: str,
    *,
    required: dict[str, str],
    optional: dict[str, str] | None = None,
    allow_empty: Iterable[str] = (),
) -> Table:
    """Read a CSV file with a header line.

    Parameters
    ----------
    path : str
    required, optional : dict of column name to kind
        ``"number"`` (a finite float) or ``"text"`` (a non-empty string). Other columns in the
        file are ignored.
    allow_empty : iterable of str
        Columns whose cells may be empty (read as None).

    Raises
    ------
    CsvFormatError
        Unreadable or empty file, duplicate or missing columns, a row with the wrong number of
        fields, an empty cell, or a value that is not a finite number.
    """
    optional = optional or {}
    allow_empty = set(allow_empty)
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.reader(handle))
    except FileNotFoundError:
        raise CsvFormatError("file not found", path=path) from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise CsvFormatError(f"cannot read the file: {exc}", path=path) from None

    if not rows or not any(cell.strip() for cell in rows[0]):
        expected = ", ".join(required)
        raise CsvFormatError(
            f"the file is empty; expected a header line with columns {expected}",
            path=path,
            line=1,
        )
    header = [cell.strip() for cell in rows[0]]
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise CsvFormatError(f"column {name!r} appears twice in the header", path=path, line=1)
        seen.add(name)
    missing = [name for name in required if name not in seen]
    if missing:
        raise CsvFormatError(
            f"missing column(s) {', '.join(repr(m) for m in missing)}; the header has "
            f"{', '.join(repr(h) for h in header)}",
            path=path,
            line=1,
        )

    wanted = {**required, **{k: v for k, v in optional.items() if k in seen}}
    positions = {name: header.index(name) for name in wanted}
    columns: dict[str, list] = {name: [] for name in wanted}
    lines: list[int] = []
    for line_number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue  # blank line
        if len(row) != len(header):
            raise CsvFormatError(
                f"expected {len(header)} fields like the header, found {len(row)}",
                path=path,
                line=line_number,
            )
        for name, kind in wanted.items():
            cell = row[positions[name]].strip()
            if not cell:
                if name in allow_empty:
                    columns[name].append(None)
                    continue
                raise CsvFormatError("empty value", path=path, line=line_number, column=name)
            columns[name].append(_parse(cell, kind, path, line_number, name))
        lines.append(line_number)
    if not lines:
        raise CsvFormatError("no data rows after the header", path=path)
    return Table(path, columns, lines)


def _parse(cell: str, kind: str, path: str, line: int, column: str):
    if kind == TEXT:
        return cell
    try:
        value = float(cell)
    except ValueError:
        raise CsvFormatError(
            f"{cell!r} is not a number", path=path, line=line, column=column
        ) from None
    if not math.isfinite(value):
        raise CsvFormatError(
            f"{cell!r} is not a finite number", path=path, line=line, column=column
        )
    return value


def write_table(path: str, header: Sequence[str], rows: Iterable[Sequence]) -> None:
    """Write a CSV file; floats get 6 decimals and NaN/None become empty cells."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for row in rows:
            writer.writerow([_format(value) for value in row])


def _format(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.6f}"
    return str(value)


# --- The tools' files ----------------------------------------------------------------------------


def read_responses(path: str, *, scores: bool = False):
    """Read ``person,item,response`` (long format, one row per answer) into index arrays.

    Responses are 0/1, or with ``scores`` whole numbers 0, 1, 2, ... (polytomous items). Returns
    ``(person, item, response, item_labels, n_persons)``: item labels in numeric order when they
    are all numbers, else alphabetical; persons coded in order of first appearance.

    Raises
    ------
    CsvFormatError
        A bad response, or a person who answered an item twice (naming both lines).
    """
    table = read_table(path, required={"person": TEXT, "item": TEXT, "response": TEXT})
    persons, items, answers = (table.columns[k] for k in ("person", "item", "response"))
    response = np.empty(len(table), dtype=np.intp if scores else np.int8)
    for row, value in enumerate(answers):
        response[row] = _score(value) if scores else _answer(value)
        if response[row] < 0:
            expected = (
                "a score: use a whole number 0, 1, 2, ..." if scores else ("a response: use 0 or 1")
            )
            raise table.error(row, "response", f"{value!r} is not {expected}")

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


def _answer(value: str) -> int:
    """0 or 1, or -1 for anything else."""
    if value not in ("0", "1", "0.0", "1.0"):
        return -1
    return 1 if value.startswith("1") else 0


def _score(value: str) -> int:
    """A whole number >= 0, or -1 for anything else."""
    try:
        number = float(value)
    except ValueError:
        return -1
    if not (math.isfinite(number) and number >= 0 and number == round(number)):
        return -1
    return int(number)


def _sorted_labels(labels: set[str]) -> list[str]:
    """Numeric labels in numeric order, others alphabetically."""
    try:
        return sorted(labels, key=lambda label: (float(label), label))
    except ValueError:
        return sorted(labels)


def read_thetas(path: str) -> tuple[list[str], np.ndarray]:
    """Read ``theta`` (and optionally ``examinee``): names (1, 2, ... without that column) and
    abilities."""
    table = read_table(path, required={"theta": NUMBER}, optional={"examinee": TEXT})
    names = table.columns.get("examinee") or [str(i) for i in range(1, len(table) + 1)]
    return names, np.array(table.columns["theta"], dtype=float)
