"""Teachers build test blueprints and assign them; bad settings get field errors."""

import pytest

from dreamseed.assessments.models import Assessment, Assignment
from dreamseed.testing import in_schema

VALID = {
    "name": "Unit 3 check",
    "estimator": "eap",
    "min_items": 5,
    "max_items": 20,
    "exposure_control": "randomesque",
    "randomesque_k": 5,
    "pilot_rate": 0,
    "scale_name": "Scale score",
    "scale_intercept": 200,
    "scale_slope": 10,
    "show_results_to_students": "on",
}


def test_teacher_creates_a_blueprint_with_content_targets(client_for, alpha_teacher, world):
    response = client_for(alpha_teacher).post(
        "/tests/new/", {**VALID, "content_targets_text": "Algebra: 60\nArithmetic: 40"}
    )
    assert response.status_code == 302
    with in_schema(world.school.schema_name):
        created = Assessment.objects.get(name="Unit 3 check")
        assert created.content_targets == {"Algebra": 0.6, "Arithmetic": 0.4}
        assert created.created_by_id == alpha_teacher.user_id


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"min_items": 30, "max_items": 10}, "min_items", "cannot be more than"),
        ({"max_items": 0}, "max_items", "between 1 and 200"),
        ({"se_target": 5}, "se_target", "between 0.05 and 2"),
        ({"pilot_rate": 0.9}, "pilot_rate", "between 0 and 0.5"),
        ({"scale_slope": 0}, "scale_slope", "cannot be zero"),
        (
            {"content_targets_text": "Algebra: 50\nArithmetic: 40"},
            "content_targets_text",
            "add up to 90%",
        ),
        (
            {"content_targets_text": "Poetry: 100"},
            "content_targets_text",
            "no active items in “Poetry”",
        ),
        ({"content_targets_text": "Algebra = 100"}, "content_targets_text", "Line 1"),
        ({"b_min": 1, "b_max": -1}, "b_max", "must be above"),
        ({"name": ""}, "name", "required"),
    ],
)
def test_bad_blueprints_get_field_errors(client_for, alpha_teacher, world, changes, field, message):
    response = client_for(alpha_teacher).post("/tests/new/", {**VALID, **changes})
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert field in errors and message in " ".join(errors[field]), errors
    with in_schema(world.school.schema_name):
        assert not Assessment.objects.filter(name=VALID["name"]).exists()


def test_assigning_to_a_class_creates_one_assignment_per_class(client_for, alpha_teacher, world):
    response = client_for(alpha_teacher).post(
        f"/tests/{world.assessment.pk}/",
        {
            "classes": [world.school_class.pk],
            "opens_at": "2026-12-01T08:00",
            "closes_at": "2026-12-02T08:00",
            "attempts_allowed": 2,
        },
    )
    assert response.status_code == 302
    with in_schema(world.school.schema_name):
        assert Assignment.objects.filter(assessment=world.assessment).count() == 2  # + the world's


def test_a_window_that_closes_before_it_opens_is_refused(client_for, alpha_teacher, world):
    response = client_for(alpha_teacher).post(
        f"/tests/{world.assessment.pk}/",
        {
            "classes": [world.school_class.pk],
            "opens_at": "2026-12-02T08:00",
            "closes_at": "2026-12-01T08:00",
            "attempts_allowed": 1,
        },
    )
    assert response.status_code == 400
    assert "must close after it opens" in response.text


def test_a_teacher_cannot_assign_to_a_class_they_do_not_teach(client_for, alpha_teacher2, world):
    response = client_for(alpha_teacher2).post(
        f"/tests/{world.assessment.pk}/",
        {
            "classes": [world.school_class.pk],
            "opens_at": "2026-12-01T08:00",
            "closes_at": "2026-12-02T08:00",
            "attempts_allowed": 1,
        },
    )
    assert response.status_code == 400
    assert "classes" in response.context["form"].errors


def test_detail_page_warns_when_the_pool_is_empty(client_for, alpha_teacher, world):
    with in_schema(world.school.schema_name):
        world.assessment.subject = "History"
        world.assessment.save()
    response = client_for(alpha_teacher).get(f"/tests/{world.assessment.pk}/")
    assert response.context["pool_size"] == 0 and "cannot start it yet" in response.text


def test_a_student_cannot_start_a_test_with_an_empty_pool(client_for, alpha_student, world):
    with in_schema(world.school.schema_name):
        world.assessment.subject = "History"
        world.assessment.save()
    response = client_for(alpha_student).post(f"/tests/take/{world.assignment.pk}/", follow=True)
    assert "no questions yet" in response.text
