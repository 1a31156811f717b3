"""Item files: read a CSV or JSON file, validate every cell, and plan what importing it would do;
write the bank out in the same formats. The format is documented in IMPORT_FORMAT.md.

Planning only reads; `services.item_import_apply` writes the plan, all of it or nothing. Every
problem names its place ("Line 7, column 'b': ..." or "Item 3 (line 14), field 'b': ..."), so
a teacher can fix the file. Items are matched by their external id, so importing the same file
twice changes nothing the second time; a line without an id gets one derived from its content.
Columns a file leaves out keep the existing item's values, so a file of just `external_id,b`
updates difficulties and nothing else.
"""

import csv
import hashlib
import io
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import PurePath

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from dreamseed.core.exports import spreadsheet_safe, spreadsheet_unescape
from dreamseed.core.jsonlimits import JSONLimitError, json_limits_check
from dreamseed.core.uploads import megabytes, upload_check, upload_decode
from dreamseed.itembank.formats import gift, moodlexml
from dreamseed.itembank.formats.moodle import ForeignFileError
from dreamseed.itembank.kinds import ItemKind, kind_label
from dreamseed.itembank.models import Item, ItemStatus
from dreamseed.itembank.validation import OPTION_FIELDS, OPTION_KEYS, ItemValues, item_values_clean

FORMAT_CSV, FORMAT_JSON, FORMAT_QTI = "csv", "json", "qti"
FORMAT_MOODLE_XML, FORMAT_GIFT = "moodlexml", "gift"
# Formats whose upload is a zip package, kept as bytes between preview and confirmation.
PACKAGE_FORMATS = (FORMAT_QTI,)
# How the kinds other than single choice are marked, as flat CSV columns (JSON may use "answer").
ANSWER_COLUMNS = (
    "answer_value", "answer_tolerance", "answer_units", "answer_unit_required",
    "accepted_answers", "case_sensitive",
)  # fmt: skip
# Partial credit (issue 24): the scoring rule's flat columns, and a GPCM/GRM item's steps
# ("-1.2;0.3;1.1"). Appended last so files written before them still line up.
PARTIAL_COLUMNS = ("scoring", "partial_tolerance", "max_points")
COLUMNS = (
    "external_id", "status", "subject", "grade", "content_area", "standards", "model",
    "a", "b", "c", "d", "se_a", "se_b", "se_c", "stem", *OPTION_FIELDS, "correct_key",
    "kind", *ANSWER_COLUMNS, *PARTIAL_COLUMNS, "steps",
)  # fmt: skip
CONTENT_COLUMNS = ("stem", "option_a", "option_b", "correct_key")
IMPORT_MAX_BYTES = 30_000_000
IMPORT_EXTENSIONS = (".csv", ".json", ".txt", ".xml", ".gift")
PACKAGE_EXTENSIONS = (".zip",)
IMPORT_FILE_KINDS = gettext_lazy("CSV, JSON, Moodle XML, GIFT or QTI")
IMPORT_MAX_ROWS = 20_000
CSV_FIELD_LIMIT = 1_000_000
MAX_PROBLEMS = 200
JSON_FORMAT_NAME = "dreamseed-items"
JSON_FORMAT_VERSION = 1
DERIVED_ID_PREFIX = "h-"

CREATE, UPDATE, UNCHANGED = "create", "update", "unchanged"
CHANGE_LABELS = {
    "content": gettext_lazy("question or options"),
    "status": gettext_lazy("status"),
    "subject": gettext_lazy("subject"),
    "grade": gettext_lazy("grade"),
    "content_area": gettext_lazy("content area"),
    "standards": gettext_lazy("standards"),
    "parameters": gettext_lazy("IRT parameters"),
}
_METADATA = ("status", "subject", "grade", "content_area")
_PARAMETERS = ("model", "a", "b", "c", "d", "steps")
_STANDARD_SEPARATOR = "; "


class ItemFileError(Exception):
    """The file as a whole cannot be read (size, encoding, not CSV/JSON, no header)."""


