"""Clear a school's over-capacity state as soon as enough students are deactivated (or removed),
wherever that happens: the staff pages, the API, an LMS roster sync."""

from django.db import connection, transaction

from dreamseed.schools.models import School


def student_changed(sender, instance, update_fields=None, **kwargs):
    if update_fields is not None and not {"is_active", "role"} & set(update_fields):
        return  # a login (last_login), a password change...: seats unchanged
    tenant = getattr(connection, "tenant", None)
    # Only schools flagged over capacity pay for the check (the tenant row may be a few seconds
    # old; the billing page and the daily reconciliation catch what this misses).
    if not isinstance(tenant, School) or tenant.licence_over_capacity_since is None:
        return
    from dreamseed.billing.services import school_capacity_check

    school_pk = tenant.pk
    transaction.on_commit(lambda: school_capacity_check(school=School(pk=school_pk)), robust=True)
