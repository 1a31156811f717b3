"""Requesting, watching and downloading reports through the pages, and who may do what."""

import re

import pytest

from dreamseed.reports import rendering, services
from dreamseed.reports.models import Report, ReportKind, ReportStatus
from dreamseed.reports.tests.conftest import tenant
from dreamseed.testing import in_schema


def _request_class_report(client, world, kind="class", paper="a4"):
    return client.post(
        f"/reports/assignments/{world.assignment.pk}/", {"kind": kind, "paper": paper}
    )


def _report_id(response) -> int:
    assert response.status_code == 302, response
    match = re.search(r"/reports/(\d+)/$", response["Location"])
    assert match, response["Location"]
    return int(match.group(1))


def _render(world, report_id):
    with tenant(world):
        return services.report_render(report_id=report_id)


def test_results_page_offers_class_reports_and_result_page_a_student_report(
    client_for, alpha_teacher, class_world
):
    client = client_for(alpha_teacher)
    page = client.get(f"/tests/assignments/{class_world.assignment.pk}/results/").content.decode()
    assert f'action="/reports/assignments/{class_world.assignment.pk}/"' in page
    assert 'value="class"' in page and 'value="class_bundle"' in page
    session = class_world.session_of[class_world.sam.pk]
    page = client.get(f"/tests/sessions/{session.pk}/").content.decode()
    assert f'action="/reports/sessions/{session.pk}/"' in page


def test_a_teacher_requests_watches_and_downloads_a_class_report(
    client_for, alpha_teacher, class_world, django_capture_on_commit_callbacks
):
    client = client_for(alpha_teacher)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = _request_class_report(client, class_world, paper="letter")
    report_id = _report_id(response)
    assert len(callbacks) == 1  # the task is sent once the request's transaction commits
    with in_schema(class_world.schema):
        report = Report.objects.get(pk=report_id)
    assert (report.kind, report.paper, report.language) == ("class", "letter", "en")
    assert report.requested_by_id == class_world.teacher.pk

    page = client.get(f"/reports/{report_id}/")
    html = page.content.decode()
    assert page.status_code == 200
    assert '<progress id="report-progress" max="100" value="0">' in html
    assert 'src="/static/js/report-progress.js"' in html
    # The page obeys the CSP: no inline scripts or styles.
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert "style=" not in html
    assert 'id="report-ready" hidden' in html

    status = client.get(f"/reports/{report_id}/status/").json()
    assert status["status"] == "queued" and status["ready"] is False
    assert client.get(f"/reports/{report_id}/download/").status_code == 404

    _render(class_world, report_id)
    status = client.get(f"/reports/{report_id}/status/").json()
    assert status == {
        "status": "succeeded",
        "label": "Ready",
        "progress": 100,
        "ready": True,
        "download_url": f"/reports/{report_id}/download/",
        "may_retry": False,
        "error": "",
    }
    download = client.get(f"/reports/{report_id}/download/")
    assert download.status_code == 200
    assert download["Content-Type"] == "application/pdf"
    assert download["Content-Disposition"].startswith("attachment;")
    assert "Fractions check-in - Math 7.pdf" in download["Content-Disposition"]
    assert download["Cache-Control"] == "private, no-store"
    assert b"".join(download.streaming_content).startswith(b"%PDF-")


def test_the_report_is_made_in_the_requesters_language(client_for, alpha_teacher, class_world):
    client = client_for(alpha_teacher)
    client.cookies["django_language"] = "ko"
    report_id = _report_id(_request_class_report(client, class_world))
    with in_schema(class_world.schema):
        assert Report.objects.get(pk=report_id).language == "ko"
    page = client.get(f"/reports/{report_id}/").content.decode()
    assert "학급 보고서" in page and "진행률" in page


def test_a_failed_report_shows_the_error_and_retry_makes_it(
    client_for, alpha_teacher, class_world, monkeypatch, django_capture_on_commit_callbacks
):
    client = client_for(alpha_teacher)
    report_id = _report_id(_request_class_report(client, class_world))

    def broken(*args, **kwargs):
        raise RuntimeError("the printer caught fire")

    monkeypatch.setattr(rendering, "render_pdf", broken)
    report = _render(class_world, report_id)
    assert report.status == ReportStatus.FAILED

    html = client.get(f"/reports/{report_id}/").content.decode()
    assert "The report could not be made" in html
    assert "RuntimeError: the printer caught fire" in html  # staff see why
    assert 'id="report-failed" hidden' not in html
    assert f'action="/reports/{report_id}/retry/"' in html
    status = client.get(f"/reports/{report_id}/status/").json()
    assert status["status"] == "failed" and status["may_retry"] is True

    monkeypatch.undo()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(f"/reports/{report_id}/retry/")
    assert response.status_code == 302 and response["Location"] == f"/reports/{report_id}/"
    assert len(callbacks) == 1
    with in_schema(class_world.schema):
        again = Report.objects.get(pk=report_id)
    assert again.status == ReportStatus.QUEUED and again.error == "" and again.progress == 0
    assert again.task_id != report.task_id
    assert _render(class_world, report_id).status == ReportStatus.SUCCEEDED
    assert client.get(f"/reports/{report_id}/download/").status_code == 200


