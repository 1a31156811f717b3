"""The school administrator's staff page: who may use it, adding, inviting, deactivating."""

import pytest

from dreamseed.accounts.models import Role, User
from dreamseed.testing import in_schema, school_client

NEW_TEACHER = {
    "first_name": "Ada",
    "last_name": "Lovelace",
    "email": "ada@alpha.example",
    "role": "teacher",
}


@pytest.mark.parametrize("who", ["alpha_teacher", "alpha_student"])
def test_only_school_admins_see_the_staff_page(client_for, personas, db, who):
    assert client_for(personas[who]).get("/accounts/staff/").status_code == 403


def test_anonymous_is_sent_to_sign_in(personas, db):
    response = school_client("alpha.localhost").get("/accounts/staff/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_admin_sees_only_their_schools_staff(client_for, alpha_admin):
    response = client_for(alpha_admin).get("/accounts/staff/")
    assert response.status_code == 200
    assert "teacher@alpha.example" in response.text
    assert "teacher@beta.example" not in response.text
    assert "sam" not in [member.username for member in response.context["staff"]]


def test_admin_adds_a_teacher_who_is_invited(
    client_for, alpha_admin, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client_for(alpha_admin).post("/accounts/staff/", NEW_TEACHER)
    assert response.status_code == 302
    assert len(callbacks) == 1  # the invitation task, queued after commit
    with in_schema(alpha_admin.schema_name):
        ada = User.objects.get(username="ada@alpha.example")
        assert ada.role == Role.TEACHER and not ada.has_usable_password()
        admin = User.objects.get(pk=alpha_admin.user_id)
        assert ada.invited_by == (admin.get_full_name() or admin.username)
        assert ada.invited_by


def test_adding_an_existing_email_is_a_field_error(client_for, alpha_admin):
    response = client_for(alpha_admin).post(
        "/accounts/staff/", {**NEW_TEACHER, "email": "TEACHER@alpha.example"}
    )
    assert response.status_code == 400
    assert "already uses that email" in " ".join(response.context["form"].errors["email"])


def test_staff_role_cannot_be_student(client_for, alpha_admin):
    response = client_for(alpha_admin).post("/accounts/staff/", {**NEW_TEACHER, "role": "student"})
    assert response.status_code == 400
    assert "role" in response.context["form"].errors


def test_invitation_email_link_sets_a_password_and_signs_in(alpha_admin, mailoutbox):
    from django.utils import timezone

    from dreamseed.accounts.services import staff_invitation_deliver

    with in_schema(alpha_admin.schema_name):
        ada = User(
            username="ada@alpha.example",
            email="ada@alpha.example",
            first_name="Ada",
            role=Role.TEACHER,
        )
        ada.set_unusable_password()
        ada.save()
        from django.db import connection

        connection.tenant = alpha_admin.school
        connection.set_tenant(alpha_admin.school)
        assert staff_invitation_deliver(
            user=ada, base_url="http://alpha.localhost", requested_at=timezone.now()
        )
        ada.refresh_from_db()
        assert ada.invitation_sent_at is not None
        # Delivering the same request twice sends once.
        assert not staff_invitation_deliver(
            user=ada, base_url="http://alpha.localhost", requested_at=ada.invitation_sent_at
        )
    assert len(mailoutbox) == 1
    assert "Alpha School" in mailoutbox[0].subject
    link = next(line for line in mailoutbox[0].body.splitlines() if "/accounts/invitation/" in line)
    client = school_client("alpha.localhost")
    page = client.get(link.removeprefix("http://alpha.localhost"), follow=True)
    assert page.context["validlink"]
    done = client.post(
        page.redirect_chain[-1][0],
        {"new_password1": "ada-long-passphrase", "new_password2": "ada-long-passphrase"},
    )
    assert done.status_code == 302 and done["Location"] == "/"
    assert client.get("/").context["user"].username == "ada@alpha.example"


def test_admin_deactivates_and_reactivates_a_teacher(client_for, alpha_admin, alpha_teacher):
    admin = client_for(alpha_admin)
    teacher = client_for(alpha_teacher)
    assert teacher.get("/").status_code == 200
    response = admin.post(f"/accounts/staff/{alpha_teacher.user_id}/active/", {"active": "0"})
    assert response.status_code == 302
    assert not alpha_teacher.user.is_active
    assert teacher.get("/").status_code == 302  # signed out everywhere
    admin.post(f"/accounts/staff/{alpha_teacher.user_id}/active/", {"active": "1"})
    assert alpha_teacher.user.is_active


def test_admin_cannot_deactivate_themselves(client_for, alpha_admin):
    response = client_for(alpha_admin).post(
        f"/accounts/staff/{alpha_admin.user_id}/active/", {"active": "0"}, follow=True
    )
    assert "cannot deactivate your own account" in response.text
    assert alpha_admin.user.is_active


def test_the_last_active_admin_cannot_be_deactivated(client_for, alpha_admin):
    with in_schema(alpha_admin.schema_name):
        second = User.objects.create_user(
            username="second@alpha.example", password="x", role=Role.ADMIN
        )
    response = client_for(alpha_admin).post(f"/accounts/staff/{second.pk}/active/", {"active": "0"})
    assert response.status_code == 302
    with in_schema(alpha_admin.schema_name):
        second.refresh_from_db()
        assert not second.is_active
        # Now alpha_admin is the only active admin; another admin could not remove them.
        from django.core.exceptions import ValidationError

        from dreamseed.accounts.services import staff_set_active

        second.is_active = True
        second.save()
        User.objects.filter(pk=alpha_admin.user_id).update(is_active=False)
        with pytest.raises(ValidationError, match="at least one active administrator"):
            staff_set_active(user=second, active=False, changed_by=alpha_admin.user)


def test_students_are_not_managed_on_the_staff_page(client_for, alpha_admin, alpha_student):
    response = client_for(alpha_admin).post(
        f"/accounts/staff/{alpha_student.user_id}/active/", {"active": "0"}
    )
    assert response.status_code == 404
    assert alpha_student.user.is_active


@pytest.mark.parametrize("who", ["alpha_teacher", "alpha_student"])
def test_non_admins_cannot_deactivate(client_for, personas, alpha_teacher2, who):
    response = client_for(personas[who]).post(
        f"/accounts/staff/{alpha_teacher2.user_id}/active/", {"active": "0"}
    )
    assert response.status_code == 403
    assert alpha_teacher2.user.is_active


def test_admin_of_another_school_cannot_touch_this_schools_staff(
    client_for, beta_admin, alpha_teacher
):
    """The id of alpha's teacher means nothing (or someone else) at beta: alpha is untouched."""
    beta = client_for(beta_admin)
    beta.post(f"/accounts/staff/{alpha_teacher.user_id}/active/", {"active": "0"})
    beta.post(f"/accounts/staff/{alpha_teacher.user_id}/invite/")
    assert alpha_teacher.user.is_active
    page = beta.get("/accounts/staff/")
    assert "teacher@alpha.example" not in page.text


def test_resend_invitation_only_for_people_who_have_not_accepted(
    client_for, alpha_admin, alpha_teacher, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client_for(alpha_admin).post(
            f"/accounts/staff/{alpha_teacher.user_id}/invite/", follow=True
        )
    assert "already accepted" in response.text
    assert callbacks == []
