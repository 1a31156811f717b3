"""Who may use each test page: the class's teacher and school admins; never a teacher of another
class, a student on staff pages, another student's session, or anyone from another school."""

import pytest
from django.db import connection

from dreamseed.assessments.models import ExamSession
from dreamseed.assessments.services import session_answer, session_start
from dreamseed.testing import in_schema


@pytest.fixture
def finished_session(world):
    connection.set_tenant(world.school)
    session = session_start(assignment=world.assignment, student=world.students[0])
    while not session.is_finished:
        session = session_answer(
            session_id=session.pk, student=world.students[0], item_id=session.pending_item_id,
            choice="B", response_time_ms=1500,
        ).session  # fmt: skip
    connection.set_schema_to_public()
    return session


def staff_urls(world, session):
    a, g = world.assessment.pk, world.assignment.pk
    return [
        "/tests/",
        "/tests/new/",
        f"/tests/{a}/",
        f"/tests/{a}/edit/",
        f"/tests/assignments/{g}/",
        f"/tests/assignments/{g}/progress/",
        f"/tests/assignments/{g}/results/",
        f"/tests/assignments/{g}/results.csv",
        f"/tests/sessions/{session.pk}/",
    ]


def test_the_classes_teacher_and_the_admin_see_every_staff_page(
    client_for, alpha_teacher, alpha_admin, world, finished_session
):
    for persona in (alpha_teacher, alpha_admin):
        client = client_for(persona)
        for url in staff_urls(world, finished_session):
            assert client.get(url).status_code == 200, (persona.key, url)


def test_students_get_403_on_staff_pages(client_for, alpha_student, world, finished_session):
    client = client_for(alpha_student)
    for url in staff_urls(world, finished_session):
        assert client.get(url).status_code == 403, url


def test_a_teacher_of_another_class_cannot_see_this_classes_progress_or_results(
    client_for, alpha_teacher2, world, finished_session
):
    client = client_for(alpha_teacher2)
    g = world.assignment.pk
    for url in [
        f"/tests/assignments/{g}/",
        f"/tests/assignments/{g}/progress/",
        f"/tests/assignments/{g}/results/",
        f"/tests/assignments/{g}/results.csv",
        f"/tests/sessions/{finished_session.pk}/",
    ]:
        assert client.get(url).status_code == 404, url
    for action in ("pause", "resume", "reset"):
        assert client.post(f"/tests/sessions/{finished_session.pk}/{action}/").status_code == 404
    # They may read the shared blueprint but not edit someone else's.
    assert client.get(f"/tests/{world.assessment.pk}/").status_code == 200
    assert client.get(f"/tests/{world.assessment.pk}/edit/").status_code == 403
    assert client.post(f"/tests/{world.assessment.pk}/archive/").status_code == 403


def test_another_schools_staff_get_404_for_every_id(
    client_for, beta_teacher, beta_admin, world, finished_session
):
    for persona in (beta_teacher, beta_admin):
        client = client_for(persona)
        for url in staff_urls(world, finished_session)[2:]:
            response = client.get(url)
            assert response.status_code == 404, (persona.key, url)
        reset = client.post(f"/tests/sessions/{finished_session.pk}/reset/")
        assert reset.status_code == 404
    with in_schema(world.school.schema_name):
        assert ExamSession.objects.filter(pk=finished_session.pk).exists()


def test_anonymous_visitors_are_sent_to_sign_in(client_for, world, finished_session):
    client = client_for(host="alpha.localhost")
    for url in [
        *staff_urls(world, finished_session),
        "/tests/mine/",
        f"/tests/session/{finished_session.pk}/",
    ]:
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], url


def test_a_student_sees_only_their_own_session(client_for, alpha_student2, world, finished_session):
    client = client_for(alpha_student2)
    assert client.get(f"/tests/session/{finished_session.pk}/").status_code == 404
    assert client.get(f"/tests/session/{finished_session.pk}/result/").status_code == 404
    response = client.post(f"/tests/session/{finished_session.pk}/", {"item": 1, "choice": "B"})
    assert response.status_code == 404


def test_a_student_of_another_school_gets_404(client_for, beta_student, world, finished_session):
    client = client_for(beta_student)
    assert client.get(f"/tests/take/{world.assignment.pk}/").status_code == 404
    assert client.get(f"/tests/session/{finished_session.pk}/result/").status_code == 404


