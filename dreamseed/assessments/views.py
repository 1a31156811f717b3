"""Test pages: blueprints, assignments, live progress and results for staff; the test itself
for students. Every object is fetched through a selector that checks who may see it."""

import csv
import json

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from dreamseed.accounts.permissions import staff_required, student_required
from dreamseed.assessments import selectors
from dreamseed.assessments.charts import assignment_distribution_svg, session_trajectory_svg
from dreamseed.assessments.engagement import progress_with_engagement, session_engagement
from dreamseed.assessments.forms import (
    PRESETS,
    AccommodationForm,
    AssessmentForm,
    AssignForm,
    MarkForm,
)
from dreamseed.assessments.models import (
    Accommodation,
    Assignment,
    Attempt,
    SessionStatus,
    score_band,
)
from dreamseed.assessments.pools import pool_items_query, version_for_display
from dreamseed.assessments.services import (
    SessionError,
    attempt_mark,
    session_answer,
    session_pause,
    session_read,
    session_refresh_if_due,
    session_reset,
    session_resume,
    session_start,
)
from dreamseed.classes.selectors import student_reads_aloud
from dreamseed.core.exports import spreadsheet_safe
from dreamseed.itembank.kinds import response_from_form

# --- Staff: blueprints -------------------------------------------------------------------------


@staff_required
def assessment_list(request):
    assessments = selectors.assessment_list_for(user=request.user)
    return render(request, "assessments/assessment_list.html", {"assessments": assessments})


def _blueprint_page(request, form, *, assessment=None):
    """The blueprint form (new or edit): saves a valid form, unless its item pool is empty or
    smaller than the test's minimum length and the teacher has not confirmed with "Save anyway"
    (so the warning comes before saving, not after)."""
    if request.method == "POST" and form.is_valid():
        if form.pool_size() >= form.min_items_value() or request.POST.get("confirm_pool"):
            return None
        confirm_pool = True
    else:
        confirm_pool = False
    pool_size = form.pool_size()
    context = {
        "form": form,
        "assessment": assessment,
        "pool_size": pool_size,
        "pool_too_small": pool_size < form.min_items_value(),
        "confirm_pool": confirm_pool,
        "presets": [
            {
                "key": key,
                "label": preset["label"],
                "help": preset["help"],
                "values": json.dumps(preset["values"]),
            }
            for key, preset in PRESETS.items()
        ],
    }
    status = 400 if form.errors else 200
    return render(request, "assessments/assessment_form.html", context, status=status)


@staff_required
def assessment_create(request):
    form = AssessmentForm(request.POST or None, preset=request.GET.get("preset"))
    page = _blueprint_page(request, form)
    if page is not None:
        return page
    form.instance.created_by = request.user
    assessment = form.save()
    messages.success(
        request, _("Test “%(name)s” created. Now assign it to a class.") % {"name": assessment}
    )
    return redirect("assessments:detail", pk=assessment.pk)


@staff_required
def assessment_edit(request, pk):
    assessment = selectors.assessment_get_for_staff(user=request.user, pk=pk)
    if not selectors.assessment_may_edit(user=request.user, assessment=assessment):
        raise PermissionDenied
    form = AssessmentForm(request.POST or None, instance=assessment)
    page = _blueprint_page(request, form, assessment=assessment)
    if page is not None:
        return page
    form.save()
    messages.success(request, _("Saved. Sessions already running keep their settings."))
    return redirect("assessments:detail", pk=assessment.pk)


@staff_required
def assessment_detail(request, pk):
    assessment = selectors.assessment_get_for_staff(user=request.user, pk=pk)
    classes = selectors.classes_for_staff(request.user).filter(archived_at__isnull=True)
    form = AssignForm(request.POST or None, classes=classes)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            for school_class in form.cleaned_data["classes"]:
                Assignment.objects.create(
                    assessment=assessment,
                    school_class=school_class,
                    opens_at=form.cleaned_data["opens_at"],
                    closes_at=form.cleaned_data["closes_at"],
                    attempts_allowed=form.cleaned_data["attempts_allowed"],
                    created_by=request.user,
                )
        messages.success(request, _("Assigned."))
        return redirect("assessments:detail", pk=assessment.pk)
    assignments = (
        assessment.assignments.filter(school_class__in=selectors.classes_for_staff(request.user))
        .select_related("school_class")
        .order_by("-opens_at")
    )
    context = {
        "assessment": assessment,
        "assignments": assignments,
        "form": form,
        "pool_size": pool_items_query(assessment).count(),
        "may_edit": selectors.assessment_may_edit(user=request.user, assessment=assessment),
    }
    return render(
        request, "assessments/assessment_detail.html", context, status=400 if form.errors else 200
    )


