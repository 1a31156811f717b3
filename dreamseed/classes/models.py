"""Classes of a school: who teaches them, who is enrolled, how students join, and roster imports.

A student's grade lives on `StudentProfile` (one row per student), not on `Enrollment`: a student
in three classes is still in one grade, and the roster CSV says which. Class names are not unique
(two teachers may both have "Math 5"); the join code is what identifies a class to a student.
"""

import secrets
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from dreamseed.accounts.models import Role

# No 0/O, 1/I/L: a child copying the code off the board cannot confuse them.
JOIN_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
JOIN_CODE_LENGTH = 6  # 31**6 ~ 887 million codes; failed guesses are throttled per student


def join_code_generate() -> str:
    return "".join(secrets.choice(JOIN_CODE_ALPHABET) for _ in range(JOIN_CODE_LENGTH))


def join_code_normalise(raw: str) -> str:
    """What the student typed, as stored: upper case, no spaces or dashes."""
    return "".join(ch for ch in (raw or "").upper() if ch.isalnum())


class ClassQuerySet(models.QuerySet):
    def active(self):
        return self.filter(archived_at__isnull=True)

    def taught_by(self, user):
        return self.filter(teachers=user)


class Class(models.Model):
    name = models.CharField(_("name"), max_length=120)
    subject = models.CharField(_("subject"), max_length=80, blank=True)
    grade = models.CharField(_("grade"), max_length=20, blank=True)
    join_code = models.CharField(
        _("join code"), max_length=12, unique=True, default=join_code_generate
    )
    teachers = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        through="ClassTeacher",
        related_name="taught_classes",
        verbose_name=_("teachers"),
    )
    students = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        through="Enrollment",
        related_name="enrolled_classes",
        verbose_name=_("students"),
    )
    archived_at = models.DateTimeField(_("archived"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created = models.DateTimeField(_("created"), auto_now_add=True)

    objects = ClassQuerySet.as_manager()

    class Meta:
        ordering = ["name", "pk"]
        verbose_name = _("class")
        verbose_name_plural = _("classes")

    def __str__(self) -> str:
        return self.name

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None

    def archive(self) -> None:
        if self.archived_at is None:
            self.archived_at = timezone.now()
            self.save(update_fields=["archived_at"])

    def restore(self) -> None:
        if self.archived_at is not None:
            self.archived_at = None
            self.save(update_fields=["archived_at"])


class ClassTeacher(models.Model):
    """A teacher (or co-teacher) of a class."""

    # No index of its own: classes_one_link_per_teacher starts with this column.
    school_class = models.ForeignKey(
        Class,
        on_delete=models.CASCADE,
        related_name="teacher_links",
        verbose_name=_("class"),
        db_index=False,
    )
    teacher = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="class_links",
        verbose_name=_("teacher"),
    )
    added = models.DateTimeField(_("added"), auto_now_add=True)

    class Meta:
        verbose_name = _("class teacher")
        verbose_name_plural = _("class teachers")
        constraints = [
            models.UniqueConstraint(
                fields=["school_class", "teacher"], name="classes_one_link_per_teacher"
            )
        ]

    def __str__(self) -> str:
        return f"{self.teacher} · {self.school_class}"


class Enrollment(models.Model):
    # No index of its own: classes_enrolled_once starts with this column.
    school_class = models.ForeignKey(
        Class,
        on_delete=models.CASCADE,
        related_name="enrollments",
        verbose_name=_("class"),
        db_index=False,
    )
    student = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="enrollments",
        limit_choices_to={"role": Role.STUDENT},
        verbose_name=_("student"),
    )
    created = models.DateTimeField(_("enrolled"), auto_now_add=True)

    class Meta:
        ordering = ["pk"]
        verbose_name = _("enrollment")
        verbose_name_plural = _("enrollments")
        constraints = [
            models.UniqueConstraint(
                fields=["school_class", "student"], name="classes_enrolled_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.student} · {self.school_class}"


class StudentProfile(models.Model):
    """What a school knows about a student beyond the account: their grade, and the
    accommodations their teachers turned on."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="student_profile",
        verbose_name=_("student"),
    )
    grade = models.CharField(_("grade"), max_length=20, blank=True)
    # The test page offers a "Read aloud" button (the browser's speech synthesis).
    read_aloud = models.BooleanField(_("read aloud"), default=False, db_default=False)

    class Meta:
        verbose_name = _("student profile")
        verbose_name_plural = _("student profiles")

    def __str__(self) -> str:
        return str(self.user)


class RosterImport(models.Model):
    """An uploaded roster CSV between its preview and its confirmation.

    The confirm step re-reads exactly this text (and checks the plan is still the one that was
    previewed), so what is applied is what the teacher saw. The text holds students' names and is
    cleared once applied; unconfirmed uploads are deleted after a day.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    school_class = models.ForeignKey(
        Class, on_delete=models.CASCADE, related_name="roster_imports", verbose_name=_("class")
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    filename = models.CharField(_("file name"), max_length=255, blank=True)
    text = models.TextField(blank=True)
    sha256 = models.CharField(max_length=64)
    created = models.DateTimeField(auto_now_add=True)
    applied_at = models.DateTimeField(null=True, blank=True)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    enrolled_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created"]
        verbose_name = _("roster import")
        verbose_name_plural = _("roster imports")

    def __str__(self) -> str:
        return self.filename or str(self.pk)
