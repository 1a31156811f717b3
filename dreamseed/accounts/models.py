"""People: one user model per schema. In a school: admins, teachers and students; in the public
schema: the platform operators."""

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    ADMIN = "admin", _("School administrator")
    TEACHER = "teacher", _("Teacher")
    STUDENT = "student", _("Student")


STAFF_ROLES = (Role.ADMIN, Role.TEACHER)


class User(AbstractUser):
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.STUDENT)
    # Students often have no email; usernames are what they type.
    email = models.EmailField(_("email address"), blank=True)
    invitation_sent_at = models.DateTimeField(_("invitation sent"), null=True, blank=True)
    # Who added this staff account (a name snapshot, like the audit log's: it still says who after
    # that account is gone, and adds no self-reference to the user table).
    invited_by = models.CharField(
        _("invited by"), max_length=150, blank=True, default="", db_default=""
    )

    objects = UserManager()

    class Meta:
        ordering = ["last_name", "first_name", "username"]
        verbose_name = _("user")
        verbose_name_plural = _("users")
        indexes = [models.Index(fields=["role", "is_active"])]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    @property
    def is_school_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def is_teacher(self) -> bool:
        return self.role == Role.TEACHER

    @property
    def is_student(self) -> bool:
        return self.role == Role.STUDENT

    @property
    def is_staff_member(self) -> bool:
        """School staff (admin or teacher), not Django's is_staff (operator admin access)."""
        return self.role in STAFF_ROLES
