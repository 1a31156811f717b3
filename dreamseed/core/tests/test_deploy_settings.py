import os
import subprocess
import sys

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
