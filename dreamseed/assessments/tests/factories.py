"""Builders for delivery tests: an item bank with real parameters, a class, a test, a window."""

from contextlib import contextmanager
from datetime import timedelta

import numpy as np
from django.db import connection
from django.utils import timezone

from dreamseed.assessments.models import Assessment, Assignment, ExamSession
from dreamseed.classes.models import Class
from dreamseed.itembank.models import BankRevision, Item, ItemStatus, ItemVersion
from dreamseed.privacy.models import AuditEvent
from dreamseed.testing import in_schema

KEYS = ["A", "B", "C", "D"]


def make_bank(*, n: int = 60, seed: int = 7, areas=("Algebra", "Arithmetic"), pilots: int = 0):
    """`n` active 3PL items with b spread over [-2.5, 2.5], plus `pilots` pilot items (b unknown).
    Every stem asks "what is i + 1?" and option B holds the answer."""
    rng = np.random.default_rng(seed)
    items = []
    for index in range(n + pilots):
        pilot = index >= n
        item = Item.objects.create(
            external_id=f"T{seed}-{index:04d}",
            status=ItemStatus.PILOT if pilot else ItemStatus.ACTIVE,
            subject="Math",
            grade="7",
            content_area=areas[index % len(areas)],
            model="3PL",
            a=float(rng.uniform(0.8, 2.0)),
            b=None if pilot else float(rng.uniform(-2.5, 2.5)),
            c=0.2,
            d=1.0,
        )
        version = ItemVersion.objects.create(
            item=item,
            number=1,
            stem=f"<p>Question {index}: what is {index} + 1?</p>",
            options=[{"key": key, "text": str(index + offset)} for offset, key in enumerate(KEYS)],
            correct_key=KEYS[1],  # index + 1
        )
        item.current_version = version
        item.save(update_fields=["current_version"])
        items.append(item)
    BankRevision.bump()
    return items


def make_class(*, teacher, students, name="Math 7"):
    school_class = Class.objects.create(name=name, subject="Math", grade="7", created_by=teacher)
    school_class.teachers.add(teacher)
    school_class.students.add(*students)
    return school_class


def make_assessment(*, author, **overrides):
    fields = {
        "name": "Fractions check-in",
        "subject": "Math",
        "min_items": 3,
        "max_items": 8,
        "exposure_control": "mfi",
        "created_by": author,
    }
    fields.update(overrides)
    return Assessment.objects.create(**fields)


def make_assignment(
    *, assessment, school_class, opens_in=timedelta(hours=-1), closes_in=timedelta(days=1), **extra
):
    now = timezone.now()
    return Assignment.objects.create(
        assessment=assessment,
        school_class=school_class,
        opens_at=now + opens_in,
        closes_at=now + closes_in,
        created_by=assessment.created_by,
        **extra,
    )


@contextmanager
def committed_open_test(personas, *, students, class_name, bank_size, seed, **assessment_options):
    """An open test in school alpha, committed (for the live server's threads), removed after.
    Use with the `committed_db` fixture."""
    alpha = personas["alpha_admin"]
    with in_schema(alpha.schema_name):
        connection.set_tenant(alpha.school)
        teacher = personas["alpha_teacher"].user
        items = make_bank(n=bank_size, seed=seed)
        school_class = make_class(
            teacher=teacher, students=[personas[key].user for key in students], name=class_name
        )
        assessment = make_assessment(author=teacher, **assessment_options)
        assignment = make_assignment(assessment=assessment, school_class=school_class)
        started = timezone.now()
    try:
        yield assignment
    finally:
        with in_schema(alpha.schema_name):
            # Staff pages opened in the browser were written to the audit log (committed).
            AuditEvent.objects.filter(created_at__gte=started).delete()
            ExamSession.objects.filter(assignment=assignment).delete()
            assignment.delete()
            assessment.delete()
            school_class.delete()
            Item.objects.filter(pk__in=[item.pk for item in items]).update(current_version=None)
            for item in items:
                item.versions.all().delete()
                item.delete()
