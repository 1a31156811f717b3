"""One policy for every request DreamSeed makes to an address a school configured (an LMS's key
set, token, AGS and NRPS endpoints): a school admin is anyone who signed up, so such a URL must
never reach the server's own network.

The rules, applied before a URL is saved (`validate_url`, for forms) and on every request and
every redirect hop (`outbound_session()`):
- http(s) only, no credentials in the URL; https only when OUTBOUND_HTTPS_ONLY (production);
- the host name is resolved and every address it resolves to must be globally routable: no
  loopback, private, shared (CGNAT), link-local (cloud metadata at 169.254.169.254), multicast,
  reserved or unspecified addresses, IPv4-mapped IPv6 forms of them included;
- the connection goes to the address that was checked (the pool is keyed by that IP, TLS still
  verifies the name), so a DNS answer that changes between check and connect does not help;
- short timeouts, a wall-clock limit on reading the body and a cap on its size; proxies from the
  environment are ignored.

OUTBOUND_ALLOW_LOOPBACK lets loopback addresses (127.0.0.0/8, ::1, localhost) through, for
development and the tests' simulated LMS; it is on by default only when DEBUG or TESTING.
"""

import ipaddress
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from requests.adapters import HTTPAdapter

CHUNK_BYTES = 64 * 1024
# Shared address space (RFC 6598) is neither private nor global in Python's tables: refuse it too.
EXTRA_BLOCKED_NETWORKS = (ipaddress.ip_network("100.64.0.0/10"),)


class OutboundBlocked(requests.RequestException):
    """The policy refused the request (or its response). `reason` is for people, translated."""

    def __init__(self, reason: str, *, url: str = ""):
        super().__init__(f"{reason} ({url})" if url else reason)
        self.reason = reason
        self.url = url


@dataclass(frozen=True)
class Target:
    """A URL that passed the policy: where to connect, and the name TLS and Host must carry."""

    scheme: str
    host: str
    port: int
    address: str  # the checked IP the connection goes to


def _allow_loopback() -> bool:
    return bool(getattr(settings, "OUTBOUND_ALLOW_LOOPBACK", False))


def address_refusal(address: str, *, allow_loopback: bool | None = None) -> str | None:
    """Why `address` (an IP) may not be reached, or None if it may."""
    if allow_loopback is None:
        allow_loopback = _allow_loopback()
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return _("“%(address)s” is not an IP address.") % {"address": address}
    if isinstance(ip, ipaddress.IPv6Address):
        mapped = ip.ipv4_mapped or ip.sixtofour
        if mapped is not None:
            ip = mapped
    if ip.is_loopback:
        return None if allow_loopback else _("it is this server itself (a loopback address)")
    if ip.is_link_local:
        return _("it is a link-local address (such as a cloud metadata service)")
    if ip.is_private or any(ip in network for network in EXTRA_BLOCKED_NETWORKS):
        return _("it is a private network address")
    if ip.is_multicast or ip.is_reserved or ip.is_unspecified or not ip.is_global:
        return _("it is not a public internet address")
    return None


def _resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


def check_url(url: str, *, allow_loopback: bool | None = None, resolve=None) -> Target:
    """Apply the policy to `url`; raise OutboundBlocked saying why, or return where to connect."""
    try:
        parts = urlsplit((url or "").strip())
        port = parts.port
    except ValueError:
        raise OutboundBlocked(_("This is not a valid web address."), url=url) from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise OutboundBlocked(_("The address must start with https://."), url=url)
    if scheme == "http" and settings.OUTBOUND_HTTPS_ONLY:
        raise OutboundBlocked(_("The address must use https://, not http://."), url=url)
    if parts.username is not None or parts.password is not None:
        raise OutboundBlocked(_("The address may not contain a user name or password."), url=url)
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        raise OutboundBlocked(_("The address has no host name."), url=url)
    port = port or (443 if scheme == "https" else 80)
    try:
        addresses = [str(ipaddress.ip_address(host))]  # an address literal: nothing to resolve
    except ValueError:
        addresses = None
    try:
        addresses = addresses or (resolve or _resolve)(host, port)
    except (OSError, UnicodeError) as error:
        raise OutboundBlocked(
            _("The host name “%(host)s” cannot be found.") % {"host": host}, url=url
        ) from error
    if not addresses:
        raise OutboundBlocked(
            _("The host name “%(host)s” cannot be found.") % {"host": host}, url=url
        )
    for address in addresses:
        why = address_refusal(address, allow_loopback=allow_loopback)
        if why:
            raise OutboundBlocked(
                _("DreamSeed does not connect to “%(host)s”: %(why)s.")
                % {"host": host, "why": why},
                url=url,
            )
    return Target(scheme=scheme, host=host, port=port, address=addresses[0])


