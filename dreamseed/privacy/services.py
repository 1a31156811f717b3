"""Writes of the privacy app: audit rows, a student's data export (GDPR access / COPPA parental
review) and the deletion of a student with everything held about them (erasure)."""

import csv
import io
import ipaddress
import json
import logging
import zipfile

from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from dreamseed.accounts.models import Role, User
from dreamseed.core.exports import spreadsheet_safe
from dreamseed.privacy import selectors
from dreamseed.privacy.models import AuditAction, AuditEvent, AuditTarget
from dreamseed.privacy.routes import student_display_name

logger = logging.getLogger(__name__)

PATH_MAX = AuditEvent._meta.get_field("path").max_length


def _client_ip(request) -> str | None:
    address = request.META.get("REMOTE_ADDR", "") if request is not None else ""
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


def _audit_event(
    *,
    actor: User,
    action: str,
    what: str,
    object_id: int | None,
    request=None,
    student: User | None = None,
    students: QuerySet[User] | None = None,
    student_name: str = "",
) -> AuditEvent:
    """An unsaved row. `students` (a query naming at most one student) is resolved by the
    database inside the INSERT; `student`/`student_name` are used as given."""
    event = AuditEvent(
        actor=actor,
        actor_name=(actor.get_full_name() or actor.username)[:255],
        action=action,
        what=what,
        object_id=object_id,
        student=student,
        student_name=(student_name or (str(student) if student else ""))[:255],
        path=request.get_full_path()[:PATH_MAX] if request is not None else "",
        ip=_client_ip(request),
        request_id=getattr(request, "request_id", "")[:64] if request is not None else "",
    )
    if students is not None:
        one = students.order_by()[:1]
        event.student_id = Subquery(one.values("pk"))
        event.student_name = Coalesce(
            Subquery(one.annotate(display=student_display_name()).values("display")),
            Value(""),
        )
    return event


def audit_event_record(
    *,
    actor: User,
    action: str,
    what: str,
    object_id: int | None = None,
    request=None,
    students: QuerySet[User] | None = None,
) -> bool:
    """Record that `actor` saw or took student data: one INSERT, and never an exception.

    Called after the response is made (by AuditMiddleware): a failing audit write is logged and
    the response still goes out. Inside a transaction (tests, or a caller's atomic block) the
    INSERT gets its own savepoint so a failure cannot poison the outer transaction.
    """
    event = _audit_event(
        actor=actor, action=action, what=what, object_id=object_id, request=request,
        students=students,
    )  # fmt: skip
    try:
        if connection.in_atomic_block:
            with transaction.atomic():
                event.save(force_insert=True)
        else:
            event.save(force_insert=True)
    except Exception:
        logger.exception("audit event not recorded", extra={"what": what, "object_id": object_id})
        return False
    return True


# --- Export ---------------------------------------------------------------------------------------


def _csv_text(columns: list[str], rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: _csv_value(row.get(key)) for key in columns})
    return out.getvalue()


def _csv_value(value):
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, (dict, list)):
        return json.dumps(value, cls=DjangoJSONEncoder)
    return spreadsheet_safe(value)


def student_data_export(*, student: User) -> bytes:
    """A ZIP of everything the school holds about `student`: one JSON file per kind of record,
    and a CSV beside each table, plus `export.json` saying what and when."""
    if student.role != Role.STUDENT:
        raise ValidationError(_("Only students' data can be exported here."))
    data = selectors.student_data_collect(student=student)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "export.json",
            json.dumps(
                {
                    "student_id": student.pk,
                    "username": student.username,
                    "school": getattr(connection.tenant, "name", ""),
                    "exported_at": timezone.now(),
                    "files": sorted(
                        [f"{name}.json" for name in data]
                        + [f"{name}.csv" for name, section in data.items() if section.columns]
                    ),
                },
                cls=DjangoJSONEncoder,
                indent=2,
            ),
        )
        for name, section in data.items():
            archive.writestr(
                f"{name}.json",
                json.dumps(section.content, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False),
            )
            if section.columns:
                archive.writestr(f"{name}.csv", _csv_text(section.columns, section.content))
    return buffer.getvalue()


def student_export_filename(student: User) -> str:
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in student.username)
    return f"student-data-{student.pk}-{safe[:40]}-{timezone.now():%Y%m%d}.zip"


# --- Deletion ---------------------------------------------------------------------------------


def _forget_sign_in_records(username: str) -> None:
    """Login throttling keeps usernames and addresses (django-axes); they are personal too."""
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog

    for model in (AccessAttempt, AccessFailureLog, AccessLog):
        model.objects.filter(username=username).delete()


def _delete_files(names: list[str]) -> None:
    from dreamseed.reports.models import Report

    storage = Report._meta.get_field("file").storage
    for name in names:
        try:
            storage.delete(name)
        except Exception:
            # The nightly orphan clean-up (reports.services) removes what is left behind.
            logger.exception("report file not deleted", extra={"file": name})


def student_delete(*, student: User, confirm_username: str, deleted_by: User, request=None) -> str:
    """Delete `student` and every record about them, in one transaction; return their name.

    Removed: the account and profile, class memberships, accommodations, sittings with their
    answers, student reports and the class reports and bundles of tests they sat (rows, and
    their files once committed), grade passbacks, LTI
    identities, API tokens and login-throttling records. Kept: item statistics (aggregates
    without the student) and the audit log, whose rows keep the name snapshot and lose the link;
    the deletion itself is recorded there, and if that record cannot be written nothing is
    deleted.
    """
    from dreamseed.reports.models import Report

    if deleted_by.role != Role.ADMIN:
        raise ValidationError(_("Only a school administrator can delete a student."))
    if confirm_username.strip() != student.username:
        raise ValidationError(
            {"confirm_username": _("Type the student's username exactly as shown.")}
        )
    with transaction.atomic():
        locked = User.objects.select_for_update().filter(pk=student.pk, role=Role.STUDENT).first()
        if locked is None:
            raise ValidationError(_("This student no longer exists."))
        name = str(locked)
        # The student's own reports, and class reports and bundles of tests they sat: those
        # name them too (staff can make them again, without the student).
        reports = Report.objects.filter(
            Q(session__student=locked)
            | Q(session__isnull=True, assignment__sessions__student=locked)
        ).distinct()
        files = list(reports.exclude(file="").values_list("file", flat=True))
        Report.objects.filter(pk__in=list(reports.values_list("pk", flat=True))).delete()
        _forget_sign_in_records(locked.username)
        student_id = locked.pk
        locked.delete()  # cascades through every table that points at the user
        _audit_event(
            actor=deleted_by,
            action=AuditAction.DELETED,
            what=AuditTarget.STUDENT_RECORD,
            object_id=student_id,
            request=request,
            student_name=name,
        ).save(force_insert=True)
        if files:
            transaction.on_commit(lambda: _delete_files(files))
    return name
