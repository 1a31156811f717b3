"""Reads about classes: who may see which class, rosters, and the statistics pages.

Permission is decided here, once: `class_list_for(user=...)` is the set of classes a person may
see (admins: every class of the school; teachers: the classes they teach or co-teach; students:
the active classes they are enrolled in) and `class_get_for_staff` narrows it to one class or
raises Http404, so a class that is not yours looks exactly like one that does not exist.
"""

from datetime import timedelta

from django.db.models import Count, F, Max, Prefetch, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from dreamseed.accounts.models import STAFF_ROLES, Role, User
from dreamseed.accounts.selectors import person_search, students_matching
from dreamseed.assessments.models import FINISHED_STATUSES, Assignment, ExamSession
from dreamseed.classes.models import Class, ClassTeacher, Enrollment, StudentProfile

# A student counts as active in a class's statistics if they signed in within this window.
ACTIVE_WINDOW = timedelta(days=30)
ROSTER_SORTS = {
    "name": ("student__last_name", "student__first_name", "student__username"),
    "username": ("student__username",),
    "grade": ("student__student_profile__grade", "student__last_name", "student__first_name"),
    "last_login": ("student__last_login", "student__last_name"),
    "enrolled": ("created", "student__last_name"),
}
STUDENT_PICKER_LIMIT = 100


def _teacher_prefetch() -> Prefetch:
    return Prefetch(
        "teacher_links",
        queryset=ClassTeacher.objects.select_related("teacher").order_by(
            "teacher__last_name", "teacher__first_name"
        ),
    )


def class_list_for(*, user: User, include_archived: bool = False) -> QuerySet[Class]:
    """The classes `user` may see, with student counts and teachers, in two queries."""
    if user.role == Role.ADMIN:
        classes = Class.objects.all()
    elif user.role == Role.TEACHER:
        classes = Class.objects.filter(
            pk__in=ClassTeacher.objects.filter(teacher=user).values("school_class_id")
        )
    elif user.role == Role.STUDENT:
        classes = Class.objects.active().filter(
            pk__in=Enrollment.objects.filter(student=user).values("school_class_id")
        )
    else:
        return Class.objects.none()
    if not include_archived:
        classes = classes.active()
    return classes.annotate(student_count=Count("enrollments", distinct=True)).prefetch_related(
        _teacher_prefetch()
    )


def class_get_for_staff(*, user: User, pk: int) -> Class:
    """One class the staff member may manage (archived ones included), or Http404."""
    if user.role not in STAFF_ROLES:
        raise Http404
    school_class = class_list_for(user=user, include_archived=True).filter(pk=pk).first()
    if school_class is None:
        raise Http404
    return school_class


def class_teachers(*, school_class: Class) -> list[User]:
    return [link.teacher for link in school_class.teacher_links.all()]


def class_roster(*, school_class: Class, search: str = "", sort: str = "name") -> QuerySet:
    """The class's enrollments with their students and grades, searched and sorted in SQL."""
    enrollments = Enrollment.objects.filter(school_class=school_class).select_related(
        "student", "student__student_profile"
    )
    search = search.strip()
    if search:
        enrollments = enrollments.filter(person_search(search, via="student__"))
    descending = sort.startswith("-")
    fields = ROSTER_SORTS.get(sort.lstrip("-"), ROSTER_SORTS["name"])
    if descending:
        fields = tuple(f"-{name}" for name in fields)
    return enrollments.order_by(*fields, "pk")


def students_not_in_class(*, school_class: Class, search: str = "") -> QuerySet[User]:
    """Active students of the school who could be enrolled in `school_class`."""
    students = (
        User.objects.filter(role=Role.STUDENT, is_active=True)
        .exclude(enrollments__school_class=school_class)
        .select_related("student_profile")
    )
    return students_matching(students, search)


def students_for_staff(*, user: User) -> QuerySet[User]:
    """Students whose records `user` may open: an admin's whole school, a teacher's classes."""
    students = User.objects.filter(role=Role.STUDENT)
    if user.role == Role.ADMIN:
        return students
    if user.role == Role.TEACHER:
        return students.filter(
            pk__in=Enrollment.objects.filter(school_class__teachers=user).values("student_id")
        )
    return students.none()