@staff_required
@require_POST
def assessment_archive(request, pk):
    assessment = selectors.assessment_get_for_staff(user=request.user, pk=pk)
    if not selectors.assessment_may_edit(user=request.user, assessment=assessment):
        raise PermissionDenied
    assessment.archived_at = None if assessment.archived_at else timezone.now()
    assessment.save(update_fields=["archived_at", "updated"])
    return redirect("assessments:detail", pk=pk)


# --- Staff: an assignment in progress, and its results -----------------------------------------


@staff_required
def assignment_detail(request, pk):
    assignment = selectors.assignment_get_for_staff(user=request.user, pk=pk)
    students = assignment.school_class.students.order_by("last_name", "first_name")
    form = AccommodationForm(request.POST or None, students=students)
    if request.method == "POST":
        existing = Accommodation.objects.filter(
            assignment=assignment, student_id=_int_or_zero(request.POST.get("student"))
        ).first()
        form = AccommodationForm(request.POST, students=students, instance=existing)
        if form.is_valid():
            form.instance.assignment = assignment
            form.save()
            messages.success(request, _("Accommodation saved."))
            return redirect("assessments:assignment", pk=pk)
    context = {
        "assignment": assignment,
        "rows": progress_with_engagement(selectors.assignment_progress(assignment=assignment)),
        "accommodations": assignment.accommodations.select_related("student"),
        "form": form,
    }
    return render(
        request, "assessments/assignment_detail.html", context, status=400 if form.errors else 200
    )


def _int_or_zero(value) -> int:
    """A posted id as an int; anything but plain ASCII digits is 0 (matches nothing)."""
    value = (value or "").strip()
    return int(value) if value.isascii() and value.isdigit() and len(value) < 19 else 0


@staff_required
def assignment_progress_fragment(request, pk):
    """The live table alone, polled by static/js/live-progress.js."""
    assignment = selectors.assignment_get_for_staff(user=request.user, pk=pk)
    rows = progress_with_engagement(selectors.assignment_progress(assignment=assignment))
    return render(
        request, "assessments/_progress_rows.html", {"assignment": assignment, "rows": rows}
    )


@staff_required
@require_POST
def session_action(request, pk, action):
    session = selectors.session_get_for_staff(user=request.user, pk=pk)
    actions = {"pause": session_pause, "resume": session_resume, "reset": session_reset}
    try:
        actions[action](session=session)
    except SessionError as error:
        messages.error(request, " ".join(error.messages))
    else:
        done = {
            "pause": _("%(name)s's test is paused."),
            "resume": _("%(name)s can continue."),
            "reset": _("%(name)s's sitting was discarded; they can start again."),
        }
        messages.success(request, done[action] % {"name": session.student})
    return redirect("assessments:assignment", pk=session.assignment_id)


@staff_required
def assignment_results(request, pk):
    assignment = selectors.assignment_get_for_staff(user=request.user, pk=pk)
    sessions = list(selectors.assignment_finished_sessions(assignment=assignment))
    for session in sessions:
        session.scale_se = assignment.assessment.scale_se(session.standard_error)
    progress = selectors.assignment_progress(assignment=assignment)
    context = {
        "not_started": [row.student for row in progress if row.session is None],
        "not_finished": [
            row for row in progress if row.session is not None and not row.session.is_finished
        ],
        "assignment": assignment,
        "assessment": assignment.assessment,
        "sessions": sessions,
        "summary": selectors.assignment_summary(assignment=assignment),
        "exposure": selectors.assignment_item_exposure(assignment=assignment),
        "chart": assignment_distribution_svg(assignment=assignment, sessions=sessions),
    }
    return render(request, "assessments/assignment_results.html", context)


