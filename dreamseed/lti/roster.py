"""Roster sync over LTI Names and Role Provisioning Services (NRPS): the LMS course's members
become DreamSeed users (linked by their LTI `sub`, the same id launches carry), students are
enrolled in the course's class and instructors become its teachers; members the LMS reports
Inactive or Deleted are taken out of the class (their accounts stay).

The LMS is asked first, outside any transaction; then everything is written in one transaction,
with a handful of bulk queries whatever the course's size.
"""

import logging
from dataclasses import dataclass

import requests
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from pylti1p3.exception import LtiException, LtiServiceException

from dreamseed.accounts.models import STAFF_ROLES, Role, User
from dreamseed.classes.models import ClassTeacher, Enrollment
from dreamseed.classes.services import class_enroll_students, class_unenroll_students
from dreamseed.core.outbound import OutboundBlocked
from dreamseed.lti.launch import CachedTokenConnector, registration_for
from dreamseed.lti.models import NRPS_SCOPE, LtiContext, LtiIdentity
from dreamseed.lti.roles import ROLE_RANK, account_role, teaches_course
from dreamseed.lti.services import personal_data, username_for
from dreamseed.schools.licensing import assert_can_add_students

log = logging.getLogger(__name__)

ACTIVE = "Active"
NRPS_MEDIA_TYPE = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
MAX_PAGES = 200  # a runaway "next" chain stops somewhere


class RosterSyncError(Exception):
    """The LMS could not be asked for the roster; the message says why, for the teacher."""


@dataclass(frozen=True)
class RosterSyncResult:
    members: int
    created: int
    enrolled: int
    removed: int
    teachers: int

    def summary(self) -> str:
        return ngettext(
            "%(members)d member: %(created)d new accounts, %(enrolled)d enrolled, "
            "%(removed)d removed, %(teachers)d teachers",
            "%(members)d members: %(created)d new accounts, %(enrolled)d enrolled, "
            "%(removed)d removed, %(teachers)d teachers",
            self.members,
        ) % {
            "members": self.members,
            "created": self.created,
            "enrolled": self.enrolled,
            "removed": self.removed,
            "teachers": self.teachers,
        }


def roster_fetch(*, context: LtiContext) -> list[dict]:
    """Every member of the course, all pages, from the LMS."""
    if not context.memberships_url:
        raise RosterSyncError(
            _("Roster sharing is off for DreamSeed in the LMS: its latest launch from this "
              "course offered no roster service. In the LMS's DreamSeed tool settings switch on "
              "Names and Role Provisioning (Moodle: “Use this service to retrieve members' "
              "information”; Canvas: the developer key's course membership scope), then open "
              "DreamSeed from the course again.")
        )  # fmt: skip
    platform = context.platform
    connector = CachedTokenConnector(registration_for(platform), platform)
    members: list = []
    url: str | None = context.memberships_url
    pages = 0
    try:
        while url and pages < MAX_PAGES:
            page = connector.make_service_request(
                [NRPS_SCOPE], url, accept=NRPS_MEDIA_TYPE, case_insensitive_headers=True
            )
            body = page["body"] if isinstance(page["body"], dict) else {}
            members.extend(body.get("members") or [])
            url = _next_page(page["headers"].get("Link", ""))
            pages += 1
    except (LtiException, requests.RequestException, ValueError) as error:
        if isinstance(error, LtiServiceException) and error.response.status_code == 401:
            connector.forget_token([NRPS_SCOPE])  # expired or revoked: ask anew next time
        log.warning("roster sync of context %s failed: %s", context.pk, error)
        if isinstance(error, OutboundBlocked):
            raise RosterSyncError(
                _(
                    "DreamSeed does not fetch the roster from this address: %(reason)s Ask the "
                    "school's DreamSeed administrator to check the LMS registration."
                )
                % {"reason": error.reason}
            ) from error
        raise RosterSyncError(
            _("The LMS did not send the roster (%(error)s). Try again later.")
            % {"error": str(error)[:200]}
        ) from error
    return [member for member in members if isinstance(member, dict) and member.get("user_id")]


def _next_page(link_header: str) -> str | None:
    # pylti1p3 lower-cases the whole Link header, URL included (Moodle's paths have capitals).
    for link in requests.utils.parse_header_links(link_header or ""):
        if link.get("rel") == "next" and link.get("url"):
            return link["url"]
    return None


