"""Class services: creating and archiving classes, enrolling students, joining by code, roster
imports, and the temporary passwords printed on sign-in slips."""

import hashlib
import os
import secrets
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth.hashers import PBKDF2PasswordHasher, get_hasher, make_password
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from dreamseed.accounts.models import STAFF_ROLES, Role, User
from dreamseed.classes.models import (
    Class,
    ClassTeacher,
    Enrollment,
    RosterImport,
    StudentProfile,
    join_code_generate,
    join_code_normalise,
)
from dreamseed.classes.roster import (
    CREATE,
    UPDATE,
    RosterPlan,
    RosterRow,
    roster_decode,
    roster_plan,
)
from dreamseed.schools.licensing import assert_can_add_students

JOIN_FAILURES_ALLOWED = 10
JOIN_FAILURE_WINDOW_SECONDS = 15 * 60
ROSTER_PREVIEW_MAX_AGE = timedelta(days=1)
SLIPS_MAX_STUDENTS = 200

# --- Classes --------------------------------------------------------------------------------------


def _check_teachers(teachers) -> list[User]:
    teachers = list(teachers)
    if not teachers:
        raise ValidationError({"teachers": _("A class needs at least one teacher.")})
    if any(teacher.role not in STAFF_ROLES or not teacher.is_active for teacher in teachers):
        raise ValidationError({"teachers": _("Only active staff can teach a class.")})
    return teachers


def _unique_join_code(school_class: Class) -> None:
    """Save `school_class` with a fresh join code, retrying on the (rare) collision."""
    update_fields = ["join_code"] if school_class.pk else None
    for _attempt in range(5):
        school_class.join_code = join_code_generate()
        try:
            with transaction.atomic():
                school_class.save(update_fields=update_fields)
            return
        except IntegrityError:
            if not Class.objects.filter(join_code=school_class.join_code).exists():
                raise
    raise RuntimeError("could not find a free join code")


@transaction.atomic
def class_create(
    *, name: str, subject: str = "", grade: str = "", teachers, created_by: User
) -> Class:
    teachers = _check_teachers(teachers)
    school_class = Class(
        name=name.strip(), subject=subject.strip(), grade=grade.strip(), created_by=created_by
    )
    _unique_join_code(school_class)
    ClassTeacher.objects.bulk_create(
        [ClassTeacher(school_class=school_class, teacher=teacher) for teacher in teachers]
    )
    return school_class


@transaction.atomic
def class_update(
    *, school_class: Class, name: str, subject: str = "", grade: str = "", teachers=None
) -> Class:
    school_class.name = name.strip()
    school_class.subject = subject.strip()
    school_class.grade = grade.strip()
    school_class.save(update_fields=["name", "subject", "grade"])
    if teachers is not None:
        teachers = _check_teachers(teachers)
        wanted = {teacher.pk for teacher in teachers}
        ClassTeacher.objects.filter(school_class=school_class).exclude(
            teacher_id__in=wanted
        ).delete()
        ClassTeacher.objects.bulk_create(
            [ClassTeacher(school_class=school_class, teacher_id=pk) for pk in wanted],
            ignore_conflicts=True,
        )
    return school_class


def class_join_code_regenerate(*, school_class: Class) -> str:
    """Give the class a new join code; the old one stops working at once."""
    _unique_join_code(school_class)
    return school_class.join_code


def class_archive(*, school_class: Class) -> None:
    school_class.archive()


def class_restore(*, school_class: Class) -> None:
    school_class.restore()


# --- Enrollment ----------------------------------------------------------------------------------


def _students_only(students) -> list[User]:
    students = list(students)
    if any(student.role != Role.STUDENT for student in students):
        raise ValidationError(_("Only students can be enrolled in a class."))
    return students


def class_enroll_students(*, school_class: Class, students) -> int:
    """Enroll students (already enrolled ones are skipped); return how many were added."""
    students = _students_only(students)
    if school_class.is_archived:
        raise ValidationError(_("This class is archived. Restore it to enroll students."))
    before = Enrollment.objects.filter(school_class=school_class).count()
    Enrollment.objects.bulk_create(
        [Enrollment(school_class=school_class, student=student) for student in students],
        ignore_conflicts=True,
    )
    return Enrollment.objects.filter(school_class=school_class).count() - before


def class_unenroll_students(*, school_class: Class, students) -> int:
    """Remove students from the class (their accounts stay); return how many were removed."""
    deleted, _by_model = Enrollment.objects.filter(
        school_class=school_class, student__in=list(students)
    ).delete()
    return deleted


class JoinThrottled(Exception):
    pass


