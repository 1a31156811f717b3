"""A teacher (or admin, or student) of school B never sees school A's classes, by any URL."""

import pytest

from dreamseed.classes.tests.conftest import make_class
from dreamseed.classes.tests.test_permissions import CLASS_PAGES
from dreamseed.testing import school_client

ALPHA_NAMES = ["Math 5A", "Art 5B", "Tomas", "Tara", "Student, Sam", "Sam Student", "Student, Sara"]


def _assert_no_alpha_data(response):
    body = response.content.decode()
    for name in ALPHA_NAMES:
        assert name not in body, name


@pytest.fixture
def alpha_classes(math_class, art_class):
    return [math_class, art_class]


@pytest.mark.parametrize("who", ["beta_admin", "beta_teacher"])
def test_school_b_staff_get_404_for_school_a_class_ids(client_for, personas, alpha_classes, who):
    client = client_for(personas[who])
    for method, url in CLASS_PAGES:
        for school_class in alpha_classes:
            response = getattr(client, method)(url.format(pk=school_class.pk))
            assert response.status_code == 404, (method, url)
            _assert_no_alpha_data(response)


def test_a_colliding_id_shows_school_b_its_own_class_never_school_a(
    client_for, beta_teacher, alpha_classes
):
    """Ids are per school: beta's class may have the same id as alpha's. It is still beta's."""
    beta_classes = [make_class(beta_teacher, f"Beta {index}") for index in range(3)]
    client = client_for(beta_teacher)
    for method, url in CLASS_PAGES:
        for school_class in beta_classes:
            response = getattr(client, method)(url.format(pk=school_class.pk))
            assert response.status_code in (200, 302), (method, url)
            _assert_no_alpha_data(response)


@pytest.mark.parametrize(
    "url", ["/", "/classes/", "/classes/?archived=1", "/classes/statistics/", "/classes/mine/"]
)
@pytest.mark.parametrize("who", ["beta_admin", "beta_teacher", "beta_student"])
def test_school_b_lists_never_contain_school_a(client_for, personas, alpha_classes, who, url):
    response = client_for(personas[who]).get(url)
    assert response.status_code in (200, 403)
    _assert_no_alpha_data(response)


@pytest.mark.parametrize("suffix", ["", "password/"])
def test_school_b_staff_cannot_open_school_a_students(
    client_for, beta_admin, alpha_student, alpha_classes, suffix
):
    before = alpha_student.user.password
    client = client_for(beta_admin)
    url = f"/classes/students/{alpha_student.user_id}/{suffix}"
    for response in (client.get(url), client.post(url)):
        assert response.status_code == 404
        _assert_no_alpha_data(response)
    assert alpha_student.user.password == before


def test_school_a_join_codes_mean_nothing_at_school_b(client_for, beta_student, math_class):
    response = client_for(beta_student).post("/classes/join/", {"code": math_class.join_code})
    assert response.status_code == 400
    _assert_no_alpha_data(response)


def test_school_b_session_gets_nothing_at_school_a(client_for, beta_teacher, math_class):
    beta = client_for(beta_teacher)
    stolen = beta.cookies["sessionid"].value
    alpha = school_client("alpha.localhost")
    alpha.cookies["sessionid"] = stolen
    for url in ("/classes/", f"/classes/{math_class.pk}/", "/classes/statistics/"):
        response = alpha.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_school_b_cannot_enroll_school_a_students_by_id(
    client_for, beta_teacher, alpha_student2, beta_class
):
    response = client_for(beta_teacher).post(
        f"/classes/{beta_class.pk}/enroll/", {"students": [alpha_student2.user_id]}
    )
    # alpha's id means nothing (or one of beta's own people) at beta: never an alpha student.
    if response.status_code == 302:
        from dreamseed.classes.models import Enrollment
        from dreamseed.testing import in_schema

        with in_schema(beta_teacher.schema_name):
            usernames = set(
                Enrollment.objects.filter(school_class=beta_class).values_list(
                    "student__username", flat=True
                )
            )
        assert "sara" not in usernames
    else:
        assert response.status_code == 400
