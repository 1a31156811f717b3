"""A small, hand-checkable history of results for class "Math 5A" (alpha_teacher), built directly
as rows (no engine), so every number on the results pages can be computed by hand:

Items: a = 1, b = 0, c = 0, d = 1, so P(correct) at theta is 1 / (1 + exp(-theta)).
Tests: "Fall check" (assigned 60 days ago, closed 30 days ago) and "Winter check" (open now), both
on the default scale (score = 200 + 10 * theta), one attempt allowed each.

- sam:  Fall: theta 0.0, se 0.3 (200); answers Algebra 3/4, Geometry 1/4.
        Winter: theta 1.0, se 0.3 (210); answers Algebra 2/2, Geometry 0/2, plus a correct
        Geometry *pilot* item that must not count anywhere.
- sara: Fall: theta -0.5, se 0.4 (195); Algebra 2/4, Geometry 2/4.
        Winter: theta -0.2, se 0.4 (198); Algebra 1/2.
- uma:  Winter started, not finished (one correct Algebra answer that must not count).
- nora: enrolled, never started a test.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from dreamseed.assessments.models import Assessment, Assignment, Attempt, ExamSession
from dreamseed.classes.models import Class
from dreamseed.itembank.models import Item, ItemStatus, ItemVersion

KEYS = ["A", "B", "C", "D"]


@dataclass
class History:
    school_class: Class
    fall: Assignment
    winter: Assignment
    sam: object
    sara: object
    uma: object
    nora: object
    sessions: dict
    items: list


def _item(external_id: str, area: str, *, pilot: bool = False) -> Item:
    item = Item.objects.create(
        external_id=external_id,
        status=ItemStatus.PILOT if pilot else ItemStatus.ACTIVE,
        subject="Math",
        content_area=area,
        model="2PL",
        a=1.0,
        b=None if pilot else 0.0,
        c=0.0,
        d=1.0,
    )
    item.current_version = ItemVersion.objects.create(
        item=item,
        number=1,
        stem=f"<p>{area} question {external_id}: <b>what is</b> the answer to this long question "
        "about shapes and numbers?</p>",
        options=[{"key": key, "text": key} for key in KEYS],
        correct_key="B",
    )
    item.save(update_fields=["current_version"])
    return item


def _sitting(assignment, student, *, theta, se, ended, answers, status="completed", items):
    """`answers`: a list of (area, correct, pilot)."""
    finished = status in ("completed", "timed_out")
    session = ExamSession.objects.create(
        assignment=assignment,
        student=student,
        status=status,
        theta=theta,
        standard_error=se,
        score=assignment.assessment.scale_score(theta),
        n_items=sum(1 for _area, _correct, pilot in answers if not pilot),
        started_at=ended - timedelta(minutes=20),
        ended_at=ended if finished else None,
    )
    used: dict[str, int] = {}
    for position, (area, correct, pilot) in enumerate(answers, start=1):
        pool = items[(area, pilot)]
        item = pool[used.get((area, pilot), 0)]
        used[(area, pilot)] = used.get((area, pilot), 0) + 1
        Attempt.objects.create(
            session=session,
            position=position,
            item=item,
            item_version=item.current_version,
            is_pilot=pilot,
            selected_choice="B" if correct else "A",
            correct=correct,
            response_time_ms=10_000,
            a=1.0,
            b=None if pilot else 0.0,
            c=0.0,
            d=1.0,
            theta_after=theta,
            se_after=se,
        )
    return session


def make_history(*, teacher, sam, sara, show_results=True) -> History:
    from dreamseed.accounts.models import Role, User

    now = timezone.now()
    uma = User.objects.create_user(
        username="uma", first_name="Uma", last_name="Unfinished", role=Role.STUDENT
    )
    nora = User.objects.create_user(
        username="nora", first_name="Nora", last_name="Nosittings", role=Role.STUDENT
    )
    school_class = Class.objects.create(name="Math 5A", subject="Math", grade="5")
    school_class.teachers.add(teacher)
    school_class.students.add(sam, sara, uma, nora)
    items = {
        (area, False): [_item(f"{area[:3].upper()}-{n}", area) for n in range(6)]
        for area in ("Algebra", "Geometry")
    }
    items[("Geometry", True)] = [_item("PILOT-1", "Geometry", pilot=True)]
    fall_test = Assessment.objects.create(
        name="Fall check", created_by=teacher, show_results_to_students=show_results
    )
    winter_test = Assessment.objects.create(
        name="Winter check", created_by=teacher, show_results_to_students=show_results
    )
    fall = Assignment.objects.create(
        assessment=fall_test,
        school_class=school_class,
        opens_at=now - timedelta(days=60),
        closes_at=now - timedelta(days=30),
    )
    winter = Assignment.objects.create(
        assessment=winter_test,
        school_class=school_class,
        opens_at=now - timedelta(days=1),
        closes_at=now + timedelta(days=6),
    )
    algebra, geometry = "Algebra", "Geometry"
    sessions = {
        "sam_fall": _sitting(
            fall, sam, theta=0.0, se=0.3, ended=now - timedelta(days=40), items=items,
            answers=[(algebra, True, False)] * 3 + [(algebra, False, False)]
            + [(geometry, True, False)] + [(geometry, False, False)] * 3,
        ),
        "sam_winter": _sitting(
            winter, sam, theta=1.0, se=0.3, ended=now - timedelta(hours=1), items=items,
            answers=[(algebra, True, False)] * 2 + [(geometry, False, False)] * 2
            + [(geometry, True, True)],
        ),
        "sara_fall": _sitting(
            fall, sara, theta=-0.5, se=0.4, ended=now - timedelta(days=39), items=items,
            answers=[(algebra, True, False)] * 2 + [(algebra, False, False)] * 2
            + [(geometry, True, False)] * 2 + [(geometry, False, False)] * 2,
        ),
        "sara_winter": _sitting(
            winter, sara, theta=-0.2, se=0.4, ended=now - timedelta(hours=2), items=items,
            answers=[(algebra, True, False), (algebra, False, False)],
        ),
        "uma_winter": _sitting(
            winter, uma, theta=0.4, se=0.8, ended=now - timedelta(minutes=5), items=items,
            status="in_progress", answers=[(algebra, True, False)],
        ),
    }  # fmt: skip
    every_item = [item for pool in items.values() for item in pool]
    return History(school_class, fall, winter, sam, sara, uma, nora, sessions, every_item)
