"""Report pages: request a report (POST), watch it being made, download it.

Every report is fetched through `selectors.report_get_for_user`, which answers 404 for a report
the user may not see: a student sees only reports of their own sittings (and only when the test
shows students their results); staff see reports of the classes they teach (admins: all).
Another school's reports live in another schema and cannot be found at all.
"""

from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from dreamseed.accounts.models import Role
from dreamseed.accounts.permissions import role_required
from dreamseed.reports import selectors, services
from dreamseed.reports.models import Paper, Report, ReportKind, ReportStatus

member_required = role_required(Role.ADMIN, Role.TEACHER, Role.STUDENT)


def _paper(request) -> str:
    paper = request.POST.get("paper", "")
    if paper in Paper.values:
        return paper
    return services.paper_for_language(get_language())


@member_required
@require_POST
def request_student_report(request, pk):
    session = selectors.session_for_student_report(user=request.user, pk=pk)
    report = services.report_request(
        kind=ReportKind.STUDENT,
        session=session,
        requested_by=request.user,
        paper=_paper(request),
        language=get_language(),
    )
    return redirect("reports:detail", pk=report.pk)


@member_required
@require_POST
def request_class_report(request, pk):
    assignment = selectors.assignment_for_class_report(user=request.user, pk=pk)
    kind = request.POST.get("kind", ReportKind.CLASS)
    if kind not in (ReportKind.CLASS, ReportKind.CLASS_BUNDLE):
        kind = ReportKind.CLASS
    report = services.report_request(
        kind=kind,
        assignment=assignment,
        requested_by=request.user,
        paper=_paper(request),
        language=get_language(),
    )
    return redirect("reports:detail", pk=report.pk)


def _describe(report: Report) -> dict:
    if report.kind == ReportKind.STUDENT:
        session = report.session
        subject = _("%(student)s · %(test)s") % {
            "student": selectors.display_name(session.student),
            "test": session.assignment.assessment.name,
        }
    else:
        subject = _("%(class)s · %(test)s") % {
            "class": report.assignment.school_class.name,
            "test": report.assignment.assessment.name,
        }
    return {"title": report.get_kind_display(), "subject": subject}


def _back_url(request, report: Report) -> str:
    if report.kind == ReportKind.STUDENT:
        if request.user.role == Role.STUDENT:
            return reverse("assessments:result", kwargs={"pk": report.session_id})
        return reverse("assessments:session", kwargs={"pk": report.session_id})
    return reverse("assessments:results", kwargs={"pk": report.assignment_id})


def _status_payload(request, report: Report) -> dict:
    return {
        "status": report.status,
        "label": report.get_status_display(),
        "progress": 100 if report.is_ready else report.progress,
        "ready": report.is_ready,
        "download_url": reverse("reports:download", kwargs={"pk": report.pk}),
        "may_retry": report.may_retry(),
        "error": _error_message(request, report),
    }


def _error_message(request, report: Report) -> str:
    if report.status == ReportStatus.EXPIRED:
        return _("This report's file was removed after some days. Make it again to download it.")
    if report.may_retry():
        if report.status != ReportStatus.FAILED:
            return _("This report is taking far longer than it should. Try again.")
        message = _("The report could not be made. Try again; if it fails again, tell us.")
        # Staff may see the technical reason; it can name things a student should not see.
        if request.user.role != Role.STUDENT and report.error:
            message += " (" + report.error.splitlines()[0][:300] + ")"
        return message
    return ""


@member_required
@require_GET
def report_detail(request, pk):
    report = selectors.report_get_for_user(user=request.user, pk=pk)
    context = {
        "report": report,
        **_describe(report),
        "state": _status_payload(request, report),
        "back_url": _back_url(request, report),
    }
    return render(request, "reports/report_detail.html", context)


@member_required
@require_GET
def report_status(request, pk):
    """Polled by static/js/report-progress.js while the report is being made."""
    report = selectors.report_get_for_user(user=request.user, pk=pk)
    response = JsonResponse(_status_payload(request, report))
    response["Cache-Control"] = "no-store"
    return response


@member_required
@require_POST
def report_retry(request, pk):
    report = selectors.report_get_for_user(user=request.user, pk=pk)
    services.report_retry(report=report)
    return redirect("reports:detail", pk=report.pk)


@member_required
@require_GET
def report_download(request, pk):
    report = selectors.report_get_for_user(user=request.user, pk=pk)
    if not report.is_ready:
        raise Http404
    try:
        handle = report.file.open("rb")
    except FileNotFoundError as missing:
        raise Http404 from missing
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=services.report_download_name(report),
        content_type=report.content_type,
    )
    # Reports hold students' results: never keep them in a shared cache.
    response["Cache-Control"] = "private, no-store"
    return response
