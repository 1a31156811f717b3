"""The per-request user load (AccountBackend): same rules as Django's ModelBackend, one
precompiled SELECT."""

from django.contrib.auth import BACKEND_SESSION_KEY

from dreamseed.accounts.backends import PATH, AccountBackend
from dreamseed.accounts.models import User
from dreamseed.testing import PASSWORD, in_schema, school_client


def test_signing_in_with_a_password_records_this_backend(alpha_teacher):
    client = school_client(alpha_teacher.host)
    client.post("/accounts/login/", {"username": alpha_teacher.username, "password": PASSWORD})
    assert client.session[BACKEND_SESSION_KEY] == PATH
    assert client.get("/").status_code == 200


def test_the_user_is_read_again_on_every_request(alpha_teacher):
    client = school_client(alpha_teacher.host, alpha_teacher)
    assert client.get("/").status_code == 200
    with in_schema(alpha_teacher.schema_name):
        User.objects.filter(pk=alpha_teacher.user_id).update(first_name="Renamed")
    assert "Renamed" in client.get("/").text
    # Deactivated: the very next request is anonymous.
    with in_schema(alpha_teacher.schema_name):
        User.objects.filter(pk=alpha_teacher.user_id).update(is_active=False)
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_a_password_change_elsewhere_ends_the_session(alpha_teacher):
    client = school_client(alpha_teacher.host, alpha_teacher)
    assert client.get("/").status_code == 200
    with in_schema(alpha_teacher.schema_name):
        user = User.objects.get(pk=alpha_teacher.user_id)
        user.set_password("a-brand-new-password-42")
        user.save()
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_get_user_matches_model_backend(alpha_teacher):
    backend = AccountBackend()
    with in_schema(alpha_teacher.schema_name):
        user = backend.get_user(str(alpha_teacher.user_id))  # as the session stores it
        expected = User.objects.get(pk=alpha_teacher.user_id)
        assert user == expected
        assert {f.attname: getattr(user, f.attname) for f in User._meta.concrete_fields} == {
            f.attname: getattr(expected, f.attname) for f in User._meta.concrete_fields
        }
        assert not user._state.adding
        assert backend.get_user(10**9) is None
        assert backend.get_user("not-a-number") is None
        User.objects.filter(pk=alpha_teacher.user_id).update(is_active=False)
        assert backend.get_user(alpha_teacher.user_id) is None


def test_a_user_id_from_another_school_finds_nobody_here(alpha_teacher, beta_admin):
    with in_schema(beta_admin.schema_name):
        User.objects.create(pk=900001, username="only-at-beta", role="teacher")
        assert AccountBackend().get_user(900001).username == "only-at-beta"
    with in_schema(alpha_teacher.schema_name):
        assert AccountBackend().get_user(900001) is None