def validate_url(url: str, *, resolve=None) -> None:
    """For forms: a ValidationError if the policy refuses `url` now. A host name that does not
    resolve at the moment is let through (DNS may be catching up); every request is checked
    again anyway."""
    try:
        check_url(url, resolve=resolve)
    except OutboundBlocked as error:
        if isinstance(error.__cause__, OSError | UnicodeError):
            return
        raise ValidationError(error.reason, code="outbound_blocked") from error


# --- requests, with the policy on every hop ------------------------------------------------------


class PolicyAdapter(HTTPAdapter):
    """Checks each request's URL (redirect hops included: requests sends each through here),
    connects to the checked address, and reads at most OUTBOUND_MAX_BYTES within the time
    limit."""

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        target = check_url(request.url)
        request._outbound_target = target
        default_port = 443 if target.scheme == "https" else 80
        host_header = target.host if ":" not in target.host else f"[{target.host}]"
        if target.port != default_port:
            host_header += f":{target.port}"
        request.headers["Host"] = host_header
        if timeout is None:
            timeout = (settings.OUTBOUND_CONNECT_TIMEOUT_SECONDS, settings.OUTBOUND_TIMEOUT_SECONDS)
        response = super().send(
            request, stream=True, timeout=timeout, verify=verify, cert=cert, proxies=None
        )
        _read_capped(response)
        return response

    def build_connection_pool_key_attributes(self, request, verify, cert=None):
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(
            request, verify, cert
        )
        target = getattr(request, "_outbound_target", None)
        if target is not None:
            host_params["host"] = target.address
            if target.scheme == "https":
                pool_kwargs["server_hostname"] = target.host
                pool_kwargs["assert_hostname"] = target.host
        return host_params, pool_kwargs


def _read_capped(response: requests.Response) -> None:
    limit = settings.OUTBOUND_MAX_BYTES
    deadline = time.monotonic() + settings.OUTBOUND_TIMEOUT_SECONDS
    declared = response.headers.get("Content-Length")
    try:
        if declared is not None and int(declared) > limit:
            response.close()
            raise OutboundBlocked(_("The answer is too large."), url=response.url)
        body = bytearray()
        for chunk in response.iter_content(CHUNK_BYTES):
            body.extend(chunk)
            if len(body) > limit:
                raise OutboundBlocked(_("The answer is too large."), url=response.url)
            if time.monotonic() > deadline:
                raise OutboundBlocked(_("The answer took too long."), url=response.url)
    except ValueError:  # a Content-Length that is not a number
        raise OutboundBlocked(_("The answer is malformed."), url=response.url) from None
    finally:
        response.close()
    response._content = bytes(body)
    response._content_consumed = True


class OutboundSession(requests.Session):
    """A requests session under the outbound policy (and never through environment proxies)."""

    def __init__(self):
        super().__init__()
        self.trust_env = False
        self.max_redirects = settings.OUTBOUND_MAX_REDIRECTS
        adapter = PolicyAdapter(max_retries=0)
        self.mount("http://", adapter)
        self.mount("https://", adapter)


def outbound_session() -> OutboundSession:
    return OutboundSession()