@dataclass(frozen=True)
class ImportProblem:
    line: int | None
    column: str | None
    message: str
    item: int | None = None  # 1-based position in a JSON file
    # Where in a package: "items/q7.xml" or "items/q7.xml line 12, <choiceInteraction>".
    place: str | None = None

    def __str__(self) -> str:
        values = {
            "line": self.line,
            "column": self.column,
            "item": self.item,
            "message": self.message,
            "place": self.place,
        }
        if self.place:
            if self.column:
                return _("%(place)s, field '%(column)s': %(message)s") % values
            return _("%(place)s: %(message)s") % values
        if self.item is not None:
            if self.line is not None and self.column:
                return _("Item %(item)s (line %(line)s), field '%(column)s': %(message)s") % values
            if self.column:
                return _("Item %(item)s, field '%(column)s': %(message)s") % values
            if self.line is not None:
                return _("Item %(item)s (line %(line)s): %(message)s") % values
            return _("Item %(item)s: %(message)s") % values
        if self.column:
            return _("Line %(line)s, column '%(column)s': %(message)s") % values
        return _("Line %(line)s: %(message)s") % values

    def as_dict(self) -> dict:
        return {
            "line": self.line,
            "item": self.item,
            "column": self.column,
            "message": self.message,
            "place": self.place,
        }


@dataclass
class ImportRow:
    line: int | None
    item_number: int | None
    values: ItemValues
    external_id: str
    action: str = CREATE
    changes: list[str] = field(default_factory=list)
    # The item as it is in the bank (an export row plus "id" and "current_version_id").
    existing: dict | None = None
    new_version: bool = False  # content changes on an item in use become a new version
    place: str | None = None  # the item's file in a package

    @property
    def change_labels(self) -> list[str]:
        return [str(CHANGE_LABELS[name]) for name in self.changes]

    @property
    def kind_label(self) -> str:
        return kind_label(self.values.kind)

    @property
    def where(self) -> str:
        if self.place:
            return self.place
        return str(self.line if self.line is not None else self.item_number)


@dataclass
class ImportPlan:
    format: str = FORMAT_CSV
    rows: list[ImportRow] = field(default_factory=list)
    problems: list[ImportProblem] = field(default_factory=list)
    truncated: bool = False
    # Images a package brings along, saved when the plan is applied: {url: (bytes, extension)}.
    assets: dict[str, tuple[bytes, str]] = field(default_factory=dict)

    @property
    def is_valid(self) -> bool:
        return not self.problems

    @property
    def counts(self) -> dict[str, int]:
        counts = {CREATE: 0, UPDATE: 0, UNCHANGED: 0}
        for row in self.rows:
            counts[row.action] += 1
        return {"rows": len(self.rows), **counts}

    @property
    def has_changes(self) -> bool:
        return any(row.action != UNCHANGED for row in self.rows)

    def digest(self) -> str:
        """A fingerprint of what applying would do, to check a confirm against its preview."""
        hasher = hashlib.sha256()
        for row in self.rows:
            parts = [row.where, row.action, row.external_id, ",".join(row.changes)]
            hasher.update("|".join(parts).encode() + b"\n")
        return hasher.hexdigest()

    def add(self, line, column, message, *, item=None, place=None) -> None:
        if len(self.problems) >= MAX_PROBLEMS:
            self.truncated = True
            return
        self.problems.append(ImportProblem(line, column, str(message), item, place))


@dataclass
class _Record:
    line: int | None
    item_number: int | None
    raw: dict
    place: str | None = None


# --- Reading ---------------------------------------------------------------------------------


def import_decode(data: bytes) -> str:
    """The uploaded bytes as text: UTF-8, with or without a byte-order mark."""
    return upload_decode(
        data,
        max_bytes=IMPORT_MAX_BYTES,
        error=ItemFileError,
        not_text_message=_("This does not look like a CSV, JSON, Moodle XML or GIFT file."),
    )


