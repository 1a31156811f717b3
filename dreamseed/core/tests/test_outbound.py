"""The outbound-request policy (dreamseed/core/outbound.py): which addresses a school-configured
URL may reach, checked before connecting, on every redirect hop, with timeouts and a size cap."""

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from django.core.exceptions import ValidationError

from dreamseed.core import outbound
from dreamseed.core.outbound import (
    OutboundBlocked,
    address_refusal,
    check_url,
    outbound_session,
    validate_url,
)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        server = self.server
        server.seen.append((self.path, self.headers.get("Host")))
        if self.path.startswith("/redirect"):
            target = self.path.split("to=", 1)[1]
            self.send_response(302)
            self.send_header("Location", target)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.path == "/big":
            body = b"x" * 4000
        elif self.path == "/big-chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for _ in range(10):
                self.wfile.write(b"190\r\n" + b"y" * 400 + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
            return
        elif self.path == "/slow":
            time.sleep(1.5)
            body = b"late"
        else:
            body = b'{"keys": []}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    httpd.seen = []
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    httpd.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield httpd
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.parametrize(
    "address",
    [
        "10.1.2.3",
        "172.16.0.5",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata
        "100.64.0.1",  # shared address space (CGNAT)
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "fe80::1",
        "fc00::1",
        "fd00:ec2::254",  # AWS metadata over IPv6
        "::ffff:10.0.0.1",
        "::ffff:169.254.169.254",
        "::",
    ],
)
def test_it_refuses_private_link_local_and_metadata_addresses_even_with_loopback_allowed(address):
    assert address_refusal(address, allow_loopback=True) is not None


@pytest.mark.parametrize("address", ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"])
def test_loopback_is_refused_unless_the_setting_allows_it(address):
    assert address_refusal(address, allow_loopback=False) is not None
    assert address_refusal(address, allow_loopback=True) is None


@pytest.mark.parametrize("address", ["8.8.8.8", "151.101.1.69", "2606:4700:4700::1111"])
def test_public_addresses_are_allowed(address):
    assert address_refusal(address, allow_loopback=False) is None


def test_it_checks_every_address_a_name_resolves_to():
    def resolve(host, port):
        return ["93.184.216.34", "10.0.0.7"]  # one public, one private: refused

    with pytest.raises(OutboundBlocked) as caught:
        check_url("https://lms.example.org/jwks", resolve=resolve, allow_loopback=False)
    assert "private" in caught.value.reason
    target = check_url(
        "https://lms.example.org:8443/jwks",
        resolve=lambda host, port: ["93.184.216.34"],
        allow_loopback=False,
    )
    assert (target.host, target.port, target.address) == ("lms.example.org", 8443, "93.184.216.34")


def test_a_name_that_resolves_to_loopback_is_loopback():
    with pytest.raises(OutboundBlocked):
        check_url("http://localhost:9/", allow_loopback=False)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://lms.example.org/jwks",
        "file:///etc/passwd",
        "https://user:secret@lms.example.org/jwks",
        "https:///no-host",
        "http://[::1",
        "gopher://127.0.0.1:6379/_FLUSHALL",
    ],
)
def test_it_refuses_urls_that_are_not_plain_web_addresses(url):
    with pytest.raises(OutboundBlocked):
        check_url(url, resolve=lambda host, port: ["93.184.216.34"])


def test_https_only_when_the_setting_says_so(settings):
    public = lambda host, port: ["93.184.216.34"]  # noqa: E731
    settings.OUTBOUND_HTTPS_ONLY = True
    with pytest.raises(OutboundBlocked) as caught:
        check_url("http://lms.example.org/jwks", resolve=public)
    assert "https://" in caught.value.reason
    check_url("https://lms.example.org/jwks", resolve=public)
    settings.OUTBOUND_HTTPS_ONLY = False
    check_url("http://lms.example.org/jwks", resolve=public)


def test_the_setting_defaults_to_allowing_loopback_only_in_development_and_tests(settings):
    assert settings.OUTBOUND_ALLOW_LOOPBACK is True  # TESTING
    settings.OUTBOUND_ALLOW_LOOPBACK = False
    assert address_refusal("127.0.0.1") is not None