@staff_required
def assignment_marking(request, pk):
    """The answers of rubric items waiting for points; a teacher enters them one by one."""
    assignment = selectors.assignment_get_for_staff(user=request.user, pk=pk)
    problem, problem_attempt, status = "", None, 200
    if request.method == "POST":
        form = MarkForm(request.POST)
        if form.is_valid():
            try:
                session = attempt_mark(
                    assignment=assignment,
                    attempt_id=form.cleaned_data["attempt"],
                    points=form.cleaned_data["points"],
                    marked_by=request.user,
                )
            except Attempt.DoesNotExist as missing:
                raise Http404 from missing
            except SessionError as error:
                problem, status = error.messages[0], 400
                problem_attempt = form.cleaned_data["attempt"]
            else:
                messages.success(
                    request,
                    _("Marked. %(student)s's score is now %(score)s.")
                    % {
                        "student": session.student.get_full_name() or session.student.username,
                        "score": f"{session.score:.0f}" if session.score is not None else "—",
                    },
                )
                return redirect("assessments:marking", pk=assignment.pk)
        else:
            problem = next(iter(form.errors.values()))[0]
            problem_attempt = form.data.get("attempt")
            status = 400
    waiting = list(selectors.marking_waiting(assignment=assignment))
    return render(
        request,
        "assessments/assignment_marking.html",
        {
            "assignment": assignment,
            "assessment": assignment.assessment,
            "waiting": waiting,
            "problem": problem,
            "problem_attempt": str(problem_attempt or ""),
        },
        status=status,
    )


@staff_required
def assignment_results_csv(request, pk):
    assignment = selectors.assignment_get_for_staff(user=request.user, pk=pk)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    filename = f"results-{assignment.pk}-{timezone.now():%Y%m%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow(
        ["student", "username", "attempt", "status", "score", "score_se", "theta", "se",
         "items", "started", "ended", "seconds"]
    )  # fmt: skip
    assessment = assignment.assessment
    for session in assignment.sessions.select_related("student").order_by("student__last_name"):
        ended = session.ended_at.isoformat() if session.ended_at else ""
        writer.writerow([
            spreadsheet_safe(session.student.get_full_name()),
            spreadsheet_safe(session.student.username), session.attempt_number,
            session.status, _round(session.score),
            _round(assessment.scale_se(session.standard_error)),
            _round(session.theta, 3), _round(session.standard_error, 3), session.n_items,
            session.started_at.isoformat(), ended, int(session.duration.total_seconds()),
        ])  # fmt: skip
    return response


@staff_required
def assignment_answers_csv(request, pk):
    """Every answer of the assignment, one row each: the response in words (typed text as
    typed, formula-safe), the right answer and how it was marked, for reading written answers
    or looking for a misleading question outside the app."""
    assignment = selectors.assignment_get_for_staff(user=request.user, pk=pk)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    filename = f"answers-{assignment.pk}-{timezone.now():%Y%m%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow(
        ["student", "username", "attempt", "position", "item", "version", "type", "answer",
         "right_answer", "marked", "points", "pilot", "seconds"]
    )  # fmt: skip
    for attempt in selectors.assignment_answers(assignment=assignment):
        student, version = attempt.session.student, attempt.item_version
        if attempt.is_unscored:
            marked = "not scored"
        elif attempt.awaiting_marking:
            marked = "to be marked"
        else:
            marked = "right" if attempt.correct else "wrong"
        writer.writerow([
            spreadsheet_safe(student.get_full_name()), spreadsheet_safe(student.username),
            attempt.session.attempt_number, attempt.position,
            spreadsheet_safe(attempt.item.external_id), version.number, version.kind,
            spreadsheet_safe(attempt.response_text), spreadsheet_safe(version.answer_display),
            marked, "" if attempt.score is None else attempt.score,
            "yes" if attempt.is_pilot else "no",
            "" if attempt.response_seconds is None else attempt.response_seconds,
        ])  # fmt: skip
    return response


def _round(value, digits=1):
    return "" if value is None else round(value, digits)


@staff_required
def session_detail_staff(request, pk):
    session = selectors.session_get_for_staff(user=request.user, pk=pk)
    return render(request, "assessments/session_result.html", _result_context(session, staff=True))


def _result_context(session, *, staff: bool) -> dict:
    assessment = session.assignment.assessment
    attempts = list(selectors.session_attempts(session=session))
    scale_se = assessment.scale_se(session.standard_error)
    band_low, band_high = score_band(session.score, scale_se)
    return {
        "session": session,
        "assessment": assessment,
        "attempts": attempts,
        "scale_se": scale_se,
        "band_low": band_low,
        "band_high": band_high,
        "chart": session_trajectory_svg(session=session, attempts=attempts),
        "staff": staff,
        "engagement": session_engagement(session=session) if staff else None,
    }


# --- Students ------------------------------------------------------------------------------------


@student_required
def my_tests(request):
    groups = selectors.student_tests(student=request.user)
    return render(request, "assessments/my_tests.html", {"groups": groups})


