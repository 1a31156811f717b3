"""LTI services: platform registrations, what a validated launch creates (the person, the class,
the link), the deep-linking response, and the short hand-off that finishes a launch in a new
window when the LMS's frame keeps no cookies.

A launch is validated entirely (dreamseed.lti.launch) before anything here runs; everything a
launch writes is written in one transaction, so a launch that fails half way leaves nothing.
"""

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.hashers import make_password
from django.core import signing
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from pylti1p3.deep_link_resource import DeepLinkResource
from pylti1p3.lineitem import LineItem

from dreamseed.accounts.models import STAFF_ROLES, Role, User
from dreamseed.assessments.models import Assessment, Assignment
from dreamseed.classes.models import Class, ClassTeacher
from dreamseed.classes.services import class_create, class_enroll_students
from dreamseed.lti.launch import (
    CLAIM_AGS,
    CLAIM_CONTEXT,
    CLAIM_CUSTOM,
    CLAIM_DEEP_LINKING,
    CLAIM_MESSAGE_TYPE,
    CLAIM_NRPS,
    CLAIM_RESOURCE_LINK,
    CLAIM_ROLES,
    DEEP_LINKING_REQUEST,
    RESOURCE_LINK_REQUEST,
    LaunchRejected,
    SchoolMessageLaunch,
)
from dreamseed.lti.models import (
    LtiContext,
    LtiDeployment,
    LtiIdentity,
    LtiPlatform,
    LtiResourceLink,
)
from dreamseed.lti.roles import ROLE_RANK, account_role, learns_in_course, teaches_course
from dreamseed.schools.licensing import (
    LicenceReadOnly,
    SeatLimitReached,
    assert_can_add_students,
    school_is_read_only,
)

log = logging.getLogger(__name__)

CUSTOM_ASSIGNMENT = "dreamseed_assignment"  # links placed before choices were deferred
CUSTOM_CHOICE = "dreamseed_choice"
CHOICE_SALT = "dreamseed.lti.deep-link-choice"
DEEP_LINK_SCORE_MAXIMUM = 100
CONTINUE_SALT = "dreamseed.lti.continue"
CONTINUE_MAX_AGE_SECONDS = 10 * 60

# --- Registrations --------------------------------------------------------------------------------


@transaction.atomic
def platform_save(
    *, platform: LtiPlatform | None = None, fields: dict, deployment_ids: list[str]
) -> LtiPlatform:
    """Create or update a registration and make its deployment ids exactly `deployment_ids`."""
    platform = platform or LtiPlatform()
    for name, value in fields.items():
        setattr(platform, name, value.strip() if isinstance(value, str) else value)
    duplicate = LtiPlatform.objects.filter(issuer=platform.issuer, client_id=platform.client_id)
    if platform.pk:
        duplicate = duplicate.exclude(pk=platform.pk)
    if duplicate.exists():
        raise ValidationError({"client_id": _("This issuer and client ID are already registered.")})
    platform.save()
    wanted = list(dict.fromkeys(d.strip() for d in deployment_ids if d.strip()))
    LtiDeployment.objects.filter(platform=platform).exclude(deployment_id__in=wanted).delete()
    LtiDeployment.objects.bulk_create(
        [LtiDeployment(platform=platform, deployment_id=d) for d in wanted],
        ignore_conflicts=True,
    )
    return platform


def platform_delete(*, platform: LtiPlatform) -> None:
    """Forget a registration (its people, courses and links; DreamSeed users and classes stay)."""
    platform.delete()


# --- People ---------------------------------------------------------------------------------------


def username_for(platform: LtiPlatform, sub: str) -> str:
    """Stable per issuer + sub (LMS ids are long and contain anything): the same LMS person
    reached through two registrations of one LMS (two Canvas developer keys) is one user."""
    digest = hashlib.sha256(f"{platform.issuer}\n{sub}".encode()).hexdigest()
    return f"lti-{digest[:28]}"


def personal_data(claims: dict) -> dict:
    """Names and email, only those the LMS sent (privacy settings may withhold any of them)."""
    found = {}
    given, family, full = (claims.get(k) for k in ("given_name", "family_name", "name"))
    if isinstance(given, str) and given.strip():
        found["first_name"] = given.strip()[:150]
    if isinstance(family, str) and family.strip():
        found["last_name"] = family.strip()[:150]
    no_parts = "first_name" not in found and "last_name" not in found
    if no_parts and isinstance(full, str) and full.strip():
        found["first_name"] = full.strip()[:150]
    email = claims.get("email")
    if isinstance(email, str) and email.strip():
        try:
            validate_email(email.strip())
        except ValidationError:
            pass
        else:
            found["email"] = email.strip().lower()[:254]
    return found