def import_read(data: bytes, filename: str) -> tuple[str, str | bytes]:
    """(format, content) of an upload: a zip is a QTI package (kept as bytes), anything else
    is decoded as text: CSV, JSON, Moodle XML or GIFT."""
    from dreamseed.itembank.formats.qti import is_package

    if is_package(data):
        if len(data) > IMPORT_MAX_BYTES:
            raise ItemFileError(
                _("The file is larger than %(size)s MB. Split it into smaller files.")
                % {"size": IMPORT_MAX_BYTES // 1_000_000}
            )
        return FORMAT_QTI, data
    text = import_decode(data)
    return import_detect_format(filename, text), text


def import_upload_check(upload) -> None:
    """Refuse an uploaded item file that cannot be one (size, extension, not text, not a zip);
    raises forms.ValidationError with a message saying what to upload instead."""
    if PurePath(upload.name or "").suffix.lower() not in PACKAGE_EXTENSIONS:
        upload_check(
            upload,
            max_bytes=IMPORT_MAX_BYTES,
            extensions=IMPORT_EXTENSIONS + PACKAGE_EXTENSIONS,
            what=IMPORT_FILE_KINDS,
        )
        return
    if upload.size > IMPORT_MAX_BYTES:
        raise forms.ValidationError(
            _("The file is larger than %(limit)s (it is %(actual)s). Split it into smaller files.")
            % {"limit": megabytes(IMPORT_MAX_BYTES), "actual": megabytes(upload.size)},
            code="too_large",
        )
    upload.seek(0)
    head = upload.read(4)
    upload.seek(0)
    if head[:4] not in (b"PK\x03\x04", b"PK\x05\x06"):
        raise forms.ValidationError(
            _("“%(name)s” is not a zip file: upload the .zip a QTI tool exported.")
            % {"name": upload.name},
            code="not_zip",
        )


def import_detect_format(filename: str, text: str) -> str:
    name = (filename or "").lower()
    if name.endswith(".json"):
        return FORMAT_JSON
    if name.endswith(".csv"):
        return FORMAT_CSV
    if name.endswith(".gift"):
        return FORMAT_GIFT
    if name.endswith(".xml") or moodlexml.looks_like_moodle_xml(text):
        return FORMAT_MOODLE_XML
    if text.lstrip()[:1] in ("[", "{") and not gift.starts_with_format(text):
        return FORMAT_JSON
    # A .txt file is CSV unless it looks like GIFT (Moodle exports GIFT as .txt).
    return FORMAT_GIFT if gift.looks_like_gift(text) else FORMAT_CSV


def _csv_records(text: str, plan: ImportPlan) -> Iterator[_Record]:
    # A stem with an inline image is longer than the csv module's default cell limit (128 KB).
    csv.field_size_limit(max(csv.field_size_limit(), CSV_FIELD_LIMIT))
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except (StopIteration, csv.Error) as error:
        raise ItemFileError(_("The file has no header line.")) from error
    columns = [name.strip().lower() for name in header]
    known = set(COLUMNS)
    for name in columns:
        if not name:
            plan.add(1, None, _("A column has no name."))
        elif name not in known:
            plan.add(
                1,
                name,
                _("Unknown column. The columns are: %(columns)s.")
                % {"columns": ", ".join(COLUMNS)},
            )
    seen: set[str] = set()
    for name in columns:
        if name and name in seen:
            plan.add(1, name, _("This column appears twice."))
        seen.add(name)
    if "external_id" not in columns:
        # With a kind column, what else a line needs depends on its kind (checked per line).
        needed = ("stem",) if "kind" in columns else CONTENT_COLUMNS
        for name in needed:
            if name not in columns:
                plan.add(
                    1,
                    None,
                    _(
                        "The column '%(column)s' is missing "
                        "(it is needed unless there is an external_id column)."
                    )
                    % {"column": name},
                )
    if plan.problems:
        return
    line = 1
    try:
        for cells in reader:
            start = line + 1
            line = reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) > len(columns):
                plan.add(
                    start,
                    None,
                    _("This line has %(found)s cells but the header has %(expected)s columns.")
                    % {"found": len(cells), "expected": len(columns)},
                )
                continue
            # Our own export put an apostrophe before cells a spreadsheet would run as formulas.
            cells = [spreadsheet_unescape(cell) for cell in cells]
            yield _Record(start, None, dict(zip(columns, cells, strict=False)))
    except csv.Error as error:
        plan.add(line + 1, None, _("The CSV cannot be read here: %(error)s") % {"error": error})


