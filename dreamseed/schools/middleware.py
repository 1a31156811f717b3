"""Tenant routing with a short per-process cache of host -> school.

django-tenants looks the host up in the public schema on every request; a school's host and
row change rarely, so each process keeps the answer for TENANT_HOST_CACHE_SECONDS. A school
saved in this process is forgotten at once; other processes see changes (for example a licence
update from a Stripe webhook) within the TTL.
"""

import time
from threading import Lock

from django.conf import settings
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django_tenants.middleware.main import TenantMainMiddleware

from dreamseed.schools.models import Domain, School

_cache: dict[str, tuple[float, School]] = {}
_lock = Lock()


class CachedTenantMiddleware(TenantMainMiddleware):
    def get_tenant(self, domain_model, hostname):
        ttl = getattr(settings, "TENANT_HOST_CACHE_SECONDS", 0)
        now = time.monotonic()
        if ttl > 0:
            cached = _cache.get(hostname)
            if cached is not None and cached[0] > now:
                return cached[1]
        tenant = super().get_tenant(domain_model, hostname)
        if ttl > 0:
            with _lock:
                _cache[hostname] = (now + ttl, tenant)
        return tenant


def tenant_host_cache_clear() -> None:
    with _lock:
        _cache.clear()


@receiver(post_save, sender=School)
@receiver(post_delete, sender=School)
@receiver(post_save, sender=Domain)
@receiver(post_delete, sender=Domain)
def _forget_changed_school(**kwargs):
    tenant_host_cache_clear()
