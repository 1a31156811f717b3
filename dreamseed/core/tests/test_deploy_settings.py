import os
import subprocess
import sys

import pytest
from django.conf import settings


def test_check_deploy_is_clean_with_production_settings():
    env = {
        **{key: value for key, value in os.environ.items() if key != "DJANGO_ALLOW_ASYNC_UNSAFE"},
        "DREAMSEED_ENV": "production",
        "DREAMSEED_TESTING": "0",
        "SECRET_KEY": "x" * 20 + "-production-like-secret-key-with-enough-entropy-0123456789",
        "ALLOWED_HOSTS": ".dreamseed.example",
        "BASE_DOMAIN": "dreamseed.example",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=settings.BASE_DIR, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    env = {**os.environ, "DREAMSEED_ENV": "production", "SECRET_KEY": ""}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=settings.BASE_DIR, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def _production_check(secret_key: str) -> subprocess.CompletedProcess:
    env = {
        **{key: value for key, value in os.environ.items() if key != "DJANGO_ALLOW_ASYNC_UNSAFE"},
        "DREAMSEED_ENV": "production",
        "DREAMSEED_TESTING": "0",
        "SECRET_KEY": secret_key,
        "ALLOWED_HOSTS": ".dreamseed.example",
        "BASE_DOMAIN": "dreamseed.example",
    }
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=settings.BASE_DIR, env=env, capture_output=True, text=True,
    )  # fmt: skip


def _env_example_secret_key() -> str:
    for line in (settings.BASE_DIR / ".env.example").read_text().splitlines():
        if line.startswith("SECRET_KEY="):
            return line.removeprefix("SECRET_KEY=")
    raise AssertionError("no SECRET_KEY in .env.example")


@pytest.mark.parametrize(
    "secret_key",
    [
        pytest.param(_env_example_secret_key(), id="the .env.example placeholder"),
        pytest.param("dev-only-insecure-key-never-use-in-production-0123456789abcdefghijklmnop",
                     id="the development key"),
        pytest.param("django-insecure-" + "k3y" * 20, id="django's startproject key"),
        pytest.param("a-short-but-random-Xk93Lq", id="too short"),
        pytest.param("ab" * 40, id="too few different characters"),
        pytest.param("change-me-" + "x1y2z3" * 10, id="says change me"),
    ],
)  # fmt: skip
def test_production_refuses_to_start_with_a_placeholder_or_weak_secret_key(secret_key):
    result = _production_check(secret_key)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr and "secrets.token_urlsafe(50)" in result.stderr


def test_production_starts_with_a_real_secret_key():
    result = _production_check("Zq0v1J5HhTqf1mX9R2pL7c-3uYw8sKdN4eBaG6oIjVtC_rEyMxWzP5l")
    assert result.returncode == 0, result.stderr


def test_pages_send_a_strict_content_security_policy(public_client):
    response = public_client.get("/")
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_the_site_wide_policy_is_built_once_and_follows_setting_changes(public_client, settings):
    """The CSP header string is cached per process; it is exactly django-csp's, and a change of
    the setting (as in override_settings) is picked up."""
    from csp.utils import build_policy

    assert public_client.get("/")["Content-Security-Policy"] == build_policy()
    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": {"default-src": ["'none'"]}}
    assert public_client.get("/")["Content-Security-Policy"] == "default-src 'none'"
    assert "Content-Security-Policy-Report-Only" not in public_client.get("/")
    settings.CONTENT_SECURITY_POLICY_REPORT_ONLY = {
        "DIRECTIVES": {"img-src": ["'self'"]},
        "EXCLUDE_URL_PREFIXES": ["/accounts/"],
    }
    report_only = public_client.get("/")["Content-Security-Policy-Report-Only"]
    assert report_only == build_policy(report_only=True) and "img-src 'self'" in report_only
    assert "Content-Security-Policy-Report-Only" not in public_client.get("/accounts/login/")


def test_a_per_view_policy_change_still_applies(client_for, alpha_admin):
    """Views that widen the policy (billing's Stripe form target) keep their own header."""
    response = client_for(alpha_admin).get("/billing/")
    assert response.status_code == 200
    assert "checkout.stripe.com" in response["Content-Security-Policy"]
    assert "checkout.stripe.com" not in client_for(alpha_admin).get("/")["Content-Security-Policy"]


def test_compose_publishes_web_only_to_a_proxy_on_the_same_machine():
    """With TRUST_X_FORWARDED_PROTO=1 the app believes X-Forwarded-Proto: only the proxy, which
    sets it and strips a client's, may reach gunicorn. No service listens on every interface."""
    import yaml

    compose = yaml.safe_load((settings.BASE_DIR / "docker-compose.yml").read_text())
    published = {name: service.get("ports", []) for name, service in compose["services"].items()}
    assert published["web"], "web is published for a proxy on the host"
    for name, ports in published.items():
        for port in ports:
            assert str(port).startswith("127.0.0.1:"), (name, port)
    readme = (settings.BASE_DIR / "README.md").read_text()
    assert "TRUST_X_FORWARDED_PROTO" in readme and "127.0.0.1:8000" in readme
