"""The test page offers "Read aloud" to the students who have the accommodation, and only to them,
at no extra query (the flag comes with the session's one read)."""

from django.db import connection

from dreamseed.classes.models import StudentProfile
from dreamseed.testing import in_schema


def _start(client, world) -> int:
    response = client.post(f"/tests/take/{world.assignment.pk}/")
    assert response.status_code == 302, response
    return int(response["Location"].rstrip("/").split("/")[-1])


def _set_read_aloud(persona, on: bool) -> None:
    with in_schema(persona.schema_name):
        StudentProfile.objects.update_or_create(
            user_id=persona.user_id, defaults={"read_aloud": on}
        )


def test_only_a_student_with_the_accommodation_gets_the_button(
    client_for, alpha_student, alpha_student2, world
):
    _set_read_aloud(alpha_student, True)
    sam = client_for(alpha_student)
    page = sam.get(f"/tests/session/{_start(sam, world)}/")
    assert "data-read-aloud-toggle" in page.text and "js/read-aloud" in page.text
    assert 'aria-keyshortcuts="Alt+R"' in page.text
    assert "Alt+R (Option+R on a Mac) reads the question aloud or stops." in page.text

    connection.set_tenant(world.school)
    sara = client_for(alpha_student2)
    page = sara.get(f"/tests/session/{_start(sara, world)}/")
    assert page.status_code == 200
    assert "data-read-aloud" not in page.text and "read-aloud.js" not in page.text


def test_turning_it_off_removes_the_button_on_the_next_page(client_for, alpha_student, world):
    _set_read_aloud(alpha_student, True)
    client = client_for(alpha_student)
    url = f"/tests/session/{_start(client, world)}/"
    assert "data-read-aloud-toggle" in client.get(url).text
    _set_read_aloud(alpha_student, False)
    assert "data-read-aloud-toggle" not in client.get(url).text


def test_the_question_page_still_runs_two_queries_with_read_aloud(
    client_for, alpha_student, world, django_assert_num_queries, settings
):
    from dreamseed.assessments.pools import assessment_at, pool_for, version_for_display

    _set_read_aloud(alpha_student, True)
    settings.TENANT_HOST_CACHE_SECONDS = 30
    client = client_for(alpha_student)
    client.get("/")  # warms the school host cache
    connection.set_tenant(world.school)
    for version_id in pool_for(world.assessment).version_ids:
        version_for_display(int(version_id))
    assessment_at(world.assessment.pk, world.assessment.updated)
    session_id = _start(client, world)
    with django_assert_num_queries(2):
        page = client.get(f"/tests/session/{session_id}/")
    assert "data-read-aloud-toggle" in page.text
