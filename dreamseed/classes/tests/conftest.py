"""Classes for the personas: alpha_teacher teaches "Math 5A" (alpha_student enrolled),
alpha_teacher2 teaches "Art 5B" (alpha_student2 enrolled), beta_teacher teaches "Beta Science"
(beta_student enrolled). Created inside each test's transaction."""

import pytest

from dreamseed.testing import in_schema


def make_class(persona, name, *, students=(), subject="", grade="5", teachers=None):
    from dreamseed.classes.services import class_create, class_enroll_students

    with in_schema(persona.schema_name):
        school_class = class_create(
            name=name,
            subject=subject,
            grade=grade,
            teachers=[t.user for t in (teachers or [persona])],
            created_by=persona.user,
        )
        if students:
            class_enroll_students(
                school_class=school_class, students=[student.user for student in students]
            )
    return school_class


def make_students(persona, count, *, prefix="pupil", school_class=None):
    """`count` students with profiles, created in bulk (and enrolled in `school_class`)."""
    from dreamseed.accounts.models import Role, User
    from dreamseed.classes.models import Enrollment, StudentProfile

    with in_schema(persona.schema_name):
        users = User.objects.bulk_create(
            [
                User(
                    username=f"{prefix}{index:03d}",
                    first_name=f"First{index:03d}",
                    last_name=f"Last{index:03d}",
                    role=Role.STUDENT,
                    password="!unusable",
                )
                for index in range(count)
            ]
        )
        StudentProfile.objects.bulk_create(
            [
                StudentProfile(user=user, grade=str(5 + index % 2))
                for index, user in enumerate(users)
            ]
        )
        if school_class is not None:
            Enrollment.objects.bulk_create(
                [Enrollment(school_class=school_class, student=user) for user in users]
            )
    return users


@pytest.fixture
def math_class(alpha_teacher, alpha_student):
    return make_class(alpha_teacher, "Math 5A", subject="Math", students=[alpha_student])


@pytest.fixture
def art_class(alpha_teacher2, alpha_student2):
    return make_class(alpha_teacher2, "Art 5B", subject="Art", students=[alpha_student2])


@pytest.fixture
def beta_class(beta_teacher, beta_student):
    return make_class(beta_teacher, "Beta Science", subject="Science", students=[beta_student])


@pytest.fixture
def history(alpha_teacher, alpha_student, alpha_student2):
    """The hand-checkable results history of `history.py` (class "Math 5A", sam, sara, uma, nora)."""
    from dreamseed.classes.tests.history import make_history

    with in_schema(alpha_teacher.schema_name):
        return make_history(
            teacher=alpha_teacher.user, sam=alpha_student.user, sara=alpha_student2.user
        )
