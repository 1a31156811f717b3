"""Item bank test helpers: items made with the ORM, and synthetic test sessions whose answers
follow known item parameters (for statistics and calibration).

`simulate_sessions` builds what the delivery code would have left behind, straight with the ORM:
an Assessment, a class and an Assignment, a few students, ExamSessions and their Attempts, in a
handful of bulk inserts.
"""

from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

from dreamseed.testing import in_schema

FORMULA_STEM = "What is $\\frac{3}{4}$ of $12$?"


def version_of(values):
    """An unsaved ItemVersion holding validated values (ItemValues), to mark responses with."""
    from dreamseed.itembank.models import ItemVersion

    return ItemVersion(
        stem=values.stem,
        options=values.options_json,
        correct_key=values.correct_key,
        kind=values.kind,
        answer=values.answer_json,
    )


def item_form_data(**overrides) -> dict:
    """What the editor posts for a valid, calibrated 3PL item."""
    data = {
        "stem": FORMULA_STEM,
        "option_a": "9",
        "option_b": "$\\frac{12}{4}$",
        "option_c": "16",
        "option_d": "",
        "option_e": "",
        "option_f": "",
        "correct_key": "A",
        "status": "active",
        "subject": "Mathematics",
        "grade": "5",
        "content_area": "Fractions",
        "standards": "5.NF.B.4, fraction-of-number",
        "model": "3PL",
        "a": "1.2",
        "b": "-0.3",
        "c": "0.2",
        "d": "1",
    }
    data.update(overrides)
    return data


def make_item(
    persona, *, external_id=None, stem="<p>What is 2 + 2?</p>", options=None, key="B", **fields
):
    """One item with a first version, in `persona`'s school."""
    from dreamseed.itembank.models import Item, ItemVersion

    defaults = {"status": "active", "subject": "Mathematics", "grade": "3", "b": 0.0, "c": 0.2}
    defaults.update(fields)
    with in_schema(persona.schema_name):
        item = Item.objects.create(external_id=external_id or "", **defaults)
        version = ItemVersion.objects.create(
            item=item,
            number=1,
            stem=stem,
            options=options
            or [
                {"key": "A", "text": "3"},
                {"key": "B", "text": "4"},
                {"key": "C", "text": "5"},
                {"key": "D", "text": "22"},
            ],
            correct_key=key,
        )
        item.current_version = version
        item.save(update_fields=["current_version"])
    return item


def make_bank(persona, params, *, prefix="T", status="active", model="3PL", content_area=""):
    """Items with the given (a, b, c, d) rows, created in bulk; b may be NaN (unknown)."""
    from dreamseed.itembank.models import Item, ItemVersion
    from dreamseed.itembank.services import _point_at_latest_versions

    with in_schema(persona.schema_name):
        items = Item.objects.bulk_create(
            [
                Item(
                    external_id=f"{prefix}-{index:04d}",
                    status=status,
                    model=model,
                    content_area=content_area,
                    a=float(a),
                    b=None if np.isnan(b) else float(b),
                    c=float(c),
                    d=float(d),
                )
                for index, (a, b, c, d) in enumerate(params)
            ]
        )
        ItemVersion.objects.bulk_create(
            [
                ItemVersion(
                    item=item,
                    number=1,
                    stem=f"<p>Question {item.external_id}</p>",
                    options=[{"key": k, "text": k.lower()} for k in "ABCD"],
                    correct_key="A",
                )
                for item in items
            ]
        )
        _point_at_latest_versions([item.pk for item in items])
        for item in items:
            item.refresh_from_db(fields=["current_version"])
    return items


@dataclass
class Simulated:
    sessions: list
    theta: np.ndarray
    answers: dict  # (session pk, item pk) -> 0/1


def simulate_sessions(
    persona,
    *,
    items,
    true_params,
    n_sessions: int,
    per_session: int,
    pilot_items=(),
    pilot_true_params=None,
    pilots_per_session: int = 0,
    theta_mean: float = 0.0,
    theta_sd: float = 1.0,
    seed: int = 0,
    days_ago: float = 1.0,
):
    """Finished sessions whose answers follow `true_params` (rows of (a, b, c, d) per item).

    Each session answers `per_session` random `items` and `pilots_per_session` random
    `pilot_items` (recorded as unscored pilot attempts). Attempts carry the bank parameters
    used to score them and the ability estimate before each item (here: the true ability plus
    noise, like a CAT's running estimate).
    """
    from dreamseed.accounts.models import Role, User
    from dreamseed.assessments.models import Assessment, Assignment, Attempt, ExamSession
    from dreamseed.cat import probability
    from dreamseed.classes.models import Class

    rng = np.random.default_rng(seed)
    theta = rng.normal(theta_mean, theta_sd, n_sessions)
    true_params = np.asarray(true_params, dtype=float)
    pilot_true = np.asarray(pilot_true_params if pilot_true_params is not None else [], dtype=float)
    now = timezone.now() - timedelta(days=days_ago)
    with in_schema(persona.schema_name):
        assessment = Assessment.objects.create(name=f"Sim {seed}")
        school_class = Class.objects.create(name=f"Sim class {seed}")
        assignment = Assignment.objects.create(
            assessment=assessment,
            school_class=school_class,
            opens_at=now - timedelta(days=30),
            closes_at=now + timedelta(days=30),
        )
        students = User.objects.bulk_create(
            [
                User(username=f"sim{seed}-{index}", role=Role.STUDENT, password="!")
                for index in range(10)
            ]
        )
        sessions = ExamSession.objects.bulk_create(
            [
                ExamSession(
                    assignment=assignment,
                    student=students[index % 10],
                    attempt_number=index // 10 + 1,
                    status="completed",
                    theta=float(theta[index]),
                    started_at=now,
                    ended_at=now,
                )
                for index in range(n_sessions)
            ]
        )
        attempts, answers = [], {}
        for index, session in enumerate(sessions):
            chosen = rng.choice(len(items), size=per_session, replace=False)
            chosen_pilots = (
                rng.choice(len(pilot_items), size=pilots_per_session, replace=False)
                if pilots_per_session
                else []
            )
            schedule = [(items[i], true_params[i], False) for i in chosen] + [
                (pilot_items[i], pilot_true[i], True) for i in chosen_pilots
            ]
            for position, (item, params, is_pilot) in enumerate(schedule, start=1):
                p = float(probability(theta[index], np.asarray([params]))[0])
                correct = int(rng.random() < p)
                answers[(session.pk, item.pk)] = correct
                attempts.append(
                    Attempt(
                        session=session,
                        position=position,
                        item=item,
                        item_version_id=item.current_version_id,
                        is_pilot=is_pilot,
                        selected_choice="A" if correct else "B",
                        correct=bool(correct),
                        response_time_ms=int(rng.integers(3000, 30000)),
                        a=item.a,
                        b=item.b,
                        c=item.c,
                        d=item.d,
                        theta_before=float(theta[index] + rng.normal(0, 0.3)),
                        theta_after=float(theta[index]),
                    )
                )
        Attempt.objects.bulk_create(attempts, batch_size=5000)
        Attempt.objects.filter(session__in=sessions).update(created=now)
    return Simulated(sessions=sessions, theta=theta, answers=answers)


@pytest.fixture
def item(alpha_teacher):
    return make_item(alpha_teacher, external_id="ALPHA-1", stem="<p>Alpha secret question</p>")
