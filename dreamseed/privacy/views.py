"""Privacy pages for the school administrator: the audit log (who viewed or exported student
data) and a student's data, with the full export and the deletion of the student."""

import csv

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from dreamseed.accounts.permissions import admin_required
from dreamseed.core.exports import spreadsheet_safe
from dreamseed.privacy import selectors, services
from dreamseed.privacy.forms import AuditFilterForm, StudentDeleteForm, StudentSearchForm

AUDIT_PAGE_SIZE = 50
STUDENT_PAGE_SIZE = 100
CSV_CHUNK = 2000


def _filter_query(request) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


# --- Audit log ---------------------------------------------------------------------------------


@admin_required
def audit_log(request):
    form = AuditFilterForm(request.GET or None)
    events = selectors.audit_events(filters=form.filters()).select_related("student")
    page = Paginator(events, AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "privacy/audit_log.html",
        {"form": form, "page": page, "query": _filter_query(request)},
        status=400 if form.errors else 200,
    )


class _Echo:
    def write(self, value):
        return value


def _audit_csv_rows(events):
    writer = csv.writer(_Echo())
    yield writer.writerow(
        [_("When"), _("Who"), _("Action"), _("What"), _("Object id"), _("Student"),
         _("Student id"), _("Address"), _("IP address"), _("Request id")]
    )  # fmt: skip
    # Keyset pages: a long log streams in bounded memory (no server-side cursor, which would
    # miss the school's search_path).
    last = None
    while True:
        chunk = events if last is None else events.filter(pk__lt=last)
        rows = list(chunk.order_by("-pk")[:CSV_CHUNK])
        if not rows:
            return
        for event in rows:
            cells = [
                event.created_at.isoformat(), event.actor_name, event.get_action_display(),
                event.get_what_display(), event.object_id or "", event.student_name,
                event.student_id or "", event.path, event.ip or "", event.request_id,
            ]  # fmt: skip
            # Names are typed by people: never let a spreadsheet run one as a formula.
            yield writer.writerow([spreadsheet_safe(cell) for cell in cells])
        last = rows[-1].pk


@never_cache
@admin_required
def audit_log_csv(request):
    form = AuditFilterForm(request.GET or None)
    events = selectors.audit_events(filters=form.filters())
    response = StreamingHttpResponse(
        _audit_csv_rows(events), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = (
        f'attachment; filename="audit-log-{timezone.now():%Y%m%d}.csv"'
    )
    return response


# --- Student data ------------------------------------------------------------------------------


@admin_required
def student_list(request):
    form = StudentSearchForm(request.GET or None)
    search = form.cleaned_data["q"] if form.is_valid() else ""
    page = Paginator(selectors.students(search=search), STUDENT_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "privacy/student_list.html",
        {"form": form, "page": page, "search": search, "query": _filter_query(request)},
    )


@admin_required
def student_detail(request, pk: int):
    student = selectors.student_get(pk=pk)
    return render(
        request,
        "privacy/student_detail.html",
        {"student": student, "counts": selectors.student_record_counts(student=student)},
    )


@never_cache
@admin_required
def student_export(request, pk: int):
    student = selectors.student_get(pk=pk)
    response = HttpResponse(
        services.student_data_export(student=student), content_type="application/zip"
    )
    filename = services.student_export_filename(student)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@admin_required
def student_delete(request, pk: int):
    student = selectors.student_get(pk=pk)
    form = StudentDeleteForm(request.POST if request.method == "POST" else None, student=student)
    if request.method == "POST" and form.is_valid():
        try:
            name = services.student_delete(
                student=student,
                confirm_username=form.cleaned_data["confirm_username"],
                deleted_by=request.user,
                request=request,
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request, _("%(name)s and all their records were deleted.") % {"name": name}
            )
            return redirect("privacy:students")
    return render(
        request,
        "privacy/student_delete.html",
        {
            "student": student,
            "form": form,
            "counts": selectors.student_record_counts(student=student),
        },
        status=400 if form.errors else 200,
    )
