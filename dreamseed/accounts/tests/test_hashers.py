"""Argon2id for new hashes; PBKDF2 hashes keep working and are upgraded at sign-in."""

import pytest
from django.contrib.auth.hashers import make_password

from dreamseed.accounts.models import User
from dreamseed.testing import PASSWORD, in_schema, school_client

PRODUCTION_HASHERS = [
    "dreamseed.accounts.hashers.MeasuredArgon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]


@pytest.fixture
def production_hashers(settings):
    settings.PASSWORD_HASHERS = PRODUCTION_HASHERS


def _stored(persona):
    with in_schema(persona.schema_name):
        return User.objects.get(pk=persona.user_id).password


def _sign_in(persona, password=PASSWORD):
    return school_client(persona.host).post(
        "/accounts/login/", {"username": persona.username, "password": password}
    )


def test_the_settings_put_argon2id_first_and_keep_pbkdf2():
    from django.conf import settings

    assert settings.PASSWORD_HASHERS != PRODUCTION_HASHERS  # tests hash with MD5 for speed
    from dreamseed import settings as module

    assert module.PASSWORD_ARGON2_MEMORY_KIB == 19456 and module.PASSWORD_ARGON2_TIME_COST == 2


def test_a_pbkdf2_password_signs_in_and_is_stored_again_as_argon2id(
    production_hashers, alpha_student
):
    with in_schema(alpha_student.schema_name):
        User.objects.filter(pk=alpha_student.user_id).update(
            password=make_password(PASSWORD, hasher="pbkdf2_sha256")
        )
    assert _stored(alpha_student).startswith("pbkdf2_sha256$")
    assert _sign_in(alpha_student).status_code == 302
    stored = _stored(alpha_student)
    assert stored.startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$")
    # And the new hash signs in too.
    assert _sign_in(alpha_student).status_code == 302
    assert _stored(alpha_student) == stored


def test_a_wrong_password_changes_nothing(production_hashers, alpha_student):
    with in_schema(alpha_student.schema_name):
        User.objects.filter(pk=alpha_student.user_id).update(
            password=make_password(PASSWORD, hasher="pbkdf2_sha256")
        )
    before = _stored(alpha_student)
    response = _sign_in(alpha_student, password="not-the-password")
    assert response.status_code == 200 and "Please enter a correct" in response.text
    assert _stored(alpha_student) == before


def test_new_passwords_are_argon2id(production_hashers):
    assert make_password("a-new-password").startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$")
