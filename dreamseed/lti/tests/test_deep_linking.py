"""Deep linking: a teacher adds a DreamSeed test from the LMS's "add activity" dialog, DreamSeed
answers with a signed content item, and the link the LMS makes from it opens that test."""

import re
from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from dreamseed.assessments.models import Assignment
from dreamseed.assessments.tests.factories import make_assessment
from dreamseed.lti.models import LtiContext, LtiResourceLink
from dreamseed.lti.tests.conftest import student, teacher

DEEP_LINKING = "LtiDeepLinkingRequest"


def _picker(tool, course, **claims):
    response = tool.launch(teacher(tool.lms.kind), course, message_type=DEEP_LINKING, **claims)
    url = tool.follow(response)
    assert url.startswith("/lti/deep-link/lti1p3-launch-"), url
    return url


def _form_values(when):
    return timezone.localtime(when).strftime("%Y-%m-%dT%H:%M")


@pytest.mark.parametrize("kind", ["canvas", "moodle"])
def test_a_teacher_places_a_test_and_the_new_link_opens_it(
    kind, lms_platform, alpha_school, lti_client, course, personas, request
):
    lms = request.getfixturevalue(kind)
    assessment = make_assessment(author=personas["alpha_teacher"].user, name="Unit 3 check-in")
    tool = lti_client(lms)
    picker = _picker(tool, course)

    page = tool.client.get(picker)
    assert page.status_code == 200
    assert b"Unit 3 check-in" in page.content
    assert f"frame-ancestors 'self' {lms.platform.base_url}" in page["Content-Security-Policy"]

    opens = timezone.now()
    answer = tool.client.post(
        picker,
        {
            "assessment": assessment.pk,
            "opens_at": _form_values(opens),
            "closes_at": _form_values(opens + timedelta(days=30)),
            "attempts_allowed": 2,
        },
    )
    assert answer.status_code == 200, answer.content.decode()[:3000]
    html = answer.content.decode()
    return_url = lms.deep_link_return_url(course.id)
    assert f'action="{return_url.replace("&", "&amp;")}"' in html
    assert "js/lti-auto-submit.js" in html and "<script>" not in html
    policy = answer["Content-Security-Policy"]
    assert lms.platform.base_url in policy.split("form-action")[1].split(";")[0]

    # The browser's auto-submitted form, to the LMS, which checks our signature.
    token = re.search(r'name="JWT" value="([^"]+)"', html).group(1)
    posted = requests.post(return_url, data={"JWT": token}, timeout=5)
    assert posted.status_code == 200, posted.text
    claims = lms.deep_link_responses[-1]
    assert claims["iss"] == lms.client_id and claims["aud"] == [lms.issuer]
    assert claims["https://purl.imsglobal.org/spec/lti/claim/message_type"] == (
        "LtiDeepLinkingResponse"
    )
    assert claims["https://purl.imsglobal.org/spec/lti/claim/version"] == "1.3.0"
    assert claims["https://purl.imsglobal.org/spec/lti/claim/deployment_id"] == lms.deployment_id
    assert claims["https://purl.imsglobal.org/spec/lti-dl/claim/data"].startswith("opaque-")
    [item] = claims["https://purl.imsglobal.org/spec/lti-dl/claim/content_items"]
    assert item["type"] == "ltiResourceLink"
    assert item["url"] == lms.tool_launch_url
    assert item["title"] == "Unit 3 check-in"
    assert item["lineItem"]["scoreMaximum"] == 100

    assignment = Assignment.objects.get(pk=int(item["custom"]["dreamseed_assignment"]))
    assert assignment.assessment == assessment
    assert assignment.school_class == LtiContext.objects.get().school_class
    assert assignment.attempts_allowed == 2

    # The LMS made a link from the item; a student opening it lands on the test.
    learner = lti_client(lms)
    landing = learner.follow(
        learner.launch(student(kind), course, resource_link_id="rl-from-dl", custom=item["custom"])
    )
    assert landing == f"/tests/take/{assignment.pk}/"
    assert LtiResourceLink.objects.get(resource_link_id="rl-from-dl").assignment == assignment


def test_the_picker_answers_once(canvas, lti_client, course, personas):
    assessment = make_assessment(author=personas["alpha_teacher"].user)
    tool = lti_client(canvas)
    picker = _picker(tool, course)
    data = {
        "assessment": assessment.pk,
        "opens_at": _form_values(timezone.now()),
        "closes_at": _form_values(timezone.now() + timedelta(days=1)),
        "attempts_allowed": 1,
    }
    assert tool.client.post(picker, data).status_code == 200
    again = tool.client.post(picker, data)
    assert again.status_code == 400
    assert Assignment.objects.filter(assessment=assessment).count() == 1


def test_the_picker_checks_the_window(canvas, lti_client, course, personas):
    assessment = make_assessment(author=personas["alpha_teacher"].user)
    tool = lti_client(canvas)
    picker = _picker(tool, course)
    now = timezone.now()
    response = tool.client.post(
        picker,
        {
            "assessment": assessment.pk,
            "opens_at": _form_values(now),
            "closes_at": _form_values(now - timedelta(days=1)),
            "attempts_allowed": 1,
        },
    )
    assert response.status_code == 400
    assert b"The test must close after it opens." in response.content
    assert not Assignment.objects.filter(assessment=assessment).exists()


def test_students_cannot_add_activities(canvas, lti_client, course):
    tool = lti_client(canvas)
    tool.follow(tool.launch(teacher(), course))  # the course has a class
    response = tool.launch(student(), course, message_type=DEEP_LINKING)
    assert response.status_code == 403
    assert b"Only teachers can add DreamSeed activities" in response.content


def test_a_picker_belongs_to_the_teacher_who_launched_it(
    canvas, lti_client, course, client_for, alpha_teacher
):
    tool = lti_client(canvas)
    picker = _picker(tool, course)
    stranger = client_for(alpha_teacher)
    response = stranger.get(picker)
    assert response.status_code == 403
    assert client_for(host="alpha.localhost").get(picker).status_code == 400  # signed out
    assert tool.client.get("/lti/deep-link/lti1p3-launch-made-up/").status_code == 400


def test_deep_linking_outside_a_course_is_refused(canvas, lti_client):
    tool = lti_client(canvas)
    response = tool.launch(teacher(), None, message_type=DEEP_LINKING)
    assert response.status_code == 400
    assert b"from inside a course" in response.content
