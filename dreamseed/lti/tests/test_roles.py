"""LTI roles to DreamSeed roles: highest wins, unknown or absent means student."""

import pytest

from dreamseed.accounts.models import Role
from dreamseed.lti.roles import account_role, learns_in_course, parse_role, teaches_course

LIS = "http://purl.imsglobal.org/vocab/lis/v2/"


@pytest.mark.parametrize(
    ("roles", "expected"),
    [
        ([LIS + "membership#Instructor"], Role.TEACHER),
        ([LIS + "institution/person#Instructor"], Role.TEACHER),
        ([LIS + "institution/person#Faculty"], Role.TEACHER),
        ([LIS + "membership/Instructor#TeachingAssistant"], Role.TEACHER),
        ([LIS + "membership#Administrator"], Role.TEACHER),
        (["Instructor"], Role.TEACHER),
        ([LIS + "membership#Learner"], Role.STUDENT),
        ([LIS + "institution/person#Student"], Role.STUDENT),
        ([LIS + "institution/person#Administrator"], Role.ADMIN),
        ([LIS + "system/person#SysAdmin"], Role.ADMIN),
        ([LIS + "system/person#Administrator", LIS + "membership#Learner"], Role.ADMIN),
        ([LIS + "membership#Learner", LIS + "membership#Instructor"], Role.TEACHER),
        ([LIS + "membership#ContentDeveloper", LIS + "membership#Mentor"], Role.STUDENT),
        (["http://example.com/vocab#Administrator"], Role.STUDENT),
        (["Administrator/Evil#Instructor"], Role.STUDENT),
        ([LIS + "system/person#User"], Role.STUDENT),
        ([], Role.STUDENT),
        (None, Role.STUDENT),
        ("Instructor", Role.STUDENT),  # not a list: ignored
        ([42, None, ""], Role.STUDENT),
    ],
)
def test_account_role(roles, expected):
    assert account_role(roles) == expected


def test_course_roles():
    assert teaches_course([LIS + "membership#Instructor"])
    assert teaches_course([LIS + "membership/Instructor#TeachingAssistant"])
    assert not teaches_course([LIS + "institution/person#Instructor"])  # not of this course
    assert learns_in_course([LIS + "membership#Learner"])
    assert learns_in_course(["Learner"])
    assert not learns_in_course([LIS + "membership#Instructor"])


def test_parse_role():
    parsed = parse_role(LIS + "membership/Instructor#TeachingAssistant")
    assert (parsed.kind, parsed.name, parsed.sub_role) == (
        "membership",
        "Instructor",
        "TeachingAssistant",
    )
    assert parse_role("https://other.example/x#Instructor") is None
