"""Signing in and out, and why a login or session at one school is worthless at another."""

from dreamseed.testing import PASSWORD, school_client


def _login(client, username, password=PASSWORD):
    return client.post("/accounts/login/", {"username": username, "password": password})


def test_teacher_signs_in_at_their_school(alpha_teacher):
    client = school_client(alpha_teacher.host)
    response = _login(client, alpha_teacher.username)
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/").status_code == 200


def test_username_is_case_insensitive(alpha_teacher):
    response = _login(school_client(alpha_teacher.host), alpha_teacher.username.upper())
    assert response.status_code == 302


def test_teacher_of_school_a_cannot_sign_in_at_school_b(alpha_teacher, beta_admin):
    response = _login(school_client(beta_admin.host), alpha_teacher.username)
    assert response.status_code == 200
    assert "Please enter a correct" in response.text


def test_session_cookie_from_school_a_gives_nothing_at_school_b(alpha_admin, beta_admin):
    alpha = school_client(alpha_admin.host, alpha_admin)
    assert alpha.get("/").status_code == 200
    stolen = alpha.cookies["sessionid"].value

    beta = school_client(beta_admin.host)
    beta.cookies["sessionid"] = stolen
    response = beta.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    staff = beta.get("/accounts/staff/")
    assert staff.status_code == 302


def test_wrong_password_shows_an_error(alpha_teacher):
    response = _login(school_client(alpha_teacher.host), alpha_teacher.username, "nope")
    assert response.status_code == 200
    assert "Please enter a correct" in response.text


def test_repeated_failures_lock_the_account_for_a_while(alpha_teacher, settings):
    client = school_client(alpha_teacher.host)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(client, alpha_teacher.username, "wrong-password")
    locked = _login(client, alpha_teacher.username)  # even the right password now
    assert locked.status_code == 429
    assert "Too many sign-in attempts" in locked.text


def test_deactivated_user_cannot_sign_in(alpha_teacher2):
    from dreamseed.accounts.models import User
    from dreamseed.testing import in_schema

    with in_schema(alpha_teacher2.schema_name):
        User.objects.filter(pk=alpha_teacher2.user_id).update(is_active=False)
    response = _login(school_client(alpha_teacher2.host), alpha_teacher2.username)
    assert response.status_code == 200


def test_sign_out_needs_post_and_ends_the_session(client_for, alpha_teacher):
    client = client_for(alpha_teacher)
    assert client.get("/accounts/logout/").status_code == 405
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/").status_code == 302


def test_password_change(client_for, alpha_student):
    client = client_for(alpha_student)
    response = client.post(
        "/accounts/password/change/",
        {
            "old_password": PASSWORD,
            "new_password1": "another-long-passphrase",
            "new_password2": "another-long-passphrase",
        },
    )
    assert response.status_code == 302
    assert (
        _login(
            school_client(alpha_student.host), alpha_student.username, "another-long-passphrase"
        ).status_code
        == 302
    )


def test_password_reset_sends_a_working_link(alpha_teacher, mailoutbox):
    client = school_client(alpha_teacher.host)
    response = client.post("/accounts/password/reset/", {"email": alpha_teacher.username})
    assert response.status_code == 302
    assert len(mailoutbox) == 1
    link = next(line for line in mailoutbox[0].body.splitlines() if "/password/reset/" in line)
    assert link.startswith("http://alpha.localhost/")
    path = link.removeprefix("http://alpha.localhost")
    form_page = client.get(path, follow=True)
    assert form_page.status_code == 200 and form_page.context["validlink"]
    done = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "reset-long-passphrase", "new_password2": "reset-long-passphrase"},
    )
    assert done.status_code == 302
    assert (
        _login(
            school_client(alpha_teacher.host), alpha_teacher.username, "reset-long-passphrase"
        ).status_code
        == 302
    )


def test_password_reset_for_another_schools_email_sends_nothing(
    beta_admin, alpha_teacher, mailoutbox
):
    client = school_client(beta_admin.host)
    response = client.post("/accounts/password/reset/", {"email": alpha_teacher.username})
    assert response.status_code == 302  # same answer either way: no account enumeration
    assert mailoutbox == []