def _json_item_lines(text: str) -> list[int] | None:
    """1-based line on which each item object starts, or None if the layout is unusual."""
    decoder = json.JSONDecoder()
    stripped = text.lstrip()
    offset = len(text) - len(stripped)
    if stripped.startswith("{"):
        match = re.search(r'"items"\s*:\s*\[', text)
        if not match:
            return None
        position = match.end()
    elif stripped.startswith("["):
        position = offset + 1
    else:
        return None
    lines: list[int] = []
    whitespace = re.compile(r"[\s,]*")
    try:
        while True:
            position = whitespace.match(text, position).end()
            if position >= len(text) or text[position] == "]":
                return lines
            lines.append(text.count("\n", 0, position) + 1)
            _value, position = decoder.raw_decode(text, position)
    except (ValueError, IndexError):
        return None


def _json_records(text: str, plan: ImportPlan) -> Iterator[_Record]:
    try:
        # The file's own size limit was checked at upload; the depth is checked before parsing.
        json_limits_check(text, max_bytes=None)
    except JSONLimitError as error:
        raise ItemFileError(str(error)) from error
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ItemFileError(
            _("The JSON cannot be read: %(error)s (line %(line)s, column %(column)s).")
            % {"error": error.msg, "line": error.lineno, "column": error.colno}
        ) from error
    items = data.get("items") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise ItemFileError(
            _("The JSON must be a list of items, or an object with an “items” list.")
        )
    lines = _json_item_lines(text)
    if lines is not None and len(lines) != len(items):
        lines = None
    known = set(COLUMNS) | {"options", "answer", "id", "version"}
    for index, entry in enumerate(items):
        line = lines[index] if lines else None
        if not isinstance(entry, dict):
            plan.add(line, None, _("Each item must be an object."), item=index + 1)
            continue
        for key in entry:
            if key not in known:
                plan.add(line, key, _("Unknown field."), item=index + 1)
        raw = {key: value for key, value in entry.items() if key in known}
        raw.pop("id", None)
        raw.pop("version", None)
        yield _Record(line, index + 1, raw)


def _qti_records(data: bytes, plan: ImportPlan) -> Iterator[_Record]:
    """The items of a QTI package (see formats/qti.py); its images go into the plan's assets."""
    from dreamseed.itembank.formats.qti import QtiPackageError, qti_package_read

    try:
        package = qti_package_read(data)
    except QtiPackageError as error:
        raise ItemFileError(str(error)) from error
    for problem in package.problems:
        plan.add(None, None, problem.message, place=problem.place)
    plan.assets.update(package.assets)
    for number, item in enumerate(package.items, start=1):
        yield _Record(None, number, item.raw, place=item.where)


def _foreign_records(read):
    """A record reader for a format read by one of the itembank/formats/ readers."""

    def records(text: str, plan: ImportPlan) -> Iterator[_Record]:
        try:
            found = read(text)
        except ForeignFileError as error:
            raise ItemFileError(str(error)) from error
        for problem in found.problems:
            plan.add(problem.line, problem.column, problem.message, item=problem.number)
        plan.truncated = plan.truncated or found.truncated
        plan.assets.update(found.assets)
        for question in found.questions:
            yield _Record(question.line, question.number, question.raw)

    return records


# Each format's reader: (the upload's text, or bytes for a package; the plan for problems and
# assets) -> the records to validate. Readers of foreign formats live in itembank/formats/.
RECORD_READERS = {
    FORMAT_CSV: _csv_records,
    FORMAT_JSON: _json_records,
    FORMAT_QTI: _qti_records,
    FORMAT_MOODLE_XML: _foreign_records(moodlexml.read),
    FORMAT_GIFT: _foreign_records(gift.read),
}


# --- Planning ------------------------------------------------------------------------------------


