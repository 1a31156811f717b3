"""Change language works after any page: the form returns to a URL that answers GET, also when
the page on screen is a failed POST (/find/, a wrong join code) whose URL accepts only POST."""

import re

import pytest


def _next_value(response) -> str:
    match = re.search(
        r'<input type="hidden" name="next" value="([^"]*)">', response.content.decode()
    )
    assert match, "the language form has no next field"
    return match.group(1).replace("&amp;", "&")


def _switch(client, next_url):
    """Send the language form as the browser would, then follow where it leads with a GET."""
    response = client.post("/i18n/setlang/", {"language": "ko", "next": next_url})
    assert response.status_code == 302
    return response["Location"], client.get(response["Location"])


@pytest.mark.django_db
def test_a_get_page_returns_to_itself_with_its_query(client_for, personas):
    client = client_for(personas["alpha_admin"])
    response = client.get("/privacy/audit/?date_from=2030-01-01")
    assert _next_value(response) == "/privacy/audit/?date_from=2030-01-01"


@pytest.mark.django_db
def test_after_a_failed_find_the_switch_goes_back_to_the_page_it_came_from(public_client):
    response = public_client.post(
        "/find/", {"subdomain": "no-such-school"}, HTTP_REFERER="http://localhost/"
    )
    assert response.status_code == 400
    assert _next_value(response) == "/"
    location, page = _switch(public_client, "/")
    assert location == "/"
    assert page.status_code == 200
    assert 'lang="ko"' in page.content.decode()


@pytest.mark.django_db
def test_a_second_failed_find_does_not_return_to_the_post_only_url(public_client):
    response = public_client.post(
        "/find/", {"subdomain": "no-such-school"}, HTTP_REFERER="http://localhost/find/"
    )
    assert _next_value(response) == "/"
    assert public_client.get("/find/").status_code == 405  # why it must not go back there


@pytest.mark.django_db
def test_a_wrong_join_code_returns_to_the_student_page_it_was_typed_on(client_for, personas):
    client = client_for(personas["alpha_student"])
    response = client.post(
        "/classes/join/", {"code": "ZZZZ-9999"}, HTTP_REFERER="http://alpha.localhost/classes/mine/"
    )
    assert response.status_code in (200, 400)
    assert _next_value(response) == "/classes/mine/"
    location, page = _switch(client, "/classes/mine/")
    assert location == "/classes/mine/"
    assert page.status_code == 200


@pytest.mark.django_db
def test_a_referer_from_another_host_is_not_followed(public_client):
    response = public_client.post(
        "/find/", {"subdomain": "no-such-school"}, HTTP_REFERER="https://evil.example/phish"
    )
    assert _next_value(response) == "/"


@pytest.mark.django_db
def test_without_a_referer_a_failed_post_returns_home(public_client):
    response = public_client.post("/find/", {"subdomain": "no-such-school"})
    assert _next_value(response) == "/"
