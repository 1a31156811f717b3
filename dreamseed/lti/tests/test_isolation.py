"""Schools do not share LMS registrations, keys, launches or pages: a launch made for school A
fails at school B's host, and creates nothing at either."""

from django.db import connection

from dreamseed.accounts.models import User
from dreamseed.lti.keys import tool_jwks
from dreamseed.lti.models import LtiDeployment, LtiIdentity, LtiPlatform
from dreamseed.lti.tests.conftest import student, teacher
from dreamseed.testing import in_schema


def _counts(schema):
    with in_schema(schema):
        return User.objects.count(), LtiIdentity.objects.count()


def _launch_at(tool, host, token, state):
    return tool.client.post(
        "/lti/launch/", {"id_token": token, "state": state}, headers={"Host": host}
    )


def test_a_launch_for_school_a_fails_at_school_b(canvas, lti_client, course, personas):
    beta = personas["beta_admin"]
    tool = lti_client(canvas)
    auth = tool.start(student())
    token = canvas.id_token(user=student(), course=course, nonce=auth["nonce"])
    before = (_counts("alpha"), _counts(beta.schema_name))

    response = _launch_at(tool, beta.host, token, auth["state"])
    assert response.status_code == 403
    assert "This LMS is not registered at this school" in response.content.decode()
    assert (_counts("alpha"), _counts(beta.schema_name)) == before
    # Its login initiation fails there too.
    beta_tool = lti_client(canvas, host=beta.host)
    refused = beta_tool.login(student())
    assert refused.status_code == 403
    assert b"not registered at this school" in refused.content


def test_a_shared_developer_key_still_needs_the_schools_own_deployment(
    canvas, lti_client, course, personas
):
    """Two schools in one Canvas may install the same developer key: same issuer and client id,
    different deployments. A launch from A's deployment is not B's."""
    beta = personas["beta_admin"]
    with in_schema(beta.schema_name):
        connection.set_tenant(beta.school)
        shared = LtiPlatform.objects.create(
            name="Canvas",
            vendor="canvas",
            issuer=canvas.issuer,
            client_id=canvas.client_id,
            auth_login_url=canvas.auth_login_url,
            auth_token_url=canvas.token_url,
            key_set_url=canvas.jwks_url,
            frame_origins=canvas.platform.base_url,
        )
        LtiDeployment.objects.create(platform=shared, deployment_id="beta-deployment")
    tool = lti_client(canvas)
    auth = tool.start(teacher())
    token = canvas.id_token(
        user=teacher(),
        course=course,
        nonce=auth["nonce"],
        target_link_uri=f"http://{beta.host}/lti/launch/",
    )
    before = _counts(beta.schema_name)
    response = _launch_at(tool, beta.host, token, auth["state"])
    assert response.status_code == 403
    assert b"installation is not registered" in response.content
    assert _counts(beta.schema_name) == before

    # Even with A's deployment registered at B, A's nonce means nothing at B.
    with in_schema(beta.schema_name):
        LtiDeployment.objects.create(platform=shared, deployment_id=canvas.deployment_id)
    response = _launch_at(tool, beta.host, token, auth["state"])
    assert response.status_code == 400
    assert b"This launch was already used" in response.content
    assert _counts(beta.schema_name) == before


def test_each_school_has_its_own_tool_key(canvas, personas):
    alpha_keys = tool_jwks()["keys"]
    with in_schema(personas["beta_admin"].schema_name):
        beta_keys = tool_jwks()["keys"]
    assert {key["kid"] for key in alpha_keys}.isdisjoint({key["kid"] for key in beta_keys})


def test_another_schools_admin_cannot_see_the_registration(canvas, client_for, beta_admin):
    platform_pk = canvas.registration.pk
    beta = client_for(beta_admin)
    assert beta.get(f"/lti/platforms/{platform_pk}/").status_code == 404
    assert b"Springfield Canvas" not in beta.get("/lti/platforms/").content
    assert beta.post(f"/lti/platforms/{platform_pk}/delete/").status_code == 404
    with in_schema("alpha"):
        assert LtiPlatform.objects.filter(pk=platform_pk).exists()
