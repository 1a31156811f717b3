"""Writes to the item bank: authoring (with versioned content), retiring, duplicating, imports,
and queuing statistics. Calibration runs live in `calibration_runs.py`.

Whenever an item's parameters or status may have changed, `BankRevision.bump()` tells the
test-delivery processes to rebuild their cached pool matrices.
"""

import hashlib
import json
import uuid
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import JSONField, Max
from django.utils import timezone
from django.utils.translation import gettext as _

from dreamseed.accounts.models import User
from dreamseed.itembank import media
from dreamseed.itembank.import_export import (
    CREATE,
    PACKAGE_FORMATS,
    UPDATE,
    ImportPlan,
    ItemFileError,
    import_plan,
    import_read,
)
from dreamseed.itembank.kinds import ItemKind
from dreamseed.itembank.models import BankRevision, Item, ItemImport, ItemStatus, ItemVersion
from dreamseed.itembank.validation import ItemValues


class ImportChanged(Exception):
    """The bank changed between an import's preview and its confirmation."""


@dataclass(frozen=True)
class ItemChange:
    new_version: bool = False
    content_changed: bool = False
    parameters_changed: bool = False


def item_versions_in_use(*, version_ids) -> set[int]:
    """Versions a student has seen (an attempt, or a test showing it right now)."""
    from dreamseed.assessments.models import Attempt, ExamSession

    ids = [pk for pk in version_ids if pk is not None]
    if not ids:
        return set()
    answered = Attempt.objects.filter(item_version_id__in=ids).values_list(
        "item_version_id", flat=True
    )
    pending = ExamSession.objects.filter(pending_version_id__in=ids).values_list(
        "pending_version_id", flat=True
    )
    return set(answered.distinct()) | set(pending.distinct())


def _needs_new_version(item: Item) -> bool:
    """Once an item has left draft (or a student has seen it), its content is history: an edit
    makes a new version and past attempts keep pointing at the one the student saw."""
    if item.status != ItemStatus.DRAFT:
        return True
    return bool(item_versions_in_use(version_ids=[item.current_version_id]))


def _apply_values(item: Item, values: ItemValues) -> None:
    for name in ("status", "subject", "grade", "content_area", "model", "a", "b", "c", "d"):
        setattr(item, name, getattr(values, name))
    item.standards = list(values.standards)
    item.steps = list(values.steps)


def _content_of(version: ItemVersion | None) -> tuple | None:
    if version is None:
        return None
    options = tuple((option["key"], option["text"]) for option in version.options)
    answer = json.dumps(version.answer or {}, sort_keys=True, ensure_ascii=False)
    return (version.stem, options, version.correct_key, version.kind, answer)


@transaction.atomic
def item_create(*, values: ItemValues, created_by: User | None) -> Item:
    external_id = values.external_id or uuid.uuid4().hex[:12]
    if Item.objects.filter(external_id=external_id).exists():
        raise ValidationError(
            {"external_id": _("An item with the id %(id)s already exists.") % {"id": external_id}}
        )
    item = Item(external_id=external_id, created_by=created_by)
    _apply_values(item, values)
    item.se_a, item.se_b, item.se_c = values.se_a, values.se_b, values.se_c
    item.save()
    version = ItemVersion.objects.create(
        item=item,
        number=1,
        stem=values.stem,
        options=values.options_json,
        correct_key=values.correct_key,
        kind=values.kind,
        answer=values.answer_json,
        created_by=created_by,
    )
    item.current_version = version
    item.save(update_fields=["current_version"])
    BankRevision.bump()
    return item