def derived_external_id(values: ItemValues) -> str:
    """A stable id for a line that has none: the same content always gets the same id."""
    content = [values.stem, values.options, values.correct_key]
    if values.kind != ItemKind.SINGLE:  # single-choice ids stay what they were before kinds
        content += [values.kind, values.answer]
    digest = hashlib.sha1(json.dumps(content).encode(), usedforsecurity=False)
    return DERIVED_ID_PREFIX + digest.hexdigest()[:16]


def item_export_row(item: Item) -> dict:
    """An item as a JSON export object (and the base for a file that leaves columns out)."""
    version = item.current_version
    return {
        "external_id": item.external_id,
        "status": item.status,
        "subject": item.subject,
        "grade": item.grade,
        "content_area": item.content_area,
        "standards": list(item.standards),
        "model": item.model,
        "a": item.a,
        "b": item.b,
        "c": item.c,
        "d": item.d,
        "se_a": item.se_a,
        "se_b": item.se_b,
        "se_c": item.se_c,
        "steps": list(item.steps),
        "stem": version.stem if version else "",
        "options": list(version.options) if version else [],
        "correct_key": version.correct_key if version else "",
        "kind": version.kind if version else ItemKind.SINGLE,
        "answer": dict(version.answer) if version else {},
    }


def item_merge_values(raw: dict, base: dict | Item) -> dict:
    """Fill the fields `raw` leaves out from the existing item (an Item or its export row).

    Standard errors are not filled in: they describe the current estimates, so they are kept
    only while those stay put.
    """
    merged = dict(item_export_row(base) if isinstance(base, Item) else base)
    for name in ("se_a", "se_b", "se_c", "id", "current_version_id"):
        merged.pop(name, None)
    if (
        any(name in raw for name in ("correct_key", *ANSWER_COLUMNS, *PARTIAL_COLUMNS))
        and "answer" not in raw
    ):
        merged.pop("answer", None)  # the file says how the item is marked now
    if "options" in raw:
        merged.pop("options")
    elif any(name in raw for name in OPTION_FIELDS):
        # Option columns the file leaves out keep their current text, like any other column.
        for name, option in zip(OPTION_FIELDS, merged.pop("options"), strict=False):
            merged[name] = option["text"]
    merged.update(raw)
    return merged


def _changes(values: ItemValues, existing: dict) -> list[str]:
    changes = []
    current_content = (
        existing["stem"],
        tuple((option["key"], option["text"]) for option in existing["options"]),
        existing["correct_key"],
        existing["kind"],
        json.dumps(existing["answer"], sort_keys=True, ensure_ascii=False),
    )
    if current_content != values.content:
        changes.append("content")
    for name in _METADATA:
        if existing[name] != getattr(values, name):
            changes.append(name)
    if tuple(existing["standards"]) != values.standards:
        changes.append("standards")
    if any(_parameter(existing, name) != getattr(values, name) for name in _PARAMETERS) or any(
        getattr(values, name) is not None and getattr(values, name) != existing[name]
        for name in ("se_a", "se_b", "se_c")
    ):
        changes.append("parameters")
    return changes


def _parameter(existing: dict, name: str):
    value = existing[name]
    return tuple(value or ()) if name == "steps" else value


def _report(plan: ImportPlan, record: _Record, errors: dict, fmt: str) -> None:
    for name, messages in errors.items():
        column = name if name != "options" or fmt != FORMAT_CSV else "option_a"
        for message in messages:
            plan.add(record.line, column, message, item=record.item_number, place=record.place)


def _report_duplicate(plan: ImportPlan, record: _Record, earlier: _Record, external_id, fmt):
    values = {"id": external_id, "line": earlier.line or earlier.item_number}
    if record.place:
        message = _("The id %(id)s is also used by %(place)s.") % {
            "id": external_id,
            "place": earlier.place,
        }
        plan.add(None, "identifier", message, place=record.place)
        return
    if fmt == FORMAT_CSV:
        message = _("The id %(id)s is also used on line %(line)s.") % values
    elif earlier.item_number is not None and earlier.line is not None:
        message = _("The id %(id)s is also used by item %(item)s (line %(line)s).") % {
            "id": external_id,
            "item": earlier.item_number,
            "line": earlier.line,
        }
    else:
        message = _("The id %(id)s is also used by item %(line)s.") % values
    plan.add(record.line, "external_id", message, item=record.item_number)