def _assert_may_create(role: str, *, read_only: bool) -> None:
    """A new account: none while the school is read-only; a student takes one of the licence's
    seats (checked under the school's row lock, in the launch's transaction)."""
    if read_only:
        raise LaunchRejected("read_only_new", "no new accounts while the licence has ended")
    if role != Role.STUDENT:
        return
    try:
        assert_can_add_students(1)
    except LicenceReadOnly as error:
        raise LaunchRejected("read_only_new", error.messages[0]) from error
    except SeatLimitReached as error:
        raise LaunchRejected("seats", error.messages[0]) from error


def identity_user(
    *, platform: LtiPlatform, sub: str, roles, claims: dict, read_only: bool = False
) -> User:
    """The DreamSeed user for this LMS person, created on first sight.

    The role is set from the LMS roles when the user is made; later launches may raise it
    (a student who became a teacher) but never lower it: a teacher taking a course as a learner
    somewhere stays a teacher here. Names and email follow the LMS when it sends them. A new
    student takes a seat; while the school is read-only nobody new is made.
    """
    role = account_role(roles)
    personal = personal_data(claims)
    identity = LtiIdentity.objects.select_related("user").filter(platform=platform, sub=sub).first()
    if identity is None:
        username = username_for(platform, sub)
        user = User.objects.filter(username=username).first()
        if user is None:
            _assert_may_create(role, read_only=read_only)
            user = User(username=username, role=role, password=make_password(None), **personal)
            user.save()
        try:
            with transaction.atomic():
                identity = LtiIdentity.objects.create(platform=platform, sub=sub, user=user)
        except IntegrityError:
            # The same person's second tab got here first.
            identity = LtiIdentity.objects.select_related("user").get(platform=platform, sub=sub)
    user = identity.user
    if not user.is_active:
        raise LaunchRejected("inactive", f"user {user.pk} is deactivated")
    changed = [name for name, value in personal.items() if getattr(user, name) != value]
    for name in changed:
        setattr(user, name, personal[name])
    if ROLE_RANK[role] > ROLE_RANK[user.role]:
        user.role = role
        changed.append("role")
    if changed:
        user.save(update_fields=changed)
    LtiIdentity.objects.filter(pk=identity.pk).update(last_launch_at=timezone.now())
    return user


# --- Courses and links ----------------------------------------------------------------------------


def _teach(school_class: Class, user: User) -> None:
    ClassTeacher.objects.get_or_create(school_class=school_class, teacher=user)


def _enroll(school_class: Class, user: User) -> None:
    if user.role != Role.STUDENT:
        return
    if school_class.is_archived:
        raise LaunchRejected("archived", f"class {school_class.pk} is archived")
    class_enroll_students(school_class=school_class, students=[user])


def context_link(
    *,
    platform: LtiPlatform,
    claim,
    user: User,
    roles,
    nrps_claim=None,
    read_only: bool = False,
    drop_stale_nrps: bool = False,
) -> LtiContext | None:
    """The DreamSeed class of the launch's course: made on a teacher's first launch, linked after.

    The launching person becomes one of its teachers (instructor roles) or is enrolled
    (students). While the school is read-only nothing is made and nobody is added: people see
    what they already had. With `drop_stale_nrps` (a resource link launch), a launch without the
    roster claim forgets the roster URL: the LMS stopped offering it (Names and Roles switched
    off in the tool's settings), and using the old one would fail with a misleading error.
    """
    if not isinstance(claim, dict) or not claim.get("id"):
        return None
    context_id = str(claim["id"])
    title = str(claim.get("title") or "")[:255]
    label = str(claim.get("label") or "")[:255]
    instructor = user.role in STAFF_ROLES and teaches_course(roles)
    link = (
        LtiContext.objects.select_related("school_class")
        .filter(platform=platform, context_id=context_id)
        .first()
    )
    if link is None:
        if not instructor or read_only:
            return None
        try:
            with transaction.atomic():
                school_class = class_create(
                    name=title or label or context_id, teachers=[user], created_by=user
                )
                link = LtiContext.objects.create(
                    platform=platform,
                    context_id=context_id,
                    school_class=school_class,
                    title=title,
                    label=label,
                )
        except IntegrityError:
            # Two instructors opened the new course at once: the other made its class.
            link = LtiContext.objects.select_related("school_class").get(
                platform=platform, context_id=context_id
            )
    updates = {"title": title, "label": label}
    memberships_url = (
        nrps_claim.get("context_memberships_url") if isinstance(nrps_claim, dict) else None
    )
    if isinstance(memberships_url, str) and memberships_url:
        updates["memberships_url"] = memberships_url[:1000]
    if drop_stale_nrps and "memberships_url" not in updates and link.memberships_url:
        link.memberships_url = ""
        link.save(update_fields=["memberships_url"])
    changed = [name for name, value in updates.items() if value and getattr(link, name) != value]
    for name in changed:
        setattr(link, name, updates[name])
    if changed:
        link.save(update_fields=changed)
    if read_only:
        return link
    if instructor:
        _teach(link.school_class, user)
    elif learns_in_course(roles) or user.role == Role.STUDENT:
        _enroll(link.school_class, user)
    return link