@transaction.atomic
def item_update(*, item: Item, values: ItemValues, updated_by: User | None) -> ItemChange:
    """Save an edit. External ids are stable: a different one is refused."""
    item = (
        Item.objects.select_for_update(of=("self",))
        .select_related("current_version")
        .get(pk=item.pk)
    )
    if values.external_id and values.external_id != item.external_id:
        raise ValidationError({"external_id": _("The external id of an item cannot change.")})
    content_changed = _content_of(item.current_version) != values.content
    new_version = content_changed and _needs_new_version(item)
    status_before = item.status
    parameters_before = (item.model, item.a, item.b, item.c, item.d, list(item.steps))
    _apply_values(item, values)
    parameters_changed = parameters_before != (
        item.model,
        item.a,
        item.b,
        item.c,
        item.d,
        list(item.steps),
    )
    if any(getattr(values, name) is not None for name in ("se_a", "se_b", "se_c")):
        item.se_a, item.se_b, item.se_c = values.se_a, values.se_b, values.se_c
    elif parameters_changed:
        item.se_a = item.se_b = item.se_c = None  # they described the old estimates
    parameters_changed = parameters_changed or status_before != item.status
    if new_version:
        item.current_version = ItemVersion.objects.create(
            item=item,
            number=item.versions.count() + 1,
            stem=values.stem,
            options=values.options_json,
            correct_key=values.correct_key,
            kind=values.kind,
            answer=values.answer_json,
            created_by=updated_by,
        )
    elif content_changed:
        version = item.current_version
        version.stem, version.options = values.stem, values.options_json
        version.correct_key, version.kind = values.correct_key, values.kind
        version.answer = values.answer_json
        version.save(update_fields=["stem", "options", "correct_key", "kind", "answer"])
    item.save()
    if parameters_changed:
        BankRevision.bump()
    return ItemChange(new_version, content_changed, parameters_changed)


@transaction.atomic
def item_retire(*, item: Item) -> bool:
    """Take an item out of every future test; returns False if it was retired already."""
    updated = (
        Item.objects.filter(pk=item.pk)
        .exclude(status=ItemStatus.RETIRED)
        .update(status=ItemStatus.RETIRED, updated=timezone.now())
    )
    if updated:
        BankRevision.bump()
    return bool(updated)


@transaction.atomic
def item_duplicate(*, item: Item, created_by: User | None) -> Item:
    """A new draft with the same content and metadata, to write a variant of an item."""
    source = item.current_version
    copy = Item(
        external_id=uuid.uuid4().hex[:12],
        status=ItemStatus.DRAFT,
        subject=item.subject,
        grade=item.grade,
        content_area=item.content_area,
        standards=list(item.standards),
        model=item.model,
        a=item.a,
        b=item.b,
        c=item.c,
        d=item.d,
        steps=list(item.steps),
        created_by=created_by,
    )
    copy.save()
    version = ItemVersion.objects.create(
        item=copy,
        number=1,
        stem=source.stem if source else "",
        options=list(source.options) if source else [],
        correct_key=source.correct_key if source else "",
        kind=source.kind if source else ItemKind.SINGLE,
        answer=dict(source.answer) if source else {},
        created_by=created_by,
    )
    copy.current_version = version
    copy.save(update_fields=["current_version"])
    BankRevision.bump()
    return copy


# --- Import ---------------------------------------------------------------------------------------


def item_import_create(
    *, uploaded_by: User, data: bytes, filename: str
) -> tuple[ItemImport | None, ImportPlan]:
    """Validate an upload; keep it for the preview only if it is valid as a whole.

    Raises ItemFileError if the file cannot be read at all.
    """
    fmt, content = import_read(data, filename)
    plan = import_plan(text=content, fmt=fmt)
    if not plan.is_valid:
        return None, plan
    # Unconfirmed uploads of this person are replaced by the new one.
    ItemImport.objects.filter(uploaded_by=uploaded_by, applied_at__isnull=True).delete()
    package = fmt in PACKAGE_FORMATS
    pending = ItemImport.objects.create(
        uploaded_by=uploaded_by,
        filename=(filename or "")[:255],
        format=fmt,
        text="" if package else content,
        package=content if package else None,
        sha256=hashlib.sha256(content if package else content.encode()).hexdigest(),
    )
    return pending, plan


def item_import_plan_for(*, item_import: ItemImport) -> ImportPlan:
    if item_import.format in PACKAGE_FORMATS:
        return import_plan(text=bytes(item_import.package or b""), fmt=item_import.format)
    return import_plan(text=item_import.text, fmt=item_import.format)


@transaction.atomic
def item_import_apply(*, item_import: ItemImport, expected_digest: str, user: User) -> dict:
    """Apply a previewed import in one transaction: all of it, or nothing."""
    item_import = ItemImport.objects.select_for_update().get(pk=item_import.pk)
    if item_import.applied_at is not None:
        raise ImportChanged
    plan = item_import_plan_for(item_import=item_import)
    if not plan.is_valid or plan.digest() != expected_digest:
        raise ImportChanged
    counts = plan_apply(plan=plan, user=user)
    item_import.applied_at = timezone.now()
    item_import.created_count = counts[CREATE]
    item_import.updated_count = counts[UPDATE]
    item_import.unchanged_count = counts["unchanged"]
    item_import.text = ""  # applied; the bank now holds it
    item_import.package = None
    item_import.save()
    return counts