def test_staff_cannot_take_tests(client_for, alpha_teacher, world):
    assert client_for(alpha_teacher).get(f"/tests/take/{world.assignment.pk}/").status_code == 403
    assert client_for(alpha_teacher).get("/tests/mine/").status_code == 403


def test_a_student_not_in_the_class_cannot_start(client_for, personas, world):
    from dreamseed.accounts.models import User

    with in_schema(world.school.schema_name):
        outsider = User.objects.create_user(username="outsider", password="x", role="student")
    client = client_for(personas["alpha_student"])  # enrolled: fine
    assert client.get(f"/tests/take/{world.assignment.pk}/").status_code == 200
    from dreamseed.testing import school_client

    other = school_client("alpha.localhost")
    with in_schema(world.school.schema_name):
        other.force_login(outsider, backend="dreamseed.accounts.backends.AccountBackend")
    assert other.get(f"/tests/take/{world.assignment.pk}/").status_code == 404
    assert other.post(f"/tests/take/{world.assignment.pk}/").status_code == 404


def test_results_page_and_csv_show_the_finished_student(
    client_for, alpha_teacher, world, finished_session
):
    client = client_for(alpha_teacher)
    page = client.get(f"/tests/assignments/{world.assignment.pk}/results/")
    assert "Sam Student" in page.text and "<svg" in page.text
    assert page.context["summary"]["count"] == 1
    csv_text = client.get(f"/tests/assignments/{world.assignment.pk}/results.csv").content.decode()
    header, row = csv_text.splitlines()[:2]
    assert header.startswith("student,username,attempt,status,score")
    assert row.startswith("Sam Student,sam,1,completed,")
    detail = client.get(f"/tests/sessions/{finished_session.pk}/")
    assert detail.status_code == 200 and len(detail.context["attempts"]) == 8


def test_student_result_respects_the_teachers_choice(
    client_for, alpha_student, world, finished_session
):
    client = client_for(alpha_student)
    assert "most likely between" in client.get(f"/tests/session/{finished_session.pk}/result/").text
    with in_schema(world.school.schema_name):
        world.assessment.show_results_to_students = False
        world.assessment.save()
    hidden = client.get(f"/tests/session/{finished_session.pk}/result/").text
    assert "will share your result" in hidden and "most likely between" not in hidden


def test_teacher_pauses_resumes_and_resets_a_session(
    client_for, alpha_teacher, alpha_student, world
):
    student = client_for(alpha_student)
    student.post(f"/tests/take/{world.assignment.pk}/")
    with in_schema(world.school.schema_name):
        session = ExamSession.objects.get()
    teacher = client_for(alpha_teacher)
    teacher.post(f"/tests/sessions/{session.pk}/pause/")
    with in_schema(world.school.schema_name):
        assert ExamSession.objects.get().status == "paused"
    teacher.post(f"/tests/sessions/{session.pk}/resume/")
    with in_schema(world.school.schema_name):
        assert ExamSession.objects.get().status == "in_progress"
    teacher.post(f"/tests/sessions/{session.pk}/reset/")
    with in_schema(world.school.schema_name):
        assert not ExamSession.objects.exists()
    assert teacher.post(f"/tests/sessions/{session.pk}/explode/").status_code == 404


def test_live_progress_lists_every_enrolled_student(
    client_for, alpha_teacher, alpha_student, world, django_assert_max_num_queries
):
    client_for(alpha_student).post(f"/tests/take/{world.assignment.pk}/")
    client = client_for(alpha_teacher)
    with django_assert_max_num_queries(12):
        response = client.get(f"/tests/assignments/{world.assignment.pk}/progress/")
    assert "Sam Student" in response.text and "Sara Student" in response.text
    assert "Not started" in response.text and "In progress" in response.text


def test_the_student_home_lists_the_tests_open_to_them(client_for, alpha_student, world):
    response = client_for(alpha_student).get("/")
    assert response.status_code == 200
    page = response.content.decode()
    assert world.assessment.name in page
    assert f'href="/tests/take/{world.assignment.pk}/"' in page
    assert "No tests are open for you right now." not in page


def test_the_student_home_lists_nothing_of_another_school(client_for, beta_student, world):
    response = client_for(beta_student).get("/")
    assert response.status_code == 200
    page = response.content.decode()
    assert world.assessment.name not in page
    assert f"/tests/take/{world.assignment.pk}/" not in page
    assert "No tests are open for you right now." in page
