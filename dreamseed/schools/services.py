"""Creating schools: the public site's tenant, the template schema, and real schools."""

import logging
import re
import time
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_tenants.utils import schema_context

from dreamseed.schools.models import Domain, LicenceStatus, School
from dreamseed.schools.names import schema_exists_anyhow, schema_name_is_system

logger = logging.getLogger(__name__)

SUBDOMAIN_PATTERN = re.compile(r"^[a-z][a-z0-9-]{1,38}[a-z0-9]$")
# Host names we keep for the platform itself (or that would confuse people and browsers), and
# names of the database's own roles and tools. Schema names PostgreSQL uses are refused separately
# (dreamseed/schools/names.py), whatever this list holds.
RESERVED_SUBDOMAINS = frozenset([
    "www", "public", "admin", "api", "app", "apps", "static", "media", "assets", "cdn", "mail",
    "email", "smtp", "imap", "pop", "ftp", "ssh", "localhost", "dreamseed", "help", "support",
    "status", "docs", "blog", "billing", "stripe", "lti", "canvas", "moodle", "login", "signup",
    "auth", "account", "accounts", "dashboard", "template", "test", "root", "system", "internal",
    "operator", "operators", "administrator", "staff", "security", "abuse", "postmaster",
    "hostmaster", "webmaster", "noreply", "no-reply", "info", "contact", "sales",
    "metrics", "healthz", "readyz", "health", "monitoring", "grafana", "prometheus", "flower",
    "postgres", "postgresql", "redis", "celery", "worker", "beat", "web", "proxy", "dev",
    "staging", "sandbox", "webhook", "webhooks", "oauth", "sso", "jwks", "schema",
    "schemas", "template-school", "information-schema", "find", "i18n", "ns1", "ns2", "mx",
])  # fmt: skip


@dataclass(frozen=True)
class CreatedSchool:
    school: School
    admin: object
    seconds: float  # all of it
    schema_seconds: float  # the schema clone alone


def school_normalise_subdomain(raw: str) -> str:
    return (raw or "").strip().lower()


def school_validate_subdomain(subdomain: str) -> None:
    """Raise ValidationError naming what is wrong with a requested school address."""
    if not SUBDOMAIN_PATTERN.match(subdomain) or "--" in subdomain:
        raise ValidationError(
            _(
                "Use 3 to 40 lowercase letters, digits or hyphens, starting with a letter and "
                "not ending with a hyphen."
            ),
            code="invalid",
        )
    reserved = ValidationError(
        _("“%(subdomain)s” is reserved. Please choose another address."),
        code="reserved",
        params={"subdomain": subdomain},
    )
    schema_name = school_schema_name(subdomain)
    if subdomain in RESERVED_SUBDOMAINS or schema_name_is_system(schema_name):
        raise reserved
    if (
        Domain.objects.filter(domain=school_host(subdomain)).exists()
        or School.objects.filter(schema_name__iexact=schema_name).exists()
    ):
        raise ValidationError(
            _("The address “%(subdomain)s” is already taken."),
            code="taken",
            params={"subdomain": subdomain},
        )
    if schema_exists_anyhow(schema_name):
        # A schema no school owns (an extension's, a leftover): never write into it.
        raise reserved


def school_host(subdomain: str) -> str:
    return f"{subdomain}.{settings.BASE_DOMAIN}"


def school_schema_name(subdomain: str) -> str:
    # Schema names are SQL identifiers: hyphens become underscores (subdomains have none).
    return subdomain.replace("-", "_")


def platform_bootstrap() -> School:
    """Make sure the public tenant (the marketing/signup site) and the school template exist.

    Safe to call repeatedly; `make run`, the test suite and the container entrypoint all do.
    """
    public, _created = School.objects.get_or_create(
        schema_name="public", defaults={"name": "DreamSeed", "licence_status": LicenceStatus.ACTIVE}
    )
    Domain.objects.get_or_create(
        domain=settings.BASE_DOMAIN, defaults={"tenant": public, "is_primary": True}
    )
    if not School.objects.filter(schema_name=settings.SCHOOL_TEMPLATE_SCHEMA).exists():
        # The template is a tenant row so that every `migrate_schemas` keeps it current;
        # it has no domain and is hidden from every list of schools.
        template = School(
            schema_name=settings.SCHOOL_TEMPLATE_SCHEMA, name="(school template)", is_template=True
        )
        template.save(verbosity=0)
    return public


@transaction.atomic
def school_create(
    *,
    name: str,
    subdomain: str,
    admin_email: str,
    admin_first_name: str,
    admin_last_name: str,
    admin_password: str,
    email_confirmed: bool = False,
) -> CreatedSchool:
    """Create a school (schema cloned from the template), its host name and first admin.

    All of it happens in one transaction: PostgreSQL DDL is transactional, so a failure part
    way leaves no schema, no row and no user behind.

    `email_confirmed`: the platform vouches for the admin's address (the demo, the tests). At
    signup it is not, and the school cannot invite or buy seats until it is
    (dreamseed/schools/confirmation.py).
    """
    from dreamseed.accounts.models import Role, User

    started = time.perf_counter()
    subdomain = school_normalise_subdomain(subdomain)
    school_validate_subdomain(subdomain)
    school = School(
        schema_name=school_schema_name(subdomain),
        name=name.strip(),
        plan="trial",
        seats=settings.BILLING_TRIAL_SEATS,
        licence_status=LicenceStatus.TRIALING,
        admin_email=admin_email.strip().lower(),
        email_confirmed_at=timezone.now() if email_confirmed else None,
    )
    school.licence_expires_at = timezone.now() + timedelta(days=settings.BILLING_TRIAL_DAYS)
    schema_started = time.perf_counter()
    school.save(verbosity=0)
    schema_seconds = time.perf_counter() - schema_started
    Domain.objects.create(domain=school_host(subdomain), tenant=school, is_primary=True)
    with schema_context(school.schema_name):
        admin = User.objects.create_user(
            username=admin_email.strip().lower(),
            email=admin_email.strip().lower(),
            password=admin_password,
            first_name=admin_first_name.strip(),
            last_name=admin_last_name.strip(),
            role=Role.ADMIN,
        )
    seconds = time.perf_counter() - started
    logger.info(
        "school created",
        extra={"schema": school.schema_name, "seconds": seconds, "schema_seconds": schema_seconds},
    )
    return CreatedSchool(school=school, admin=admin, seconds=seconds, schema_seconds=schema_seconds)
