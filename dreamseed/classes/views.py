"""Class pages: teachers and admins manage classes, rosters and imports; students join by code.
Also the school home page, which differs by role and is built from each role's classes."""

import csv
from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.dateparse import parse_datetime
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from dreamseed.accounts import badges
from dreamseed.accounts.models import Role, User
from dreamseed.accounts.permissions import staff_required, student_required
from dreamseed.assessments.models import ExamSession
from dreamseed.assessments.selectors import student_tests
from dreamseed.classes import results, selectors, services
from dreamseed.classes.forms import (
    AccommodationsForm,
    ClassForm,
    JoinClassForm,
    RosterUploadForm,
    StudentAddForm,
    StudentSelectionForm,
)
from dreamseed.classes.models import Class, RosterImport
from dreamseed.classes.roster import RosterFileError
from dreamseed.core.exports import spreadsheet_safe
from dreamseed.schools.licensing import LicenceReadOnly, SeatLimitReached

ROSTER_PAGE_SIZE = 200
PREVIEW_ROWS_SHOWN = 500
CLASS_PAGE_TESTS = 5


def _get_class_for_teacher(request, pk: int):
    """The class if the signed-in staff member may manage it, else 404 (not 403: a class that is
    not yours is indistinguishable from one that does not exist)."""
    return selectors.class_get_for_staff(user=request.user, pk=pk)


def _manageable_classes(request):
    return selectors.class_list_for(user=request.user, include_archived=True)


def _error_text(error: ValidationError) -> str:
    return " ".join(error.messages)


# --- The school home page ------------------------------------------------------------------------

#: Home pages opened within this time of each other are one visit: "finished since your last
#: visit" keeps its meaning across reloads.
VISIT_GAP = timedelta(minutes=30)
FIRST_VISIT_LOOKBACK = timedelta(days=7)


def _last_visit(request):
    """When the teacher's previous visit began (a week ago on the first visit). The session is
    written only when a new visit begins."""
    now = timezone.now()
    started = parse_datetime(request.session.get("home_visit_at", ""))
    since = parse_datetime(request.session.get("home_since", ""))
    if started is None or now - started > VISIT_GAP:
        since = started or now - FIRST_VISIT_LOOKBACK
        request.session["home_visit_at"] = now.isoformat()
        request.session["home_since"] = since.isoformat()
    return since or now - FIRST_VISIT_LOOKBACK


@login_required
def dashboard(request):
    user = request.user
    if user.role == Role.ADMIN:
        context = {
            "teacher_count": User.objects.filter(role=Role.TEACHER, is_active=True).count(),
            "student_count": User.objects.filter(role=Role.STUDENT, is_active=True).count(),
            "admin_count": User.objects.filter(role=Role.ADMIN, is_active=True).count(),
            "class_count": Class.objects.active().count(),
        }
        return render(request, "classes/dashboard_admin.html", context)
    classes = selectors.class_list_for(user=user)
    if user.role == Role.TEACHER:
        context = {"classes": classes}
        context.update(results.teacher_attention(classes=classes, since=_last_visit(request)))
        return render(request, "classes/dashboard_teacher.html", context)
    context = {
        "classes": classes,
        "join_form": JoinClassForm(),
        "test_groups": student_tests(student=user),  # the tests open to the student now
    }
    return render(request, "classes/dashboard_student.html", context)


# --- Class list, create, edit, archive -----------------------------------------------------------


@staff_required
def class_list(request):
    show_archived = request.GET.get("archived") == "1"
    classes = selectors.class_list_for(user=request.user, include_archived=show_archived)
    if show_archived:
        classes = classes.filter(archived_at__isnull=False)
    return render(
        request,
        "classes/class_list.html",
        {"classes": classes, "show_archived": show_archived},
    )


