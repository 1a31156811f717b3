"""Demo tests for the demo school: an open placement test for every class, and finished sittings
by most students (answering as a student of a known ability would), so results pages, charts and
reports show something real. Idempotent."""

from datetime import timedelta

import numpy as np
from django.db import transaction
from django.utils import timezone

from dreamseed.accounts.models import Role, User
from dreamseed.assessments.models import Assessment, Assignment, ExamSession
from dreamseed.assessments.services import session_answer, session_start
from dreamseed.cat import probability
from dreamseed.classes.models import Class
from dreamseed.itembank.models import Item

DEMO_TEST = "Math placement (demo)"


@transaction.atomic
def demo_assessments_seed(*, finished_share: float = 0.7, seed: int = 2026) -> int:
    """Create the demo test and its sittings; returns the number of sittings created."""
    author = User.objects.filter(role=Role.TEACHER).order_by("pk").first()
    if author is None or not Item.objects.filter(status="active").exists():
        return 0
    assessment, created = Assessment.objects.get_or_create(
        name=DEMO_TEST,
        defaults={
            "instructions": "Answer each question as well as you can. It adapts to you.",
            "min_items": 8,
            "max_items": 15,
            "se_target": 0.35,
            "exposure_control": "randomesque",
            "time_limit_minutes": 30,
            "pilot_rate": 0.1,
            "created_by": author,
        },
    )
    now = timezone.now()
    classes = Class.objects.filter(archived_at__isnull=True)
    if classes.filter(subject__iexact="Math").exists():
        classes = classes.filter(subject__iexact="Math")  # a math test for the math classes
    for school_class in classes:
        Assignment.objects.get_or_create(
            assessment=assessment,
            school_class=school_class,
            defaults={
                "opens_at": now - timedelta(days=7),
                "closes_at": now + timedelta(days=30),
                "attempts_allowed": 2,
                "created_by": author,
            },
        )
    if not created:
        return 0
    rng = np.random.default_rng(seed)
    sittings = 0
    for assignment in assessment.assignments.select_related("school_class"):
        for student in assignment.school_class.students.order_by("pk"):
            if ExamSession.objects.filter(assignment=assignment, student=student).exists():
                continue
            if rng.random() > finished_share:
                continue
            _simulate(assignment, student, theta=float(rng.normal(0, 1)), rng=rng, now=now)
            sittings += 1
    return sittings


def _simulate(assignment, student, *, theta, rng, now) -> None:
    """Take the test as a student of ability `theta` would, a few days ago."""
    started = now - timedelta(days=int(rng.integers(1, 6)), minutes=int(rng.integers(0, 600)))
    session = session_start(assignment=assignment, student=student, now=started)
    clock = started
    while not session.is_finished:
        item = Item.objects.get(pk=session.pending_item_id)
        b = item.b if item.b is not None else float(rng.normal(0, 1))
        p_correct = float(probability(theta, np.array([[item.a, b, item.c, item.d]]))[0])
        version = session.pending_version
        correct = rng.random() < p_correct
        wrong = [key for key in version.option_keys if key != version.correct_key]
        choice = version.correct_key if correct else str(rng.choice(wrong))
        seconds = float(rng.uniform(8, 60))
        clock += timedelta(seconds=seconds)
        session = session_answer(
            session_id=session.pk, student=student, item_id=item.pk, choice=choice,
            response_time_ms=int(seconds * 1000), now=clock,
        ).session  # fmt: skip
