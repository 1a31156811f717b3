"""From the LTI roles claim to a DreamSeed role, and to what the person is in this one course.

LIS v2 role URIs come in three kinds: system (`.../system/person#SysAdmin`), institution
(`.../institution/person#Instructor`) and context membership (`.../membership#Learner`, or a
sub-role like `.../membership/Instructor#TeachingAssistant`); LTI also allows the bare short
names ("Instructor"). The school-wide account role is the highest of:

- admin: Administrator or SysAdmin at system or institution level (the LMS's own admins);
- teacher: Instructor (or one of its sub-roles, such as a teaching assistant), Faculty, or a
  course-level Administrator (it runs that course, not the school);
- student: anything else, including unknown roles and an empty roles list. An unknown role
  never gives staff rights.
"""

from dataclasses import dataclass

from dreamseed.accounts.models import Role

LIS = "http://purl.imsglobal.org/vocab/lis/v2/"
SYSTEM = "system/person"
INSTITUTION = "institution/person"
MEMBERSHIP = "membership"

ADMIN_NAMES = {"Administrator", "SysAdmin"}
INSTRUCTOR_NAMES = {"Instructor", "Faculty"}
LEARNER_NAMES = {"Learner", "Student"}

ROLE_RANK = {Role.STUDENT: 0, Role.TEACHER: 1, Role.ADMIN: 2}


@dataclass(frozen=True)
class ParsedRole:
    kind: str  # "system", "institution", "membership" or "" (a bare short name)
    name: str  # "Instructor"
    sub_role: str = ""  # "TeachingAssistant" in membership/Instructor#TeachingAssistant


def parse_role(uri: str) -> ParsedRole | None:
    uri = (uri or "").strip()
    if not uri:
        return None
    if not uri.startswith(LIS):
        # LTI 1.3 allows short context role names; anything else is someone else's vocabulary.
        return ParsedRole("", uri) if "/" not in uri and "#" not in uri else None
    path, _hash, fragment = uri[len(LIS) :].partition("#")
    if path == SYSTEM:
        return ParsedRole("system", fragment)
    if path == INSTITUTION:
        return ParsedRole("institution", fragment)
    if path == MEMBERSHIP:
        return ParsedRole("membership", fragment)
    if path.startswith(MEMBERSHIP + "/"):
        return ParsedRole("membership", path[len(MEMBERSHIP) + 1 :], fragment)
    return None


def _parsed(roles) -> list[ParsedRole]:
    if not isinstance(roles, list | tuple):
        return []
    return [role for role in (parse_role(r) for r in roles if isinstance(r, str)) if role]


def _is_instructor(role: ParsedRole) -> bool:
    if role.kind in ("institution", "membership", "") and role.name in INSTRUCTOR_NAMES:
        return True
    return role.kind in ("membership", "") and role.name == "Administrator"


def account_role(roles) -> str:
    """The DreamSeed role for someone the LMS describes with `roles` (highest wins)."""
    best = Role.STUDENT
    for role in _parsed(roles):
        if role.kind in ("system", "institution") and role.name in ADMIN_NAMES:
            candidate = Role.ADMIN
        elif _is_instructor(role):
            candidate = Role.TEACHER
        else:
            continue
        if ROLE_RANK[candidate] > ROLE_RANK[best]:
            best = candidate
    return best


def teaches_course(roles) -> bool:
    """Whether the roles make the person an instructor of the launch's course."""
    return any(
        role.kind in ("membership", "") and role.name in {"Instructor", "Administrator"}
        for role in _parsed(roles)
    )


def learns_in_course(roles) -> bool:
    """Whether the roles say the person is a learner (in the course, or at the institution)."""
    return any(
        role.kind in ("membership", "", "institution") and role.name in LEARNER_NAMES
        for role in _parsed(roles)
    )