def class_join(*, student: User, code: str) -> tuple[Class, bool]:
    """Enroll `student` in the active class whose join code they typed.

    Returns the class and whether they were newly enrolled. Wrong codes are counted per student
    and refused for a while after JOIN_FAILURES_ALLOWED, so codes cannot be guessed by a script.
    """
    if student.role != Role.STUDENT:
        raise ValidationError(_("Only students join classes with a code."))
    failures_key = f"class-join-failures:{student.pk}"
    if (cache.get(failures_key) or 0) >= JOIN_FAILURES_ALLOWED:
        raise JoinThrottled
    school_class = Class.objects.active().filter(join_code=join_code_normalise(code)).first()
    if school_class is None:
        if not cache.add(failures_key, 1, timeout=JOIN_FAILURE_WINDOW_SECONDS):
            cache.incr(failures_key)
        raise ValidationError(
            {"code": _("No class has that code. Check it with your teacher and try again.")}
        )
    _enrollment, created = Enrollment.objects.get_or_create(
        school_class=school_class, student=student
    )
    return school_class, created


# --- Students and their passwords ----------------------------------------------------------------

# Temporary passwords: 8 characters from 31 letters and digits that cannot be mistaken for one
# another (no i/l/1, o/0), ~40 bits of randomness, printed on a slip the student types from.
TEMPORARY_PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
# Why a tenth of Django's PBKDF2 work factor for these, and why that is safe:
# - The work factor protects *human-chosen* passwords (~20-30 bits) against offline guessing.
#   These are machine-random with ~40 bits: at 100,000 iterations an attacker with a stolen hash
#   still needs ~2^39 * 1e5 PBKDF2 rounds per student, about two months of a high-end GPU at
#   today's hashcat speeds (~1e10 rounds/s).
# - Django stores the iteration count inside each hash and re-hashes at full strength on the
#   first successful sign-in (PBKDF2PasswordHasher.must_update), so the cheaper hash lives only
#   until the student first uses the slip.
# - It makes printing a class's slips take about a second (hashes run in threads: hashlib's
#   pbkdf2_hmac releases the GIL) instead of ~0.35 s per student, one after another.
# Roster imports do not hash at all: imported students get an unusable password until a teacher
# prints their slips, so importing 2,000 students takes seconds and no password is ever stored or
# shown that nobody asked for.
TEMPORARY_PASSWORD_ITERATIONS = 100_000


def student_accommodations_set(*, student: User, read_aloud: bool) -> bool:
    """Turn a student's accommodations on or off; True if anything changed."""
    if student.role != Role.STUDENT:
        raise ValidationError(_("Accommodations are for students."))
    profile, _created = StudentProfile.objects.get_or_create(user=student)
    if profile.read_aloud == read_aloud:
        return False
    profile.read_aloud = read_aloud
    profile.save(update_fields=["read_aloud"])
    return True


def temporary_password_generate() -> str:
    chars = "".join(secrets.choice(TEMPORARY_PASSWORD_ALPHABET) for _position in range(8))
    return f"{chars[:4]}-{chars[4:]}"


def _temporary_password_hash(password: str) -> str:
    hasher = get_hasher("default")
    if isinstance(hasher, PBKDF2PasswordHasher):
        iterations = min(hasher.iterations, TEMPORARY_PASSWORD_ITERATIONS)
        return hasher.encode(password, hasher.salt(), iterations=iterations)
    return make_password(password)  # another default hasher (tests: MD5): use it as configured


@dataclass(frozen=True)
class Credential:
    student: User
    password: str


def student_passwords_reset(*, students) -> list[Credential]:
    """Give each student a new temporary password; return them for printing (shown once).

    Changing the password also ends the student's open sessions (Django checks a hash of the
    password on every request).
    """
    students = _students_only(students)
    if len(students) > SLIPS_MAX_STUDENTS:
        raise ValidationError(
            _("Print at most %(max)s slips at a time.") % {"max": SLIPS_MAX_STUDENTS}
        )
    passwords = [temporary_password_generate() for _student in students]
    workers = max(1, min(len(students), os.cpu_count() or 1, 8))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        hashes = list(pool.map(_temporary_password_hash, passwords))
    for student, encoded in zip(students, hashes, strict=True):
        student.password = encoded
    User.objects.bulk_update(students, ["password"], batch_size=500)
    return [
        Credential(student, password) for student, password in zip(students, passwords, strict=True)
    ]


@transaction.atomic
def student_create(
    *,
    first_name: str,
    last_name: str,
    username: str = "",
    email: str = "",
    grade: str = "",
    school_class: Class | None = None,
) -> Credential:
    """Create a student (and enroll them); return their first password for the slip."""
    email = email.strip().lower()
    username = (username.strip() or email).lower()
    if not username:
        raise ValidationError({"username": _("Give a username or an email address.")})
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError(
            {
                "username": _(
                    "Someone at this school already has the username “%(username)s”. To add an "
                    "existing student, use “Enroll existing students”."
                )
                % {"username": username}
            }
        )
    assert_can_add_students(1)
    student = User(
        username=username,
        email=email,
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        role=Role.STUDENT,
    )
    password = temporary_password_generate()
    student.password = _temporary_password_hash(password)
    student.save()
    StudentProfile.objects.create(user=student, grade=grade.strip())
    if school_class is not None:
        class_enroll_students(school_class=school_class, students=[student])
    return Credential(student, password)