def roster_sync(*, context: LtiContext) -> RosterSyncResult:
    """Fetch and apply the course's roster. A failure is kept on the course (the teacher sees it
    on the LMS courses page, even when the sync ran in the background) and raised."""
    try:
        members = roster_fetch(context=context)
        result = roster_apply(context=context, members=members)
    except RosterSyncError as error:
        LtiContext.objects.filter(pk=context.pk).update(roster_sync_error=str(error)[:500])
        raise
    LtiContext.objects.filter(pk=context.pk).update(
        roster_synced_at=timezone.now(),
        roster_sync_summary=result.summary()[:255],
        roster_sync_error="",
    )
    return result


@transaction.atomic
def roster_apply(*, context: LtiContext, members: list[dict]) -> RosterSyncResult:
    platform = context.platform
    school_class = context.school_class
    by_sub = {str(member["user_id"]): member for member in members}
    identities = {
        identity.sub: identity
        for identity in LtiIdentity.objects.select_related("user").filter(
            platform=platform, sub__in=list(by_sub)
        )
    }
    active = {sub for sub, member in by_sub.items() if member.get("status", ACTIVE) == ACTIVE}
    # New people: one bulk insert of users (or re-link accounts made for them before). Members
    # the LMS reports inactive get no account: there is nothing to enroll them in.
    new_subs = [sub for sub in by_sub if sub not in identities and sub in active]
    usernames = {sub: username_for(platform, sub) for sub in new_subs}
    existing = {u.username: u for u in User.objects.filter(username__in=usernames.values())}
    to_create = []
    for sub in new_subs:
        if usernames[sub] in existing:
            continue
        member = by_sub[sub]
        to_create.append(
            User(
                username=usernames[sub],
                role=account_role(member.get("roles")),
                password=make_password(None),
                **personal_data(member),
            )
        )
    # New students take seats: all of them fit, or nobody is added (the sync stops here).
    try:
        assert_can_add_students(sum(1 for user in to_create if user.role == Role.STUDENT))
    except ValidationError as error:
        raise RosterSyncError(
            _("The roster was not synced: %(reason)s Nobody was added or removed.")
            % {"reason": error.messages[0]}
        ) from error
    User.objects.bulk_create(to_create, batch_size=500)
    users_by_username = {**existing, **{user.username: user for user in to_create}}
    new_identities = [
        LtiIdentity(platform=platform, sub=sub, user=users_by_username[usernames[sub]])
        for sub in new_subs
    ]
    LtiIdentity.objects.bulk_create(new_identities, batch_size=500, ignore_conflicts=True)
    user_for = {sub: identity.user for sub, identity in identities.items()}
    user_for.update({identity.sub: identity.user for identity in new_identities})

    # Known people: names, email and (upwards only) role follow the LMS.
    changed: list[User] = []
    for sub, identity in identities.items():
        user, member = identity.user, by_sub[sub]
        updates = personal_data(member)
        role = account_role(member.get("roles"))
        if ROLE_RANK[role] > ROLE_RANK[user.role]:
            updates["role"] = role
        if any(getattr(user, name) != value for name, value in updates.items()):
            for name, value in updates.items():
                setattr(user, name, value)
            changed.append(user)
    User.objects.bulk_update(changed, ["first_name", "last_name", "email", "role"], batch_size=500)

    students = [
        user_for[sub]
        for sub in active
        if user_for[sub].role == Role.STUDENT and user_for[sub].is_active
    ]
    teachers = [
        user_for[sub]
        for sub in active
        if user_for[sub].role in STAFF_ROLES
        and user_for[sub].is_active
        and teaches_course(by_sub[sub].get("roles"))
    ]
    enrolled = 0
    if students and not school_class.is_archived:
        enrolled = class_enroll_students(school_class=school_class, students=students)
    ClassTeacher.objects.bulk_create(
        [ClassTeacher(school_class=school_class, teacher=teacher) for teacher in teachers],
        ignore_conflicts=True,
    )
    gone = [user_for[sub] for sub in by_sub if sub not in active and sub in user_for]
    removed = 0
    if gone and Enrollment.objects.filter(school_class=school_class, student__in=gone).exists():
        removed = class_unenroll_students(school_class=school_class, students=gone)
    return RosterSyncResult(
        members=len(by_sub),
        created=len(to_create),
        enrolled=enrolled,
        removed=removed,
        teachers=len(teachers),
    )