def import_plan(*, text: str | bytes, fmt: str) -> ImportPlan:
    """Validate the whole file and plan every line; raises ItemFileError if it is unreadable.

    `text` is the file's text, or the bytes of a package (a PACKAGE_FORMATS format)."""
    from dreamseed.itembank.services import item_versions_in_use

    plan = ImportPlan(format=fmt)
    records = list(RECORD_READERS[fmt](text, plan))
    if len(records) > IMPORT_MAX_ROWS:
        raise ItemFileError(
            _("The file has %(count)s items; import at most %(limit)s at a time.")
            % {"count": len(records), "limit": IMPORT_MAX_ROWS}
        )
    if not records and not plan.problems:
        raise ItemFileError(_("The file has a header but no items."))

    given_ids = {str(record.raw.get("external_id") or "").strip() for record in records} - {""}
    first_line: dict[str, _Record] = {}
    duplicates: set[int] = set()
    for index, record in enumerate(records):
        external_id = str(record.raw.get("external_id") or "").strip()
        if external_id and external_id in first_line:
            _report_duplicate(plan, record, first_line[external_id], external_id, fmt)
            duplicates.add(index)
        first_line.setdefault(external_id, record)
    records = [record for index, record in enumerate(records) if index not in duplicates]
    existing = _existing_items(given_ids)
    validated: list[tuple[_Record, ItemValues]] = []
    for record in records:
        external_id = str(record.raw.get("external_id") or "").strip()
        item = existing.get(external_id)
        values, errors = item_values_clean(
            item_merge_values(record.raw, item) if item else record.raw
        )
        if errors:
            _report(plan, record, errors, fmt)
            continue
        validated.append((record, values))

    # Lines without an id: derive it from the content, then look those up too.
    derived = {
        derived_external_id(values) for record, values in validated if not values.external_id
    }
    existing.update(_existing_items(derived))
    first_line.clear()
    for record, values in validated:
        external_id = values.external_id or derived_external_id(values)
        item = existing.get(external_id)
        if item is not None and not values.external_id:
            values, errors = item_values_clean(item_merge_values(record.raw, item))
            if errors:
                _report(plan, record, errors, fmt)
                continue
        if external_id in first_line:  # two lines without ids and the same content
            _report_duplicate(plan, record, first_line[external_id], external_id, fmt)
            continue
        first_line[external_id] = record
        row = ImportRow(
            record.line, record.item_number, values, external_id, existing=item, place=record.place
        )
        if item is not None:
            row.changes = _changes(values, item)
            row.action = UPDATE if row.changes else UNCHANGED
        plan.rows.append(row)

    in_use = item_versions_in_use(
        version_ids=[
            row.existing["current_version_id"] for row in plan.rows if "content" in row.changes
        ]
    )
    for row in plan.rows:
        if "content" in row.changes:
            row.new_version = row.existing["status"] != ItemStatus.DRAFT or (
                row.existing["current_version_id"] in in_use
            )
    plan.problems.sort(key=lambda problem: (problem.item or 0, problem.line or 0))
    return plan


_EXISTING_FIELDS = (
    "id", "external_id", "status", "subject", "grade", "content_area", "standards", "model",
    "a", "b", "c", "d", "se_a", "se_b", "se_c", "current_version_id", "steps",
)  # fmt: skip


