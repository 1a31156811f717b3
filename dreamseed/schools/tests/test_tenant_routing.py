"""Each school is its own host and schema: the same URL shows different schools' data."""

from dreamseed.accounts.models import User
from dreamseed.testing import in_schema


def test_same_url_shows_each_schools_own_data(client_for, alpha_admin, beta_admin):
    alpha_page = client_for(alpha_admin).get("/")
    beta_page = client_for(beta_admin).get("/")
    assert alpha_page.status_code == beta_page.status_code == 200
    assert "Alpha School" in alpha_page.text and "Beta School" not in alpha_page.text
    assert "Beta School" in beta_page.text and "Alpha School" not in beta_page.text
    # alpha has 2 teachers, beta has 1: counts come from each school's own schema
    assert alpha_page.context["teacher_count"] == 2
    assert beta_page.context["teacher_count"] == 1


def test_the_same_username_can_exist_in_two_schools(alpha_admin, beta_admin):
    with in_schema(alpha_admin.schema_name):
        User.objects.create_user(username="same-name", password="x", role="student")
    with in_schema(beta_admin.schema_name):
        assert not User.objects.filter(username="same-name").exists()
        User.objects.create_user(username="same-name", password="y", role="student")


def test_unknown_host_is_404(client_for, db, personas):
    response = client_for(host="nowhere.localhost").get("/")
    assert response.status_code == 404


def test_template_schema_has_no_host(client_for, db, personas, settings):
    response = client_for(host=f"{settings.SCHOOL_TEMPLATE_SCHEMA}.localhost").get("/")
    assert response.status_code == 404


def test_public_host_shows_the_landing_page(public_client):
    response = public_client.get("/")
    assert response.status_code == 200
    assert "Create your school" in response.text


def test_school_urls_do_not_exist_on_the_public_host(public_client):
    assert public_client.get("/accounts/login/").status_code == 404
    assert public_client.get("/accounts/staff/").status_code == 404


def test_operator_admin_exists_only_on_the_public_host(public_client, client_for, alpha_admin):
    assert public_client.get("/operator/").status_code == 302  # to the admin login
    assert client_for(alpha_admin).get("/operator/").status_code == 404


def test_anonymous_visitor_of_a_school_is_sent_to_sign_in(client_for, personas):
    response = client_for(host="alpha.localhost").get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_find_school_redirects_to_its_login(public_client, personas):
    response = public_client.post("/find/", {"subdomain": "Alpha"})
    assert response.status_code == 302
    assert response["Location"] == "http://alpha.localhost/accounts/login/"
    response = public_client.post("/find/", {"subdomain": "nope"})
    assert response.status_code == 400
    assert "could not find a school" in response.text