def test_validate_url_gives_a_form_error_and_lets_unresolvable_names_through(settings):
    settings.OUTBOUND_ALLOW_LOOPBACK = False
    with pytest.raises(ValidationError) as caught:
        validate_url("http://127.0.0.1:8000/jwks")
    assert "loopback" in caught.value.messages[0]
    with pytest.raises(ValidationError):
        validate_url("https://169.254.169.254/latest/meta-data/")
    validate_url("https://no-such-host.invalid/jwks")  # checked again at every request


def test_a_request_to_loopback_is_refused_before_connecting(server, settings):
    settings.OUTBOUND_ALLOW_LOOPBACK = False
    with pytest.raises(OutboundBlocked):
        outbound_session().get(server.base + "/jwks")
    assert server.seen == []


def test_a_request_allowed_by_the_policy_goes_through(server):
    response = outbound_session().get(server.base + "/jwks")
    assert response.json() == {"keys": []}
    assert server.seen == [("/jwks", server.base.removeprefix("http://"))]


@pytest.mark.parametrize(
    "target",
    ["http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/", "http://[fd00::1]/"],
)
def test_every_redirect_hop_is_checked(server, target):
    with pytest.raises(OutboundBlocked):
        outbound_session().get(f"{server.base}/redirect?to={target}")
    assert len(server.seen) == 1  # the first hop only
    assert server.seen[0][0].startswith("/redirect?to=")


def test_a_redirect_back_to_loopback_is_refused_when_loopback_is_not_allowed(
    server, settings, monkeypatch
):
    # The first hop's name resolves to a public address (as a real LMS's would); it redirects to
    # this server's loopback: that hop is refused before any connection.
    settings.OUTBOUND_ALLOW_LOOPBACK = False
    session = outbound_session()
    monkeypatch.setattr(outbound, "_resolve", lambda host, port: ["93.184.216.34"])
    sent = []

    def fake_send(request, **kwargs):
        sent.append(request.url)
        response = requests.Response()
        response.status_code = 302
        response.headers["Location"] = server.base + "/jwks"
        response.url = request.url
        response.request = request
        response._content = b""
        response._content_consumed = True
        return response

    monkeypatch.setattr(
        outbound.HTTPAdapter,
        "send",
        lambda self, request, **kwargs: fake_send(request, **kwargs),
    )
    with pytest.raises(OutboundBlocked):
        session.get("http://lms.example.org/jwks")
    assert sent == ["http://lms.example.org/jwks"]
    assert server.seen == []


def test_it_connects_to_the_address_it_checked_and_keeps_the_host_name(server, monkeypatch):
    # "lms.example.org" resolves (once, at the check) to this server: the request reaches it,
    # with the name in the Host header, without a second lookup.
    port = server.server_address[1]
    lookups = []

    def resolve(host, port_):
        lookups.append(host)
        return ["127.0.0.1"]

    monkeypatch.setattr(outbound, "_resolve", resolve)
    response = outbound_session().get(f"http://lms.example.org:{port}/jwks")
    assert response.status_code == 200
    assert server.seen == [("/jwks", f"lms.example.org:{port}")]
    assert lookups == ["lms.example.org"]


@pytest.mark.parametrize("path", ["/big", "/big-chunked"])
def test_answers_over_the_size_cap_are_refused(server, settings, path):
    settings.OUTBOUND_MAX_BYTES = 1000
    with pytest.raises(OutboundBlocked) as caught:
        outbound_session().get(server.base + path)
    assert "too large" in caught.value.reason


def test_a_slow_answer_times_out(server, settings):
    settings.OUTBOUND_TIMEOUT_SECONDS = 0.3
    with pytest.raises(requests.Timeout):
        outbound_session().get(server.base + "/slow")


def test_environment_proxies_are_ignored(server, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", "http://10.9.9.9:3128")
    monkeypatch.setenv("http_proxy", "http://10.9.9.9:3128")
    response = outbound_session().get(server.base + "/jwks")
    assert response.status_code == 200
