"""Signup throttling: a few new schools an hour per network address, and a ceiling for the whole
platform. Each new school clones a schema of some forty tables, and signup is anonymous.

Counters live in the cache (Redis), one per address (an IPv6 /64 counts as one address: one
household or server gets a whole /64) and one global, in fixed one-hour windows. Only schools
about to be created are counted; a form with mistakes costs nothing.
"""

import ipaddress
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext as _

WINDOW_SECONDS = 3600


@dataclass(frozen=True)
class SignupRefusal:
    message: str
    retry_after: int  # seconds


def client_network(request) -> str:
    """The caller's network as a throttling key (see address_network).

    Behind a proxy (TRUST_X_FORWARDED_FOR), the rightmost X-Forwarded-For entry: the one our
    proxy appended; entries left of it are whatever the client sent.
    """
    address = request.META.get("REMOTE_ADDR", "")
    if settings.TRUST_X_FORWARDED_FOR:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        entries = [entry.strip() for entry in forwarded.split(",") if entry.strip()]
        if entries:
            address = entries[-1]
    return address_network(address)


def address_network(address: str) -> str:
    """IPv4 addresses as they are, IPv6 ones by their /64."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address or "unknown"
    if parsed.version == 6:
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


def _keys(network: str | None) -> tuple[str, int]:
    window = int(time.time()) // WINDOW_SECONDS
    retry_after = (window + 1) * WINDOW_SECONDS - int(time.time())
    suffix = f"address:{network}" if network is not None else "all"
    return f"signup-throttle:{window}:{suffix}", max(retry_after, 1)


def _take(key: str) -> int:
    cache.add(key, 0, timeout=WINDOW_SECONDS * 2)
    return cache.incr(key)


def signup_throttle_take(request) -> SignupRefusal | None:
    """Count one school about to be created from this request; a SignupRefusal (nothing counted
    against the global ceiling) if the address or the platform is over its hourly limit."""
    network = client_network(request)
    key, retry_after = _keys(network)
    if _take(key) > settings.SIGNUP_MAX_PER_ADDRESS_PER_HOUR:
        return SignupRefusal(
            _(
                "Too many schools were created from your network in the last hour. Please try "
                "again in %(minutes)s minutes, or ask us for help."
            )
            % {"minutes": (retry_after + 59) // 60},
            retry_after,
        )
    global_key, retry_after = _keys(None)
    if _take(global_key) > settings.SIGNUP_MAX_PER_HOUR:
        return SignupRefusal(
            _(
                "Signing up is paused for a little while: many schools were created in the last "
                "hour. Please try again in %(minutes)s minutes."
            )
            % {"minutes": (retry_after + 59) // 60},
            retry_after,
        )
    return None


def signup_throttle_reset(*, address: str | None = None) -> None:
    """Forget this window's count for `address` (or the global one): for the operator's shell
    and the tests."""
    if address is None:
        cache.delete(_keys(None)[0])
        return
    cache.delete(_keys(address_network(address))[0])