def item_import_text(*, text: str | bytes, fmt: str, user: User | None, dry_run: bool = False):
    """Plan and (unless `dry_run`) apply a file in one go, for the API and the demo seeding.

    Returns the plan; raises ItemFileError for an unreadable file. Nothing is written unless
    the whole file is valid.
    """
    plan = import_plan(text=text, fmt=fmt)
    if plan.is_valid and not dry_run:
        with transaction.atomic():
            plan_apply(plan=plan, user=user)
    return plan


def plan_apply(*, plan: ImportPlan, user: User | None) -> dict:
    """Write a valid plan with COPY: 10,000 new items in about a second.

    Images the plan brings (a package's) are stored first: their names are their content's hash,
    so a rolled-back import leaves at most unreferenced copies.

    Ids come from the tables' sequences up front, so items and their versions are written in
    one pass each: an item row already points at the version row that follows it (foreign
    keys are checked at commit). Updates go through a temporary table and one UPDATE.
    """
    if not plan.is_valid:
        raise ValueError("only a valid plan can be applied")
    for data, ext in plan.assets.values():
        media.image_save(data, ext)
    creates = [row for row in plan.rows if row.action == CREATE]
    updates = [row for row in plan.rows if row.action == UPDATE]
    now = timezone.now()
    user_id = user.pk if user is not None else None
    item_ids = _allocate_ids(Item, len(creates))
    version_ids = iter(
        _allocate_ids(ItemVersion, len(creates) + sum(r.new_version for r in updates))
    )

    new_items, new_versions = [], []
    for row, item_id in zip(creates, item_ids, strict=True):
        version_id = next(version_ids)
        values = row.values
        new_items.append(
            {
                **_item_columns(values),
                "id": item_id,
                "external_id": row.external_id,
                "se_a": values.se_a,
                "se_b": values.se_b,
                "se_c": values.se_c,
                "current_version_id": version_id,
                "created_by_id": user_id,
                "created": now,
                "updated": now,
            }
        )
        new_versions.append(_version_columns(values, version_id, item_id, 1, now, user_id))

    numbers = _latest_version_numbers([row.existing["id"] for row in updates if row.new_version])
    changed_items, edited_versions = [], []
    for row in updates:
        existing, values = row.existing, row.values
        changed = {**_item_columns(values), "id": existing["id"], "updated": now}
        changed["current_version_id"] = existing["current_version_id"]
        given = (values.se_a, values.se_b, values.se_c)
        if any(value is not None for value in given):
            changed["se_a"], changed["se_b"], changed["se_c"] = given
        elif (
            any(existing[name] != getattr(values, name) for name in ("model", "a", "b", "c", "d"))
            or tuple(existing["steps"] or ()) != values.steps
        ):
            changed["se_a"] = changed["se_b"] = changed["se_c"] = None  # described the old ones
        else:
            changed["se_a"], changed["se_b"], changed["se_c"] = (
                existing["se_a"], existing["se_b"], existing["se_c"],
            )  # fmt: skip
        if "content" in row.changes and row.new_version:
            version_id = next(version_ids)
            number = numbers.get(existing["id"], 0) + 1
            new_versions.append(
                _version_columns(values, version_id, existing["id"], number, now, user_id)
            )
            changed["current_version_id"] = version_id
        elif "content" in row.changes:
            edited_versions.append(
                {
                    "id": existing["current_version_id"],
                    "stem": values.stem,
                    "options": values.options_json,
                    "correct_key": values.correct_key,
                    "kind": values.kind,
                    "answer": values.answer_json,
                }
            )
        changed_items.append(changed)

    _copy_insert(Item, new_items)
    _copy_insert(ItemVersion, new_versions)
    _copy_update(Item, changed_items)
    _copy_update(ItemVersion, edited_versions)
    if creates or updates:
        BankRevision.bump()
    return plan.counts


def _item_columns(values: ItemValues) -> dict:
    return {
        "status": values.status,
        "subject": values.subject,
        "grade": values.grade,
        "content_area": values.content_area,
        "standards": list(values.standards),
        "model": values.model,
        "a": values.a,
        "b": values.b,
        "c": values.c,
        "d": values.d,
        "steps": list(values.steps),
    }