def student_get_for_staff(*, user: User, pk: int) -> User:
    student = students_for_staff(user=user).select_related("student_profile").filter(pk=pk)
    student = student.first()
    if student is None:
        raise Http404
    return student


def student_reads_aloud(*, student: User) -> bool:
    """Whether the test page offers this student the "Read aloud" button."""
    return StudentProfile.objects.filter(user_id=student.pk, read_aloud=True).exists()


# --- Statistics -----------------------------------------------------------------------------------
#
# Sign-in numbers are here; results (sittings, scores, growth, content areas, groups) are computed
# in SQL by `dreamseed.classes.results`, one statement per block whatever the class size.


def class_statistics(*, classes: QuerySet[Class]) -> QuerySet[Class]:
    """Per-class numbers for a set of classes, aggregated in SQL (one query, no Python loops).

    Adds `student_count`, `active_student_count` (signed in within ACTIVE_WINDOW) and
    `latest_activity` (the most recent sign-in of any enrolled student). Results are in
    `dreamseed.classes.results.class_summaries`.
    """
    since = timezone.now() - ACTIVE_WINDOW
    return classes.annotate(
        student_count=Count("enrollments", distinct=True),
        active_student_count=Count(
            "enrollments", filter=Q(enrollments__student__last_login__gte=since), distinct=True
        ),
        latest_activity=Max("enrollments__student__last_login"),
    )


def student_statistics(*, students: QuerySet[User]) -> QuerySet[User]:
    """Per-student numbers, aggregated in SQL: `class_count` (active classes) and
    `latest_activity` (last sign-in)."""
    return students.annotate(
        class_count=Count(
            "enrollments",
            filter=Q(enrollments__school_class__archived_at__isnull=True),
            distinct=True,
        ),
        latest_activity=F("last_login"),
    ).select_related("student_profile")


def class_student_statistics(*, school_class: Class) -> QuerySet[User]:
    """The per-student statistics table of one class."""
    # pk__in, not a join: filtering on `enrollments` would narrow the counts to this class.
    students = User.objects.filter(
        pk__in=Enrollment.objects.filter(school_class=school_class).values("student_id")
    )
    return student_statistics(students=students).order_by("last_name", "first_name", "username")


def class_summary(*, school_class: Class) -> dict:
    """The headline numbers of one class, in one query."""
    return class_statistics(classes=Class.objects.filter(pk=school_class.pk)).values(
        "student_count", "active_student_count", "latest_activity"
    )[0]


def student_sessions_for_staff(*, user: User, student: User) -> QuerySet:
    """The student's sittings that `user` may see: those of classes the user may see (a teacher:
    classes they teach; an admin: all), archived classes included."""
    classes = class_list_for(user=user, include_archived=True).values("pk")
    return ExamSession.objects.filter(
        student=student, assignment__school_class__in=classes
    ).select_related("assignment__assessment", "assignment__school_class")


def student_open_tests(*, student: User, classes: QuerySet[Class] | None = None, now=None):
    """Tests open now for the student (in `classes`, if given), with the attempts they used."""
    now = now or timezone.now()
    assignments = Assignment.objects.filter(
        school_class__enrollments__student=student,
        school_class__archived_at__isnull=True,
        assessment__archived_at__isnull=True,
        opens_at__lte=now,
        closes_at__gt=now,
    )
    if classes is not None:
        assignments = assignments.filter(school_class__in=classes.values("pk"))
    return (
        assignments.select_related("assessment", "school_class")
        .annotate(
            attempts_used=Count("sessions", filter=Q(sessions__student=student), distinct=True),
            unfinished=Count(
                "sessions",
                filter=Q(sessions__student=student) & ~Q(sessions__status__in=FINISHED_STATUSES),
                distinct=True,
            ),
        )
        .order_by("closes_at", "pk")
    )