@student_required
def assignment_start(request, pk):
    assignment = selectors.assignment_get_for_student(student=request.user, pk=pk)
    if request.method == "POST":
        try:
            session = session_start(assignment=assignment, student=request.user)
        except SessionError as error:
            messages.error(request, " ".join(error.messages))
            return redirect("assessments:start", pk=pk)
        return redirect("assessments:take", pk=session.pk)
    return render(
        request,
        "assessments/start.html",
        {"assignment": assignment, "assessment": assignment.assessment},
    )


def _wants_fragment(request) -> bool:
    return request.headers.get("X-Requested-With") == "fetch"


@student_required
def session_take(request, pk):
    error = None
    session = None
    if request.method == "POST":
        try:
            item_id = int(request.POST.get("item", ""))
        except ValueError:
            item_id = -1
        try:
            response_time = int(request.POST.get("response_time_ms") or 0) or None
        except ValueError:
            response_time = None
        choice = response_from_form(request.POST)
        if not choice:
            error = _("Please choose an answer before going on.")
        else:
            try:
                # Locks the row and checks it is this student's: no separate read first.
                outcome = session_answer(
                    session_id=pk,
                    student=request.user,
                    item_id=item_id,
                    choice=choice,
                    response_time_ms=response_time,
                )
            except SessionError as problem:
                error = " ".join(problem.messages)
            except PermissionDenied as denied:
                raise Http404 from denied
            else:
                session = outcome.session
                if outcome.stale and not session.is_finished:
                    error = _("That answer was already saved. Here is your current question.")
        if session is not None and error is None and not _wants_fragment(request):
            # post/redirect/get: a reload never re-posts an answer.
            target = "assessments:result" if session.is_finished else "assessments:take"
            return redirect(target, pk=session.pk)
    if session is None or error is not None:
        session = session_read(pk)
        if session is None or session.student_id != request.user.pk:
            raise Http404
        session = session_refresh_if_due(session)
    if session.is_finished:
        url = reverse("assessments:result", kwargs={"pk": session.pk})
        if _wants_fragment(request):
            return JsonResponse({"done": True, "url": url})
        return redirect(url)
    # This view's own URL (reverse() would build the same string at some cost on every answer).
    context = _question_context(session, take_url=request.path, error=error)
    if _wants_fragment(request):
        # No request: the fragment uses nothing the context processors add (no CSRF token, no
        # user or school), so they are not run for every answer.
        html = render_to_string("assessments/_question.html", {**context, "fragment": True})
        return JsonResponse({"done": False, "html": html, "error": error})
    # The read-aloud accommodation is part of the page, not of each swapped-in question.
    context["read_aloud"] = getattr(session, "student_reads_aloud", None)
    if context["read_aloud"] is None:  # a session not loaded by session_read
        context["read_aloud"] = student_reads_aloud(student=request.user)
    return render(
        request,
        "assessments/take.html",
        context,
        status=400 if error and request.method == "POST" else 200,
    )


def _question_context(session, *, take_url: str, error=None) -> dict:
    assessment = session.assignment.assessment
    answered = getattr(session, "answered", None)
    if answered is None:
        answered = len(session.history)  # one row per recorded attempt, pilots included
    version = (
        version_for_display(session.pending_version_id) if session.pending_version_id else None
    )
    return {
        "session": session,
        "assessment": assessment,
        "version": version,
        "question_body": _question_body(version) if version is not None else "",
        "position": answered + 1,
        "max_items": assessment.max_items,
        "seconds_left": session.seconds_left(),
        "paused": session.status == SessionStatus.PAUSED,
        "error": error,
        "take_url": take_url,
    }


def _question_body(version) -> str:
    """The stem and answer controls of an item version, rendered for this request. Keeping the
    HTML on the shared cached version measured no gain (bench/answer_cpu.py with a toggle:
    -0.2, +0.4 and -0.7 ms web per answer in three runs, within the noise) for a fragment that
    would then have to be the same for every student and rendered once per language."""
    return render_to_string("assessments/_question_body.html", {"version": version})


@student_required
def session_result(request, pk):
    session = selectors.session_get_for_student(student=request.user, pk=pk)
    if not session.is_finished:
        return redirect("assessments:take", pk=pk)
    context = _result_context(session, staff=False)
    context["visible"] = session.assignment.assessment.show_results_to_students
    return render(request, "assessments/session_result.html", context)