def _version_columns(values: ItemValues, version_id, item_id, number, now, user_id) -> dict:
    return {
        "id": version_id,
        "item_id": item_id,
        "number": number,
        "stem": values.stem,
        "options": values.options_json,
        "correct_key": values.correct_key,
        "kind": values.kind,
        "answer": values.answer_json,
        "created_by_id": user_id,
        "created": now,
    }


def _latest_version_numbers(item_ids: list[int]) -> dict[int, int]:
    if not item_ids:
        return {}
    rows = (
        ItemVersion.objects.filter(item_id__in=item_ids)
        .values("item_id")
        .annotate(latest=Max("number"))
        .values_list("item_id", "latest")
    )
    return dict(rows)


def _allocate_ids(model, count: int) -> list[int]:
    """`count` ids from the table's own sequence, as inserts would have taken them."""
    if count <= 0:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [model._meta.db_table, count],
        )
        return [row[0] for row in cursor.fetchall()]


def _copy_columns(model, names) -> list:
    """The model's columns for these attribute names, and how to adapt each value."""
    columns = []
    for name in names:
        field = next(f for f in model._meta.local_concrete_fields if f.attname == name)
        if isinstance(field, JSONField):
            columns.append((field, lambda value, f=field: connection.ops.adapt_json_value(
                value, f.encoder)))  # fmt: skip
        else:
            columns.append((field, None))
    return columns


def _copy_rows(rows: list[dict], columns):
    for row in rows:
        yield [
            adapt(row[field.attname]) if adapt else row[field.attname] for field, adapt in columns
        ]


def _copy_insert(model, rows: list[dict]) -> None:
    """INSERT with COPY FROM STDIN (no per-row SQL to build or parse). Columns a row leaves
    out get their field's default."""
    if not rows:
        return
    fields = model._meta.local_concrete_fields
    defaults = {f.attname: f.get_default() for f in fields if f.attname not in rows[0]}
    columns = _copy_columns(model, [field.attname for field in fields])
    quote = connection.ops.quote_name
    names = ", ".join(quote(field.column) for field in fields)
    statement = f"COPY {quote(model._meta.db_table)} ({names}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        for values in _copy_rows(({**defaults, **row} for row in rows), columns):
            copy.write_row(values)


def _copy_update(model, rows: list[dict]) -> None:
    """UPDATE many rows at once: COPY the new values into a temporary table, join on id."""
    if not rows:
        return
    quote = connection.ops.quote_name
    columns = _copy_columns(model, [name for name in rows[0] if name != "id"])
    table = quote(model._meta.db_table)
    temporary = quote(f"import_{model._meta.db_table}")
    definitions = ", ".join(f"{quote(f.column)} {f.db_type(connection)}" for f, _ in columns)
    assignments = ", ".join(f"{quote(f.column)} = source.{quote(f.column)}" for f, _ in columns)
    names = ", ".join(["id", *(quote(f.column) for f, _ in columns)])
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {temporary}")
        cursor.execute(f"CREATE TEMPORARY TABLE {temporary} (id bigint, {definitions})")
        with cursor.cursor.copy(f"COPY {temporary} ({names}) FROM STDIN") as copy:
            for row, values in zip(rows, _copy_rows(rows, columns), strict=True):
                copy.write_row([row["id"], *values])
        cursor.execute(
            f"UPDATE {table} AS target SET {assignments} FROM {temporary} AS source "
            "WHERE target.id = source.id"
        )
        cursor.execute(f"DROP TABLE {temporary}")


def _point_at_latest_versions(item_ids: list[int]) -> None:
    """Set current_version to each item's newest version, in one statement."""
    if not item_ids:
        return
    item_table, version_table = Item._meta.db_table, ItemVersion._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {item_table} AS item SET current_version_id = latest.id
            FROM (
                SELECT DISTINCT ON (item_id) item_id, id FROM {version_table}
                WHERE item_id = ANY(%s) ORDER BY item_id, number DESC
            ) AS latest
            WHERE item.id = latest.item_id
            """,
            [item_ids],
        )


__all__ = [
    "ImportChanged",
    "ItemChange",
    "ItemFileError",
    "item_create",
    "item_duplicate",
    "item_import_apply",
    "item_import_create",
    "item_import_text",
    "item_retire",
    "item_update",
    "item_versions_in_use",
    "plan_apply",
]
