"""/api/classes/{id}/statistics/ and /api/students/{id}/results/: the numbers of the class and
student pages (the hand-checked history of dreamseed/classes/tests/history.py), and who may read
them."""

import pytest

from dreamseed.classes.tests.conftest import history  # noqa: F401


def test_class_statistics_over_the_api(api_for, alpha_teacher, history):  # noqa: F811
    response = api_for(alpha_teacher, token=True).get(
        f"/api/classes/{history.school_class.pk}/statistics/"
    )
    assert response.status_code == 200
    data = response.json()
    summary = data["summary"]
    assert (summary["sittings_expected"], summary["started"], summary["completed"]) == (8, 5, 4)
    assert (summary["in_progress"], summary["not_started"]) == (1, 3)
    assert summary["mean_score"] == pytest.approx(204.0)
    assert summary["median_theta"] == pytest.approx(0.4)
    assert (summary["growth_students"], summary["grew"], summary["declined"]) == (2, 1, 0)
    assert {b["band"]: b["students"] for b in summary["bands"]} == {
        "well_below": 0, "below": 0, "middle": 1, "above": 0, "well_above": 1,
    }  # fmt: skip
    assert [t["assessment_name"] for t in data["tests"]] == ["Winter check", "Fall check"]
    assert [(a["area"], a["answers"], a["correct"]) for a in data["content_areas"]] == [
        ("Algebra", 12, 8), ("Geometry", 10, 3),
    ]  # fmt: skip
    sam = next(s for s in data["students"] if s["username"] == "sam")
    assert (sam["score"], sam["rank"], sam["reliable_change"]) == (210.0, 1, True)
    assert sam["weakest_area"] == "Geometry" and sam["band"] == "well_above"
    nora = next(s for s in data["students"] if s["username"] == "nora")
    assert (nora["score"], nora["rank"], nora["band"]) == (None, None, None)


def test_student_results_over_the_api(api_for, alpha_teacher, alpha_student, history):  # noqa: F811
    response = api_for(alpha_teacher).get(f"/api/students/{alpha_student.user_id}/results/")
    assert response.status_code == 200
    data = response.json()
    winter, fall = data["sittings"]
    assert (winter["assessment_name"], winter["score"], winter["score_se"]) == (
        "Winter check",
        210.0,
        pytest.approx(3.0),
    )
    assert (winter["change"], winter["reliable_change"]) == (10.0, True)
    assert fall["change"] is None
    (series,) = data["growth"]
    assert series["change"] == 10.0 and series["sittings"] == [fall["id"], winter["id"]]
    assert {a["area"]: a["strength"] for a in data["content_areas"]} == {
        "Algebra": "strong", "Geometry": "weak",
    }  # fmt: skip


def test_a_student_reads_only_their_own_results(
    api_for,
    alpha_student,
    alpha_student2,
    history,  # noqa: F811
):
    client = api_for(alpha_student)
    own = client.get(f"/api/students/{alpha_student.user_id}/results/")
    assert own.status_code == 200
    assert len(own.json()["sittings"]) == 2 and own.json()["content_areas"] == []
    assert client.get(f"/api/students/{alpha_student2.user_id}/results/").status_code == 404
    assert client.get(f"/api/classes/{history.school_class.pk}/statistics/").status_code == 403


def test_other_teachers_and_other_schools_get_404(
    api_for,
    alpha_teacher2,
    beta_teacher,
    alpha_student,
    history,  # noqa: F811
):
    for client in (api_for(alpha_teacher2), api_for(beta_teacher, token=True)):
        response = client.get(f"/api/classes/{history.school_class.pk}/statistics/")
        assert response.status_code == 404
        response = client.get(f"/api/students/{alpha_student.user_id}/results/")
        assert response.status_code == 404
        assert "Sam" not in response.content.decode()


def test_anonymous_callers_are_refused(api_for, alpha_teacher, history):  # noqa: F811
    client = api_for(host=alpha_teacher.host)
    assert client.get(f"/api/classes/{history.school_class.pk}/statistics/").status_code in (
        401, 403,
    )  # fmt: skip


def test_the_schema_documents_the_results_endpoints(api_for, alpha_teacher):
    paths = api_for(alpha_teacher).get("/api/schema/", HTTP_ACCEPT="application/json").json()
    paths = paths["paths"]
    assert "get" in paths["/api/classes/{class_id}/statistics/"]
    assert "get" in paths["/api/students/{student_id}/results/"]