@staff_required
def class_create(request):
    # A teacher usually creates a class for themselves; an admin picks who teaches it.
    form = ClassForm(
        request.POST if request.method == "POST" else None,
        teachers_initial=[request.user] if request.user.is_teacher else [],
    )
    if request.method == "POST" and form.is_valid():
        try:
            school_class = services.class_create(
                name=form.cleaned_data["name"],
                subject=form.cleaned_data["subject"],
                grade=form.cleaned_data["grade"],
                teachers=form.cleaned_data["teachers"],
                created_by=request.user,
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request,
                _("%(name)s was created. Its join code is %(code)s.")
                % {"name": school_class.name, "code": school_class.join_code},
            )
            return redirect("classes:detail", pk=school_class.pk)
    status = 400 if form.errors else 200
    return render(request, "classes/class_form.html", {"form": form}, status=status)


@staff_required
def class_edit(request, pk: int):
    school_class = _get_class_for_teacher(request, pk)
    form = ClassForm(request.POST if request.method == "POST" else None, instance=school_class)
    if request.method == "POST" and form.is_valid():
        try:
            services.class_update(
                school_class=school_class,
                name=form.cleaned_data["name"],
                subject=form.cleaned_data["subject"],
                grade=form.cleaned_data["grade"],
                teachers=form.cleaned_data["teachers"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Your changes were saved."))
            if request.user.is_teacher and request.user not in form.cleaned_data["teachers"]:
                return redirect("classes:list")  # no longer theirs to see
            return redirect("classes:detail", pk=school_class.pk)
    status = 400 if form.errors else 200
    return render(
        request,
        "classes/class_form.html",
        {"form": form, "school_class": school_class},
        status=status,
    )


@staff_required
@require_POST
def class_archive(request, pk: int):
    school_class = _get_class_for_teacher(request, pk)
    if request.POST.get("archive") == "0":
        services.class_restore(school_class=school_class)
        messages.success(request, _("%(name)s is active again.") % {"name": school_class})
    else:
        services.class_archive(school_class=school_class)
        messages.success(
            request,
            _("%(name)s was archived. Its students can no longer join with the code.")
            % {"name": school_class},
        )
    return redirect("classes:detail", pk=school_class.pk)


@staff_required
@require_POST
def class_join_code(request, pk: int):
    school_class = _get_class_for_teacher(request, pk)
    code = services.class_join_code_regenerate(school_class=school_class)
    messages.success(
        request, _("The new join code is %(code)s. The old code no longer works.") % {"code": code}
    )
    return redirect("classes:detail", pk=school_class.pk)


# --- The class page: roster ----------------------------------------------------------------------


@staff_required
def class_detail(request, pk: int):
    school_class = _get_class_for_teacher(request, pk)
    search = request.GET.get("q", "")[:100]
    sort = request.GET.get("sort", "name")
    if sort.lstrip("-") not in selectors.ROSTER_SORTS:
        sort = "name"
    roster = selectors.class_roster(school_class=school_class, search=search, sort=sort)
    page = Paginator(roster, ROSTER_PAGE_SIZE).get_page(request.GET.get("page"))
    tests = results.class_tests(school_class=school_class)
    columns = [
        ("name", _("Name")),
        ("username", _("Username")),
        ("grade", _("Grade")),
        ("last_login", _("Last sign-in")),
        ("enrolled", _("Enrolled")),
    ]
    sort_links = [
        {
            "key": key,
            "label": label,
            "active": sort.lstrip("-") == key,
            "descending": sort == f"-{key}",
            "next": f"-{key}" if sort == key else key,
        }
        for key, label in columns
    ]
    return render(
        request,
        "classes/class_detail.html",
        {
            "school_class": school_class,
            "teachers": selectors.class_teachers(school_class=school_class),
            "page": page,
            "search": search,
            "sort": sort,
            "sort_links": sort_links,
            "results": results.class_summary(school_class=school_class),
            # The newest few; the statistics page lists them all.
            "tests": tests[:CLASS_PAGE_TESTS],
            "more_tests": len(tests) > CLASS_PAGE_TESTS,
        },
    )


@staff_required
def class_student_add(request, pk: int):
    school_class = _get_class_for_teacher(request, pk)
    form = StudentAddForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            credential = services.student_create(**form.cleaned_data, school_class=school_class)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request,
                _("%(name)s was added to %(class)s. Print the slip so they can sign in.")
                % {"name": credential.student, "class": school_class},
            )
            return _render_slips(request, [credential], school_class=school_class)
    status = 400 if form.errors else 200
    return render(
        request,
        "classes/student_add.html",
        {"form": form, "school_class": school_class},
        status=status,
    )


@staff_required
def class_enroll(request, pk: int):
    """Enroll students who already have accounts: search, tick, enroll."""
    school_class = _get_class_for_teacher(request, pk)
    search = request.GET.get("q", "")[:100]
    candidates = selectors.students_not_in_class(school_class=school_class, search=search)
    form = StudentSelectionForm(
        request.POST if request.method == "POST" else None, students=candidates
    )
    if request.method == "POST" and form.is_valid():
        try:
            added = services.class_enroll_students(
                school_class=school_class, students=form.cleaned_data["students"]
            )
        except ValidationError as error:
            messages.error(request, _error_text(error))
        else:
            messages.success(request, _("%(count)s students enrolled.") % {"count": added})
        return redirect("classes:detail", pk=school_class.pk)
    shown = list(candidates[: selectors.STUDENT_PICKER_LIMIT + 1])
    status = 400 if form.errors else 200
    return render(
        request,
        "classes/enroll.html",
        {
            "school_class": school_class,
            "form": form,
            "candidates": shown[: selectors.STUDENT_PICKER_LIMIT],
            "more": len(shown) > selectors.STUDENT_PICKER_LIMIT,
            "search": search,
        },
        status=status,
    )


def _class_students(school_class):
    return User.objects.filter(enrollments__school_class=school_class)


@staff_required
@require_POST
def class_unenroll(request, pk: int):
    school_class = _get_class_for_teacher(request, pk)
    form = StudentSelectionForm(request.POST, students=_class_students(school_class))
    if form.is_valid():
        removed = services.class_unenroll_students(
            school_class=school_class, students=form.cleaned_data["students"]
        )
        messages.success(
            request, _("%(count)s students were removed from the class.") % {"count": removed}
        )
    else:
        messages.error(request, " ".join(form.errors.get("students", [])))
    return redirect("classes:detail", pk=school_class.pk)


# --- Sign-in slips -------------------------------------------------------------------------------


def _render_slips(request, credentials, *, school_class=None):
    """The printable slips. Passwords appear only in this response, which no cache may keep.

    Each slip has a QR code that signs the student in without typing (dreamseed/accounts/
    badges.py); the new passwords revoke the codes of slips printed before."""
    slips = []
    for credential in credentials:
        student = credential.student
        url = request.build_absolute_uri(
            reverse("accounts:badge", args=[badges.badge_token(student=student)])
        )
        name = student.get_full_name() or student.username
        title = _("QR code that signs %(name)s in") % {"name": name}
        # segno escapes the title; the rest of the SVG is its own path data.
        slips.append((credential, mark_safe(badges.badge_svg(url, title=title)), url))
    response = render(
        request,
        "classes/slips.html",
        {
            "credentials": credentials,
            "slips": slips,
            "school_class": school_class,
            "sign_in_url": request.build_absolute_uri(reverse("accounts:login")),
        },
    )
    add_never_cache_headers(response)
    return response


@never_cache
@staff_required
def class_slips(request, pk: int):
    """Choose students, then give them new passwords and print a slip each.

    Step one (GET, or POST from the roster's checkboxes) only shows who is selected and what will
    happen; step two (POST with `generate`) changes the passwords and shows the slips once.
    """
    school_class = _get_class_for_teacher(request, pk)
    students = _class_students(school_class).select_related("student_profile")
    students = students.order_by("last_name", "first_name", "username")
    generate = request.method == "POST" and "generate" in request.POST
    form = StudentSelectionForm(request.POST if generate else None, students=students)
    if generate and form.is_valid():
        try:
            credentials = services.student_passwords_reset(students=form.cleaned_data["students"])
        except ValidationError as error:
            form.add_error("students", error)
        else:
            return _render_slips(request, credentials, school_class=school_class)
    if request.method == "POST":
        selected = set(request.POST.getlist("students"))
    else:  # by default, the students who cannot sign in yet
        selected = {str(student.pk) for student in students if not student.has_usable_password()}
    status = 400 if form.errors else 200
    return render(
        request,
        "classes/slips_select.html",
        {
            "school_class": school_class,
            "students": students,
            "selected": selected,
            "form": form,
        },
        status=status,
    )


@never_cache
@staff_required
def student_password(request, pk: int):
    student = selectors.student_get_for_staff(user=request.user, pk=pk)
    if request.method == "POST":
        credentials = services.student_passwords_reset(students=[student])
        return _render_slips(request, credentials)
    return render(request, "classes/student_password.html", {"student": student})


# --- Roster import -------------------------------------------------------------------------------


@staff_required
def roster_import(request, pk: int):
    school_class = _get_class_for_teacher(request, pk)
    if school_class.is_archived:
        messages.error(request, _("This class is archived. Restore it to import students."))
        return redirect("classes:detail", pk=school_class.pk)
    form = RosterUploadForm(
        request.POST if request.method == "POST" else None,
        request.FILES if request.method == "POST" else None,
    )
    plan = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            created, plan = services.roster_import_create(
                school_class=school_class,
                uploaded_by=request.user,
                data=upload.read(),
                filename=upload.name,
                classes=_manageable_classes(request),
            )
        except RosterFileError as error:
            form.add_error("file", str(error))
        else:
            if created is not None:
                return redirect("classes:import_preview", pk=school_class.pk, import_id=created.pk)
    failed = bool(form.errors or (plan and not plan.is_valid))
    return render(
        request,
        "classes/roster_import.html",
        {"school_class": school_class, "form": form, "plan": plan},
        status=400 if failed else 200,
    )


@staff_required
def roster_import_preview(request, pk: int, import_id):
    school_class = _get_class_for_teacher(request, pk)
    pending = get_object_or_404(
        RosterImport,
        pk=import_id,
        school_class=school_class,
        uploaded_by=request.user,
        applied_at__isnull=True,
    )
    classes = _manageable_classes(request)
    seat_error = None
    if request.method == "POST":
        try:
            applied = services.roster_import_apply(
                roster_import=pending,
                expected_digest=request.POST.get("digest", ""),
                classes=classes,
            )
        except services.RosterChanged:
            messages.warning(
                request,
                _("Something changed since this preview. Check the updated preview below."),
            )
            return redirect("classes:import_preview", pk=school_class.pk, import_id=pending.pk)
        except (SeatLimitReached, LicenceReadOnly) as error:
            seat_error = error  # nothing was written; the page says why and offers the way out
        else:
            messages.success(
                request,
                _(
                    "Roster imported: %(created)s new students, %(updated)s updated, "
                    "%(enrolled)s enrollments."
                )
                % {
                    "created": applied.created_count,
                    "updated": applied.updated_count,
                    "enrolled": applied.enrolled_count,
                },
            )
            return redirect("classes:detail", pk=school_class.pk)
    plan = services.roster_import_preview(roster_import=pending, classes=classes)
    return render(
        request,
        "classes/roster_preview.html",
        {
            "school_class": school_class,
            "roster_import": pending,
            "plan": plan,
            "seat_error": seat_error,
            "rows": plan.rows[:PREVIEW_ROWS_SHOWN],
            "hidden_rows": max(0, len(plan.rows) - PREVIEW_ROWS_SHOWN),
            "counts": plan.counts,
            "digest": plan.digest(),
        },
        status=200 if plan.is_valid and seat_error is None else 400,
    )


# --- Statistics and results ----------------------------------------------------------------------


@staff_required
def statistics(request):
    classes = list(
        selectors.class_statistics(
            classes=selectors.class_list_for(user=request.user).order_by("name", "pk")
        )
    )
    class_ids = [c.pk for c in classes]
    summaries = results.class_summaries(class_ids=class_ids)
    areas = results.class_areas(class_ids=class_ids)
    for school_class in classes:
        school_class.results = summaries[school_class.pk]
        school_class.areas = areas.get(school_class.pk, [])
        school_class.weak_areas = [a for a in school_class.areas if a.strength == "weak"]
        school_class.strong_areas = [a for a in school_class.areas if a.strength == "strong"]
    return render(request, "classes/statistics.html", {"classes": classes})


STUDENT_SORTS = {
    "name": lambda s: (s.last_name.lower(), s.first_name.lower(), s.username),
    "finished": lambda s: (s.finished, s.last_name.lower()),
    "score": lambda s: (s.score is None, s.score or 0.0, s.last_name.lower()),
    # Rank 1 is the highest theta; students without a result last.
    "rank": lambda s: (s.rank is None, s.rank or 0, s.last_name.lower()),
    "change": lambda s: (s.change is None, s.change or 0.0, s.last_name.lower()),
}


def _sorted_students(students, sort: str):
    key = STUDENT_SORTS.get(sort.lstrip("-"), STUDENT_SORTS["name"])
    ordered = sorted(students, key=key)
    if sort.startswith("-"):
        # Reverse, but keep students without a value at the end.
        with_value = [s for s in ordered if key(s)[0] is not True]
        without = [s for s in ordered if key(s)[0] is True]
        ordered = list(reversed(with_value)) + without
    return ordered


@staff_required
def class_statistics(request, pk: int):
    school_class = _get_class_for_teacher(request, pk)
    sort = request.GET.get("sort", "name")
    if sort.lstrip("-") not in STUDENT_SORTS:
        sort = "name"
    students = results.class_student_results(school_class=school_class)
    columns = [
        ("name", _("Student")),
        ("finished", _("Tests finished")),
        ("score", _("Latest score")),
        ("rank", _("Rank")),
        ("change", _("Growth")),
    ]
    sort_links = [
        {
            "key": key,
            "label": label,
            "active": sort.lstrip("-") == key,
            "descending": sort == f"-{key}",
            "next": f"-{key}" if sort == key else key,
        }
        for key, label in columns
    ]
    return render(
        request,
        "classes/class_statistics.html",
        {
            "school_class": school_class,
            "summary": selectors.class_summary(school_class=school_class),
            "results": results.class_summary(school_class=school_class),
            "tests": results.class_tests(school_class=school_class),
            "areas": results.area_totals({s.student_id: s.areas for s in students}),
            "students": _sorted_students(students, sort),
            "sort_links": sort_links,
        },
    )


def _groups(school_class):
    students = results.class_student_results(school_class=school_class)
    return students, results.groups_by_band(students), results.groups_by_weakest_area(students)


@staff_required
def class_groups(request, pk: int):
    """Students grouped by achievement band and by weakest content area, to plan lessons."""
    school_class = _get_class_for_teacher(request, pk)
    students, by_band, by_area = _groups(school_class)
    return render(
        request,
        "classes/class_groups.html",
        {
            "school_class": school_class,
            "students": students,
            "by_band": by_band,
            "by_area": by_area,
            "has_results": any(s.theta is not None for s in students),
            "area_margin": results.AREA_MARGIN,
            "area_min_answers": results.AREA_MIN_ANSWERS,
        },
    )


@staff_required
def class_groups_csv(request, pk: int):
    school_class = _get_class_for_teacher(request, pk)
    _students, by_band, by_area = _groups(school_class)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    filename = f"groups-{school_class.pk}-{timezone.now():%Y%m%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.write("\ufeff")  # so spreadsheet programs read the names as UTF-8
    writer = csv.writer(response)
    writer.writerow(
        ["grouping", "group", "student", "username", "latest_test", "score", "score_se",
         "theta", "se", "band", "weakest_area"]
    )  # fmt: skip
    for grouping, groups in (("band", by_band), ("weakest_area", by_area)):
        for group in groups:
            for student in group.students:
                weakest = student.weakest
                writer.writerow([
                    grouping, spreadsheet_safe(group.label), spreadsheet_safe(student.name),
                    spreadsheet_safe(student.username), spreadsheet_safe(student.latest_test),
                    _round(student.score), _round(student.scale_se), _round(student.theta, 3),
                    _round(student.se, 3), student.band or "",
                    spreadsheet_safe(weakest.area) if weakest else "",
                ])  # fmt: skip
    return response


def _round(value, digits=1):
    return "" if value is None else round(value, digits)


@staff_required
def student_detail(request, pk: int):
    student = selectors.student_get_for_staff(user=request.user, pk=pk)
    stats = selectors.student_statistics(students=User.objects.filter(pk=student.pk))[0]
    visible = selectors.class_list_for(user=request.user, include_archived=True)
    classes = list(visible.filter(enrollments__student=student))
    sittings, growth = results.student_history(
        sessions=selectors.student_sessions_for_staff(user=request.user, student=student)
    )
    areas = results.student_areas(class_ids=[c.pk for c in classes], student_ids=[student.pk]).get(
        student.pk, []
    )
    return render(
        request,
        "classes/student_detail.html",
        {
            "student": student,
            "stats": stats,
            "accommodations_form": AccommodationsForm(
                initial={
                    "read_aloud": getattr(
                        getattr(student, "student_profile", None), "read_aloud", False
                    )
                }
            ),
            "classes": classes,
            "sittings": sittings,
            "growth": growth,
            "finished_count": sum(1 for s in sittings if s.session.is_finished),
            "areas": areas,
            "strong_areas": [row for row in areas if row.strength == "strong"],
            "weak_areas": [row for row in areas if row.strength == "weak"],
            "open_tests": selectors.student_open_tests(student=student, classes=visible),
            "area_margin": results.AREA_MARGIN,
            "area_min_answers": results.AREA_MIN_ANSWERS,
        },
    )


@staff_required
@require_POST
def student_accommodations(request, pk: int):
    """Turn a student's accommodations (read aloud) on or off: their teachers and the admins."""
    student = selectors.student_get_for_staff(user=request.user, pk=pk)
    form = AccommodationsForm(request.POST)
    form.is_valid()  # one checkbox: absent means off, nothing else can be wrong
    read_aloud = form.cleaned_data.get("read_aloud", False)
    services.student_accommodations_set(student=student, read_aloud=read_aloud)
    name = student.get_full_name() or student.username
    if read_aloud:
        messages.success(request, _("Read aloud is on for %(name)s.") % {"name": name})
    else:
        messages.success(request, _("Read aloud is off for %(name)s.") % {"name": name})
    return redirect("classes:student", pk=student.pk)


@student_required
def my_results(request):
    """A student's own history: what their teachers let them see."""
    sessions = ExamSession.objects.filter(student=request.user).select_related(
        "assignment__assessment", "assignment__school_class"
    )
    sittings, growth = results.student_history(sessions=sessions, for_student=True)
    return render(request, "classes/my_results.html", {"sittings": sittings, "growth": growth})


# --- Students ------------------------------------------------------------------------------------


@student_required
def my_classes(request):
    return render(
        request,
        "classes/my_classes.html",
        {"classes": selectors.class_list_for(user=request.user), "join_form": JoinClassForm()},
    )


@student_required
@require_POST
def class_join(request):
    form = JoinClassForm(request.POST)
    if form.is_valid():
        try:
            school_class, created = services.class_join(
                student=request.user, code=form.cleaned_data["code"]
            )
        except services.JoinThrottled:
            form.add_error(
                "code",
                _(
                    "Too many wrong codes. Wait a few minutes, then check the code with your "
                    "teacher."
                ),
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            if created:
                messages.success(request, _("You joined %(name)s.") % {"name": school_class})
            else:
                messages.info(request, _("You are already in %(name)s.") % {"name": school_class})
            next_url = request.POST.get("next", "")
            if url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
                return redirect(next_url)
            return redirect("classes:mine")
    return render(
        request,
        "classes/my_classes.html",
        {"classes": selectors.class_list_for(user=request.user), "join_form": form},
        status=400,
    )