# --- Roster import -------------------------------------------------------------------------------


class RosterChanged(Exception):
    """The school changed between preview and confirm; the plan must be previewed again."""


def roster_import_create(
    *, school_class: Class, uploaded_by: User, data: bytes, filename: str, classes
) -> tuple[RosterImport | None, RosterPlan]:
    """Read and check an uploaded roster; keep it for confirmation only if it is valid.

    Raises RosterFileError when the file cannot be read at all.
    """
    text = roster_decode(data)
    plan = roster_plan(text=text, default_class=school_class, classes=classes)
    if not plan.is_valid:
        return None, plan
    RosterImport.objects.filter(
        applied_at__isnull=True, created__lt=timezone.now() - ROSTER_PREVIEW_MAX_AGE
    ).delete()
    roster_import = RosterImport.objects.create(
        school_class=school_class,
        uploaded_by=uploaded_by,
        filename=filename[:255],
        text=text,
        sha256=hashlib.sha256(text.encode()).hexdigest(),
    )
    return roster_import, plan


def roster_import_preview(*, roster_import: RosterImport, classes) -> RosterPlan:
    return roster_plan(
        text=roster_import.text, default_class=roster_import.school_class, classes=classes
    )


@transaction.atomic
def roster_import_apply(
    *, roster_import: RosterImport, expected_digest: str, classes
) -> RosterImport:
    """Apply exactly the previewed plan, all of it or nothing.

    Raises RosterChanged if the plan is no longer what was previewed (someone changed a student
    or a class meanwhile). Confirming twice applies once.
    """
    roster_import = RosterImport.objects.select_for_update().get(pk=roster_import.pk)
    if roster_import.applied_at is not None:
        return roster_import
    plan = roster_import_preview(roster_import=roster_import, classes=classes)
    if not plan.is_valid or plan.digest() != expected_digest:
        raise RosterChanged
    assert_can_add_students(sum(1 for row in plan.rows if row.action == CREATE))
    created, updated, enrolled = _roster_write(plan)
    roster_import.applied_at = timezone.now()
    roster_import.created_count = created
    roster_import.updated_count = updated
    roster_import.enrolled_count = enrolled
    roster_import.text = ""  # names are not kept longer than needed
    roster_import.save()
    return roster_import


def _roster_write(plan: RosterPlan) -> tuple[int, int, int]:
    """bulk_create/bulk_update the plan: a handful of queries whatever the number of rows."""
    first_rows: dict[str, RosterRow] = {}
    for row in plan.rows:  # a student on several lines (one per class) is written once
        first_rows.setdefault(row.username, row)
    new_users = {
        row.username: User(
            username=row.username,
            email=row.email or "",
            first_name=row.first_name,
            last_name=row.last_name,
            role=Role.STUDENT,
            password=make_password(None),  # unusable until a teacher prints the slips
        )
        for row in first_rows.values()
        if row.action == CREATE
    }
    User.objects.bulk_create(new_users.values(), batch_size=500)
    profiles_to_create = [
        StudentProfile(user=new_users[row.username], grade=row.grade)
        for row in first_rows.values()
        if row.action == CREATE
    ]
    to_update: list[User] = []
    regrade: dict[str, list[int]] = {}  # new grade -> students whose profile gets it
    for row in first_rows.values():
        if row.action != UPDATE:
            continue
        student = row.student
        if {"first_name", "last_name", "email"} & set(row.changes):
            student.first_name, student.last_name = row.first_name, row.last_name
            if row.email is not None:
                student.email = row.email
            to_update.append(student)
        if "grade" in row.changes:
            if getattr(student, "student_profile", None) is None:
                profiles_to_create.append(StudentProfile(user=student, grade=row.grade))
            else:
                regrade.setdefault(row.grade, []).append(student.pk)
    StudentProfile.objects.bulk_create(profiles_to_create, batch_size=500)
    # bulk_update writes a CASE WHEN per row and field (500 per batch measured fastest, see
    # bench/roster_import.py); grades move with one UPDATE per distinct grade instead.
    User.objects.bulk_update(to_update, ["first_name", "last_name", "email"], batch_size=500)
    for grade, student_ids in regrade.items():
        StudentProfile.objects.filter(user_id__in=student_ids).update(grade=grade)
    enrollments = [
        Enrollment(school_class=row.school_class, student=row.student or new_users[row.username])
        for row in plan.rows
        if row.enroll
    ]
    Enrollment.objects.bulk_create(enrollments, batch_size=1000, ignore_conflicts=True)
    updated = sum(1 for row in first_rows.values() if row.action == UPDATE)
    return len(new_users), updated, len(enrollments)