def choice_sign(*, assessment: Assessment, user: User, opens_at, closes_at, attempts: int) -> str:
    """The teacher's choice in the picker, signed, as the link's custom parameter: nothing is
    made until the LMS actually launches the link (an LMS dialog closed without saving leaves
    nothing behind)."""
    return signing.dumps(
        {
            "schema": connection.schema_name,
            "assessment": assessment.pk,
            "opens": opens_at.isoformat(),
            "closes": closes_at.isoformat(),
            "attempts": attempts,
            "by": user.pk,
        },
        salt=CHOICE_SALT,
        compress=True,
    )


def choice_read(custom) -> dict | None:
    raw = custom.get(CUSTOM_CHOICE) if isinstance(custom, dict) else None
    if not isinstance(raw, str) or not raw:
        return None
    try:
        choice = signing.loads(raw, salt=CHOICE_SALT)
        choice["opens"] = datetime.fromisoformat(choice["opens"])
        choice["closes"] = datetime.fromisoformat(choice["closes"])
        choice["assessment"] = int(choice["assessment"])
        choice["attempts"] = int(choice["attempts"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None
    if choice.get("schema") != connection.schema_name:
        return None
    return choice


def _assignment_from_choice(choice: dict, context: LtiContext | None):
    """The assignment a deep-linked link opens, made on its first launch in a course."""
    if context is None:
        return None
    assessment = Assessment.objects.filter(pk=choice["assessment"]).first()
    if assessment is None:
        raise LaunchRejected("link_gone", f"assessment {choice['assessment']} no longer exists")
    return Assignment.objects.create(
        assessment=assessment,
        school_class=context.school_class,
        opens_at=choice["opens"],
        closes_at=choice["closes"],
        attempts_allowed=choice["attempts"],
        created_by=User.objects.filter(pk=choice.get("by")).first(),
    )


def _assignment_for(custom, context: LtiContext | None, *, has_course: bool):
    """The assignment a deep-linked resource link names in its custom parameters.

    A copied LMS course keeps the link (and its custom parameters) but is a new course: there
    the same test gets an assignment of its own for the new course's class, and until a teacher
    has opened DreamSeed in that course (making its class) the link opens nothing.
    """
    choice = choice_read(custom)
    if choice is not None:
        return _assignment_from_choice(choice, context)
    raw = custom.get(CUSTOM_ASSIGNMENT) if isinstance(custom, dict) else None
    try:
        pk = int(str(raw))
    except (TypeError, ValueError):
        return None
    assignment = Assignment.objects.select_related("assessment", "school_class").filter(pk=pk)
    assignment = assignment.first()
    if assignment is None:
        raise LaunchRejected("link_gone", f"assignment {pk} no longer exists")
    if context is None:
        return None if has_course else assignment
    if context.school_class_id == assignment.school_class_id:
        return assignment
    now = timezone.now()
    return Assignment.objects.create(
        assessment=assignment.assessment,
        school_class=context.school_class,
        opens_at=now,
        closes_at=now + (assignment.closes_at - assignment.opens_at),
        attempts_allowed=assignment.attempts_allowed,
        created_by=assignment.created_by,
    )


def resource_link_record(
    *,
    platform: LtiPlatform,
    claim: dict,
    context: LtiContext | None,
    has_course: bool,
    custom,
    ags_claim,
    read_only: bool = False,
) -> LtiResourceLink:
    link, _created = LtiResourceLink.objects.get_or_create(
        platform=platform, resource_link_id=str(claim["id"])[:255]
    )
    # Two first launches at once must make one assignment: the second waits for the first.
    link = LtiResourceLink.objects.select_for_update().get(pk=link.pk)
    updates: dict = {"title": str(claim.get("title") or "")[:255]}
    if context is not None:
        updates["context"] = context
    if isinstance(ags_claim, dict):
        scopes = ags_claim.get("scope")
        updates["ags_scopes"] = (
            [s for s in scopes if isinstance(s, str)] if isinstance(scopes, list) else []
        )
        for field, key in (("lineitem_url", "lineitem"), ("lineitems_url", "lineitems")):
            value = ags_claim.get(key)
            if isinstance(value, str) and value:
                updates[field] = value[:1000]
    else:
        # The latest launch carries no grade service: grade sync was switched off in the LMS.
        # Forget the old endpoints (passback then says so) rather than post to them.
        updates.update({"ags_scopes": [], "lineitem_url": "", "lineitems_url": ""})
    if not read_only and (
        link.assignment_id is None
        or (context is not None and link.assignment.school_class_id != context.school_class_id)
    ):
        assignment = _assignment_for(custom, context, has_course=has_course)
        if assignment is not None:
            updates["assignment"] = assignment
    changed = [name for name, value in updates.items() if getattr(link, name) != value]
    for name in changed:
        setattr(link, name, updates[name])
    if changed:
        link.save(update_fields=[*changed, "updated"])
    return link


# --- The launch, as a whole -----------------------------------------------------------------------


@dataclass(frozen=True)
class LaunchOutcome:
    user: User
    platform: LtiPlatform
    context: LtiContext | None
    resource_link: LtiResourceLink | None
    next_url: str
    is_deep_link: bool = False


def launch_complete(*, platform: LtiPlatform, claims: dict, launch_id: str) -> LaunchOutcome:
    """Turn a validated launch into a DreamSeed user, class, link and the page to open."""
    message_type = claims.get(CLAIM_MESSAGE_TYPE)
    if message_type not in (RESOURCE_LINK_REQUEST, DEEP_LINKING_REQUEST):
        raise LaunchRejected("unsupported", f"message type {message_type!r}")
    roles = claims.get(CLAIM_ROLES) or []
    read_only = school_is_read_only()
    with transaction.atomic():
        user = identity_user(
            platform=platform,
            sub=str(claims["sub"]),
            roles=roles,
            claims=claims,
            read_only=read_only,
        )
        context = context_link(
            platform=platform,
            claim=claims.get(CLAIM_CONTEXT),
            user=user,
            roles=roles,
            nrps_claim=claims.get(CLAIM_NRPS),
            read_only=read_only,
            drop_stale_nrps=message_type == RESOURCE_LINK_REQUEST,
        )
        if message_type == DEEP_LINKING_REQUEST:
            if user.role not in STAFF_ROLES:
                raise LaunchRejected("teachers_only", "deep linking by a non-teacher")
            if read_only:
                raise LaunchRejected("read_only", "no new activities while the licence has ended")
            if context is None:
                raise LaunchRejected("no_course", "deep linking outside a course")
            next_url = reverse("lti:deep_link", kwargs={"launch_id": launch_id})
            return LaunchOutcome(user, platform, context, None, next_url, is_deep_link=True)
        has_course = isinstance(claims.get(CLAIM_CONTEXT), dict)
        resource_link = resource_link_record(
            platform=platform,
            claim=claims.get(CLAIM_RESOURCE_LINK) or {},
            context=context,
            has_course=has_course,
            custom=claims.get(CLAIM_CUSTOM),
            ags_claim=claims.get(CLAIM_AGS),
            read_only=read_only,
        )
        next_url = _landing(
            user, context, resource_link, has_course=has_course, read_only=read_only
        )
        instructor = user.role in STAFF_ROLES and teaches_course(roles)
        if context is not None and instructor and context.memberships_url and not read_only:
            from dreamseed.lti.tasks import roster_sync

            context_pk = context.pk
            transaction.on_commit(lambda: enqueue(roster_sync, context_pk))
    return LaunchOutcome(user, platform, context, resource_link, next_url)


def enqueue(task, *args) -> None:
    """Queue through the outbox: kept and sent when the broker is back if it is down now."""
    from dreamseed.outbox.services import outbox_enqueue

    try:
        outbox_enqueue(task, *args)
    except Exception:  # never break a launch that has committed
        log.exception("could not queue %s%r", task.name, args)


def _landing(
    user: User, context, resource_link: LtiResourceLink, *, has_course: bool, read_only: bool
) -> str:
    assignment = resource_link.assignment
    if assignment is not None:
        if user.role == Role.STUDENT and read_only:
            return reverse("assessments:mine")  # no new test: their results
        if user.role == Role.STUDENT:
            _enroll(assignment.school_class, user)
            return reverse("assessments:start", kwargs={"pk": assignment.pk})
        return reverse("assessments:assignment", kwargs={"pk": assignment.pk})
    if user.role in STAFF_ROLES:
        if context is not None:
            return reverse("classes:detail", kwargs={"pk": context.school_class_id})
        return reverse("dashboard")
    if has_course and context is None:
        return reverse("lti:notice", kwargs={"code": "course_not_ready"})
    return reverse("assessments:mine")


# --- Deep linking ---------------------------------------------------------------------------------


def deep_link_claims_ok(claims: dict) -> bool:
    return claims.get(CLAIM_MESSAGE_TYPE) == DEEP_LINKING_REQUEST and isinstance(
        claims.get(CLAIM_DEEP_LINKING), dict
    )


@dataclass(frozen=True)
class DeepLinkResponse:
    return_url: str
    jwt: str


def deep_link_respond(
    *,
    launch: SchoolMessageLaunch,
    user: User,
    assessment: Assessment,
    opens_at: datetime,
    closes_at: datetime,
    attempts_allowed: int,
    launch_url: str,
) -> DeepLinkResponse:
    """Sign the content item that places `assessment` in the course.

    Nothing is written: the choice travels, signed, in the link's custom parameters, and the
    assignment is made when the LMS first launches the link (services.resource_link_record).
    So a teacher who closes the LMS's dialog without saving leaves no orphan test that students
    would see. Answers a deep-linking launch once.
    """
    claims = launch.get_launch_data()
    if not cache.add(f"lti-deep-link-answered:{launch.get_launch_id()}", 1, 24 * 60 * 60):
        raise LaunchRejected("expired", "this deep-linking launch was already answered")
    choice = choice_sign(
        assessment=assessment,
        user=user,
        opens_at=opens_at,
        closes_at=closes_at,
        attempts=attempts_allowed,
    )
    line_item = (
        LineItem()
        .set_score_maximum(DEEP_LINK_SCORE_MAXIMUM)
        .set_label(assessment.name)
        .set_resource_id(f"dreamseed-assessment-{assessment.pk}")
        .set_tag("dreamseed")
    )
    resource = (
        DeepLinkResource()
        .set_url(launch_url)
        .set_title(assessment.name)
        .set_custom_params({CUSTOM_CHOICE: choice})
        .set_lineitem(line_item)
    )
    token = launch.get_deep_link().get_response_jwt([resource])
    return_url = claims[CLAIM_DEEP_LINKING]["deep_link_return_url"]
    return DeepLinkResponse(return_url=return_url, jwt=token)


# --- Finishing a launch in a new window -----------------------------------------------------------


def continue_token(*, user: User, next_url: str, origins: list[str]) -> str:
    """A signed, short-lived, single-use ticket to sign `user` in and open `next_url`."""
    return signing.dumps(
        {
            "schema": connection.schema_name,
            "user": user.pk,
            "next": next_url,
            "origins": origins,
            "nonce": secrets.token_urlsafe(16),
        },
        salt=CONTINUE_SALT,
    )


def continue_read(*, token: str) -> dict | None:
    try:
        payload = signing.loads(token, salt=CONTINUE_SALT, max_age=CONTINUE_MAX_AGE_SECONDS)
    except signing.BadSignature:
        return None
    if payload.get("schema") != connection.schema_name:
        return None
    next_url = payload.get("next") or ""
    if not next_url.startswith("/") or next_url.startswith("//"):
        return None
    return payload


def continue_consume(*, payload: dict) -> User | None:
    """The user the ticket names, the first time it is used."""
    if not cache.add(f"lti-continue:{payload['nonce']}", 1, CONTINUE_MAX_AGE_SECONDS * 2):
        return None
    return User.objects.filter(pk=payload["user"], is_active=True).first()