def _existing_items(external_ids: Iterable[str]) -> dict[str, dict]:
    """The bank's items with these ids, as export rows (plain dicts: no model instances, so
    10,000 of them load in a fraction of a second)."""
    ids = list(external_ids)
    found: dict[str, dict] = {}
    for start in range(0, len(ids), 5000):
        rows = Item.objects.filter(external_id__in=ids[start : start + 5000]).values_list(
            *_EXISTING_FIELDS,
            "current_version__stem",
            "current_version__options",
            "current_version__correct_key",
            "current_version__kind",
            "current_version__answer",
        )
        for row in rows:
            existing = dict(zip(_EXISTING_FIELDS, row[: len(_EXISTING_FIELDS)], strict=True))
            (
                existing["stem"],
                existing["options"],
                existing["correct_key"],
                existing["kind"],
                existing["answer"],
            ) = row[len(_EXISTING_FIELDS) :]
            existing["kind"] = existing["kind"] or ItemKind.SINGLE
            existing["answer"] = existing["answer"] or {}
            existing["stem"] = existing["stem"] or ""
            existing["options"] = existing["options"] or []
            existing["correct_key"] = existing["correct_key"] or ""
            found[existing["external_id"]] = existing
    return found


# --- Writing -------------------------------------------------------------------------------------


def _number(value) -> str:
    return "" if value is None else repr(float(value))


def export_csv(items: Iterable[Item]) -> Iterator[str]:
    """The CSV export, line by line (stream it: a bank can be large)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(COLUMNS)
    yield flush()
    for item in items:
        row = item_export_row(item)
        options = [option["text"] for option in row["options"]][: len(OPTION_KEYS)]
        keys = [option["key"] for option in row["options"]]
        correct = _csv_correct_key(row, keys)
        text = [
            row["external_id"],
            row["status"],
            row["subject"],
            row["grade"],
            row["content_area"],
            _STANDARD_SEPARATOR.join(row["standards"]),
            row["model"],
        ]
        content = [
            row["stem"],
            *(options + [""] * (len(OPTION_KEYS) - len(options))),
            correct,
            row["kind"],
            *_csv_answer_cells(row),
            *_csv_partial_cells(row),
        ]
        # Numbers stay numbers (b = -1.2 is not a formula); any text could be one.
        writer.writerow(
            [
                *map(spreadsheet_safe, text),
                *(_number(row[name]) for name in ("a", "b", "c", "d", "se_a", "se_b", "se_c")),
                *map(spreadsheet_safe, content),
                ";".join(_number(step) for step in row["steps"]),
            ]
        )
        yield flush()


def _csv_correct_key(row: dict, keys: list[str]) -> str:
    """The correct_key cell: CSV options are always A, B, C, ..., so keys are renamed to match."""
    letters = dict(zip(keys, OPTION_KEYS, strict=False))
    answer = row["answer"]
    if row["kind"] == ItemKind.MULTIPLE:
        return ";".join(letters.get(key, key) for key in answer.get("keys", []))
    if row["kind"] == ItemKind.ORDERING:
        return ";".join(letters.get(key, key) for key in answer.get("order", []))
    if row["kind"] == ItemKind.SINGLE:
        return letters.get(row["correct_key"], row["correct_key"])
    return row["correct_key"]


def _csv_answer_cells(row: dict) -> list[str]:
    answer = row["answer"]
    if row["kind"] == ItemKind.NUMERIC:
        return [
            _number(answer.get("value")),
            _number(answer.get("tolerance")),
            ";".join(answer.get("units", [])),
            "yes" if answer.get("unit_required") else "no",
            "",
            "",
        ]
    if row["kind"] == ItemKind.TEXT:
        case = "yes" if answer.get("case_sensitive") else "no"
        return ["", "", "", "", "|".join(answer.get("accepted", [])), case]
    return [""] * len(ANSWER_COLUMNS)


def _csv_partial_cells(row: dict) -> list[str]:
    answer = row["answer"]
    points = answer.get("max_points")
    return [
        answer.get("scoring", ""),
        _number(answer.get("partial_tolerance")),
        str(points) if points else "",
    ]


def export_json(items: Iterable[Item]) -> Iterator[str]:
    """The JSON export, streamed as one document: {"format", "version", "items": [...]}."""
    yield json.dumps({"format": JSON_FORMAT_NAME, "version": JSON_FORMAT_VERSION})[:-1]
    yield ', "items": [\n'
    first = True
    for item in items:
        yield ("" if first else ",\n") + json.dumps(item_export_row(item), ensure_ascii=False)
        first = False
    yield "\n]}\n"
