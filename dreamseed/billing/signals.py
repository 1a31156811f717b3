"""Clear a school's over-capacity state as soon as enough students are deactivated (or removed),
wherever that happens: the staff pages, the API, an LMS roster sync."""

from django.db import connection, transaction
from django_tenants.utils import get_public_schema_name

from dreamseed.schools.models import School


def student_changed(sender, instance, update_fields=None, **kwargs):
    if update_fields is not None and not {"is_active", "role"} & set(update_fields):
        return  # a login (last_login), a password change...: seats unchanged
    if connection.schema_name == get_public_schema_name():
        return
    tenant = getattr(connection, "tenant", None)
    if not isinstance(tenant, School):
        # schema_context() (tasks, commands) sets a stand-in without the school's fields.
        tenant = School.objects.filter(schema_name=connection.schema_name).first()
    # Only schools flagged over capacity pay for the check (a request's tenant row may be a few
    # seconds old; the billing page and the daily reconciliation catch what this misses).
    if tenant is None or tenant.licence_over_capacity_since is None:
        return
    from dreamseed.billing.services import school_capacity_check

    school_pk = tenant.pk
    transaction.on_commit(lambda: school_capacity_check(school=School(pk=school_pk)), robust=True)
