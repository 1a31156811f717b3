"""Middleware that must run outside (before) tenant routing, plus request log context."""

import functools
import hmac
import re
import time
import uuid

import csp.middleware
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpResponse, HttpResponseForbidden, JsonResponse

from dreamseed.core import health
from dreamseed.core.logging import request_id_var, tenant_var
from dreamseed.core.metrics import request_observe

_REQUEST_ID_OK = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class HealthCheckMiddleware:
    """Answer /healthz and /readyz on any host, before the tenant lookup.

    Load balancers and orchestrators probe with whatever Host they like (often a bare IP), so
    these must not depend on a school domain existing or on ALLOWED_HOSTS.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path == "/healthz":
            return JsonResponse({"status": "ok"})
        if request.path == "/metrics":
            return _metrics(request)
        if request.path == "/readyz":
            # Without PostgreSQL nothing works: take this instance out of the load balancer.
            # Without Redis pages still work (cache misses, tasks kept in the outbox), and every
            # instance shares the same Redis: pulling them all would turn a slowdown into an
            # outage, so that is reported as "degraded" and stays ready.
            checks = {"database": health.check_database(), "redis": health.check_redis()}
            ready = checks["database"] is None
            status = "ok" if checks["redis"] is None else "degraded"
            body = {
                "status": status if ready else "unavailable",
                "checks": {name: problem or "ok" for name, problem in checks.items()},
            }
            response = JsonResponse(body, status=200 if ready else 503)
            if not ready:
                response["Retry-After"] = str(settings.DATABASE_DOWN_RETRY_AFTER)
            return response
        return self.get_response(request)


def _metrics(request):
    """Prometheus scrape endpoint: with METRICS_TOKEN set, only for `Authorization: Bearer
    <token>`; without it, only from this machine (loopback)."""
    token = settings.METRICS_TOKEN
    if token:
        allowed = hmac.compare_digest(request.headers.get("Authorization", ""), f"Bearer {token}")
    else:
        allowed = request.META.get("REMOTE_ADDR") in ("127.0.0.1", "::1")
    if not allowed:
        return HttpResponseForbidden("metrics: set METRICS_TOKEN and send it as a bearer token")
    from dreamseed.core.metrics import metrics_response_body

    body, content_type = metrics_response_body()
    return HttpResponse(body, content_type=content_type)


class RequestContextMiddleware:
    """Give each request an id (or keep a sane incoming X-Request-ID) and log its tenant."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _REQUEST_ID_OK.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        tenant = getattr(request, "tenant", None)
        id_token = request_id_var.set(request_id)
        tenant_token = tenant_var.set(getattr(tenant, "schema_name", "-"))
        started = time.perf_counter()
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(id_token)
            tenant_var.reset(tenant_token)
        elapsed = time.perf_counter() - started
        response["X-Request-ID"] = request_id
        response["Server-Timing"] = f"app;dur={elapsed * 1000:.1f}"
        request_observe(request, response, elapsed)
        return response


_CSP_PER_RESPONSE = (
    "_csp_config", "_csp_update", "_csp_replace",
    "_csp_config_ro", "_csp_update_ro", "_csp_replace_ro",
)  # fmt: skip


@functools.cache
def _plain_csp() -> tuple[tuple[str, str, str, tuple[str, ...]], ...]:
    """(header, value, exemption attribute, excluded path prefixes) of the site-wide policies."""
    from csp.constants import HEADER, HEADER_REPORT_ONLY
    from csp.utils import build_policy

    out = []
    for header, report_only, name in (
        (HEADER, False, "CONTENT_SECURITY_POLICY"),
        (HEADER_REPORT_ONLY, True, "CONTENT_SECURITY_POLICY_REPORT_ONLY"),
    ):
        value = build_policy(report_only=report_only)
        prefixes = tuple((getattr(settings, name, None) or {}).get("EXCLUDE_URL_PREFIXES") or ())
        exempt = "_csp_exempt_ro" if report_only else "_csp_exempt"
        if value:
            out.append((header, value, exempt, prefixes))
    return tuple(out)


@receiver(setting_changed)
def _csp_settings_changed(*, setting, **kwargs):
    if setting.startswith("CONTENT_SECURITY_POLICY"):
        _plain_csp.cache_clear()


class CSPMiddleware(csp.middleware.CSPMiddleware):
    """django-csp's middleware, except that the site-wide header (no nonce used, no per-view
    change) is built once per process instead of on every response."""

    def process_response(self, request, response):
        if getattr(request, "_csp_nonce", None) is not None or any(
            getattr(response, name, None) is not None for name in _CSP_PER_RESPONSE
        ):
            return super().process_response(request, response)
        if settings.DEBUG and response.status_code in (404, 500):
            return response
        for header, value, exempt, prefixes in _plain_csp():
            if (
                header not in response
                and getattr(response, exempt, False) is False
                and not request.path_info.startswith(prefixes)
            ):
                response[header] = value
        # As upstream: a nonce asked for after this point is an error, not a silent no-op.
        request.csp_nonce = csp.middleware.CheckableLazyObject(self._csp_nonce_post_response)
        return response
