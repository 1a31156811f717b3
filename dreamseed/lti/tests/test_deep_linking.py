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
    assert "The grade the LMS receives is a percentile" in page.content.decode()
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

    # Nothing exists yet: the LMS may never save the activity.
    assert set(item["custom"]) == {"dreamseed_choice"}
    assert not Assignment.objects.filter(assessment=assessment).exists()

    # The LMS made a link from the item; a student opening it lands on the test, made now.
    learner = lti_client(lms)
    landing = learner.follow(
        learner.launch(student(kind), course, resource_link_id="rl-from-dl", custom=item["custom"])
    )
    assignment = Assignment.objects.get(assessment=assessment)
    assert assignment.school_class == LtiContext.objects.get().school_class
    assert assignment.attempts_allowed == 2
    assert assignment.created_by == tool.client.get("/").context["user"]
    assert landing == f"/tests/take/{assignment.pk}/"
    assert LtiResourceLink.objects.get(resource_link_id="rl-from-dl").assignment == assignment
    # Later launches of the same link open the same assignment.
    again = lti_client(lms)
    again.follow(
        again.launch(student(kind, sub="s-201"), course, resource_link_id="rl-from-dl",
                     custom=item["custom"])
    )  # fmt: skip
    assert Assignment.objects.filter(assessment=assessment).count() == 1


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
    assert not Assignment.objects.filter(assessment=assessment).exists()


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


def _choose(tool, course, assessment, **claims):
    """The picker's signed content item (as the LMS will store it), from a real picker POST."""
    picker = _picker(tool, course, **claims)
    now = timezone.now()
    answer = tool.client.post(
        picker,
        {
            "assessment": assessment.pk,
            "opens_at": _form_values(now),
            "closes_at": _form_values(now + timedelta(days=7)),
            "attempts_allowed": 1,
        },
    )
    token = re.search(r'name="JWT" value="([^"]+)"', answer.content.decode()).group(1)
    claims = tool.lms.verify_tool_jwt(token)
    [item] = claims["https://purl.imsglobal.org/spec/lti-dl/claim/content_items"]
    return item


def test_picker_choices_the_lms_never_saved_leave_nothing_for_students(
    canvas, lti_client, course, personas, client_for
):
    assessment = make_assessment(author=personas["alpha_teacher"].user, name="Never saved")
    tool = lti_client(canvas)
    for _attempt in range(3):  # the teacher opens the dialog three times and cancels
        _choose(tool, course, assessment)
    assert not Assignment.objects.filter(assessment=assessment).exists()
    learner = lti_client(canvas)
    learner.follow(learner.launch(student(), course))
    assert "Never saved" not in learner.client.get("/tests/mine/").content.decode()


def test_a_tampered_choice_opens_nothing(canvas, lti_client, course, personas):
    assessment = make_assessment(author=personas["alpha_teacher"].user)
    tool = lti_client(canvas)
    item = _choose(tool, course, assessment)
    forged = {"dreamseed_choice": item["custom"]["dreamseed_choice"][:-3] + "abc"}
    learner = lti_client(canvas)
    landing = learner.follow(learner.launch(student(), course, resource_link_id="rl-x",
                                            custom=forged))  # fmt: skip
    assert landing == "/tests/mine/"
    assert not Assignment.objects.filter(assessment=assessment).exists()


def test_a_choice_made_at_another_school_opens_nothing_here(canvas, lti_client, course, personas):
    from django.core import signing

    from dreamseed.lti.services import CHOICE_SALT

    assessment = make_assessment(author=personas["alpha_teacher"].user)
    now = timezone.now()
    other = signing.dumps(
        {"schema": personas["beta_teacher"].schema_name, "assessment": assessment.pk,
         "opens": now.isoformat(), "closes": (now + timedelta(days=1)).isoformat(),
         "attempts": 1, "by": None},
        salt=CHOICE_SALT, compress=True,
    )  # fmt: skip
    tool = lti_client(canvas)
    tool.follow(tool.launch(teacher(), course))
    learner = lti_client(canvas)
    learner.follow(learner.launch(student(), course, resource_link_id="rl-y",
                                  custom={"dreamseed_choice": other}))  # fmt: skip
    assert not Assignment.objects.filter(assessment=assessment).exists()


def test_the_teacher_sees_which_tests_are_linked_to_which_lms_course(
    canvas, lti_client, course, personas
):
    assessment = make_assessment(author=personas["alpha_teacher"].user, name="Fractions quiz")
    tool = lti_client(canvas)
    item = _choose(tool, course, assessment)
    tool.follow(tool.launch(teacher(), course, resource_link_id="rl-q", custom=item["custom"],
                            resource_title="Week 4: fractions"))  # fmt: skip
    page = tool.client.get("/lti/courses/").content.decode()
    assignment = Assignment.objects.get(assessment=assessment)
    assert "Week 4: fractions" in page
    assert "Fractions quiz" in page
    assert f'href="/tests/assignments/{assignment.pk}/"' in page