def test_a_student_gets_their_own_report_but_never_anyone_elses(
    client_for, alpha_student, alpha_student2, class_world
):
    mine = class_world.session_of[class_world.sam.pk]
    theirs = class_world.session_of[class_world.sara.pk]
    sam = client_for(alpha_student)
    report_id = _report_id(sam.post(f"/reports/sessions/{mine.pk}/"))
    assert sam.post(f"/reports/sessions/{theirs.pk}/").status_code == 404
    assert _request_class_report(sam, class_world).status_code == 404
    _render(class_world, report_id)
    assert sam.get(f"/reports/{report_id}/").status_code == 200
    download = sam.get(f"/reports/{report_id}/download/")
    assert download.status_code == 200
    assert "Sam Student" in download["Content-Disposition"]

    sara = client_for(alpha_student2)
    for url in ["", "status/", "download/"]:
        assert sara.get(f"/reports/{report_id}/{url}").status_code == 404, url
    assert sara.post(f"/reports/{report_id}/retry/").status_code == 404


def test_students_cannot_fetch_class_reports_or_reports_of_hidden_results(
    client_for, alpha_teacher, alpha_student, class_world
):
    teacher = client_for(alpha_teacher)
    class_report = _report_id(_request_class_report(teacher, class_world))
    session = class_world.session_of[class_world.sam.pk]
    student_report = _report_id(teacher.post(f"/reports/sessions/{session.pk}/"))
    _render(class_world, class_report)
    _render(class_world, student_report)
    sam = client_for(alpha_student)
    assert sam.get(f"/reports/{class_report}/download/").status_code == 404
    assert sam.get(f"/reports/{student_report}/download/").status_code == 200
    # The teacher hides results from students: the report goes with them.
    with in_schema(class_world.schema):
        class_world.assessment.show_results_to_students = False
        class_world.assessment.save(update_fields=["show_results_to_students"])
    assert sam.get(f"/reports/{student_report}/download/").status_code == 404
    assert sam.post(f"/reports/sessions/{session.pk}/").status_code == 404


def test_a_teacher_of_another_class_gets_404_and_the_admin_gets_in(
    client_for, alpha_teacher, alpha_teacher2, alpha_admin, class_world
):
    report_id = _report_id(_request_class_report(client_for(alpha_teacher), class_world))
    _render(class_world, report_id)
    other = client_for(alpha_teacher2)
    assert _request_class_report(other, class_world).status_code == 404
    session = class_world.session_of[class_world.sam.pk]
    assert other.post(f"/reports/sessions/{session.pk}/").status_code == 404
    for url in ["", "status/", "download/"]:
        assert other.get(f"/reports/{report_id}/{url}").status_code == 404, url
    admin = client_for(alpha_admin)
    assert admin.get(f"/reports/{report_id}/download/").status_code == 200


def test_another_schools_people_never_reach_a_report(
    client_for, alpha_teacher, beta_admin, beta_teacher, beta_student, class_world
):
    report_id = _report_id(_request_class_report(client_for(alpha_teacher), class_world))
    _render(class_world, report_id)
    for persona in (beta_admin, beta_teacher, beta_student):
        client = client_for(persona)
        for url in ["", "status/", "download/"]:
            assert client.get(f"/reports/{report_id}/{url}").status_code == 404, (persona, url)
        assert client.post(f"/reports/{report_id}/retry/").status_code == 404
    # Even with alpha's session cookie, beta's host serves beta's schema.
    alpha_client = client_for(alpha_teacher)
    alpha_client.defaults["HTTP_HOST"] = "beta.localhost"
    response = alpha_client.get(f"/reports/{report_id}/download/")
    assert response.status_code in (302, 404)


def test_anonymous_visitors_are_sent_to_sign_in(client_for, alpha_teacher, class_world):
    report_id = _report_id(_request_class_report(client_for(alpha_teacher), class_world))
    anonymous = client_for(host="alpha.localhost")
    for url in ["", "status/", "download/"]:
        response = anonymous.get(f"/reports/{report_id}/{url}")
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    response = anonymous.post(f"/reports/assignments/{class_world.assignment.pk}/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_request_endpoints_accept_post_only(client_for, alpha_teacher, class_world):
    client = client_for(alpha_teacher)
    assert client.get(f"/reports/assignments/{class_world.assignment.pk}/").status_code == 405
    session = class_world.session_of[class_world.sam.pk]
    assert client.get(f"/reports/sessions/{session.pk}/").status_code == 405


@pytest.mark.parametrize("kind", [ReportKind.CLASS, ReportKind.CLASS_BUNDLE])
def test_the_bundle_and_class_report_download_as_zip_and_pdf(
    client_for, alpha_teacher, class_world, kind
):
    client = client_for(alpha_teacher)
    report_id = _report_id(_request_class_report(client, class_world, kind=kind))
    _render(class_world, report_id)
    download = client.get(f"/reports/{report_id}/download/")
    body = b"".join(download.streaming_content)
    if kind == ReportKind.CLASS_BUNDLE:
        assert download["Content-Type"] == "application/zip"
        assert body.startswith(b"PK")
    else:
        assert body.startswith(b"%PDF-")


def test_the_status_endpoint_costs_a_handful_of_queries(
    client_for, alpha_teacher, class_world, django_assert_max_num_queries
):
    client = client_for(alpha_teacher)
    report_id = _report_id(_request_class_report(client, class_world))
    with django_assert_max_num_queries(8):
        assert client.get(f"/reports/{report_id}/status/").status_code == 200
