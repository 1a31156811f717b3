"""Signup is anonymous and each new school clones a schema of some forty tables: it is throttled
per network address and for the whole platform. Only schools actually about to be created count;
a form with errors costs nothing and is not counted."""

import os
import subprocess
import sys

import pytest
from django.conf import settings as django_settings

from dreamseed.schools import throttle
from dreamseed.schools.models import School
from dreamseed.schools.tests.test_signup import VALID


@pytest.fixture
def limits(settings):
    settings.SIGNUP_MAX_PER_ADDRESS_PER_HOUR = 3
    settings.SIGNUP_MAX_PER_HOUR = 100
    throttle.signup_throttle_reset(address="198.51.100.7")
    throttle.signup_throttle_reset(address="198.51.100.8")
    throttle.signup_throttle_reset(address="2001:db8:1:2::1")
    throttle.signup_throttle_reset(address="2001:db8:1:3::1")
    throttle.signup_throttle_reset()
    return settings


def _signup(client, number, address, **extra):
    data = {**VALID, "subdomain": f"throttled-{number}", "name": f"Throttled {number}"}
    return client.post("/signup/", data, REMOTE_ADDR=address, **extra)


def test_one_address_creates_a_few_schools_an_hour_then_is_told_to_wait(
    public_client, personas, limits
):
    for number in range(3):
        assert _signup(public_client, number, "198.51.100.7").status_code == 302
    refused = _signup(public_client, 3, "198.51.100.7")
    assert refused.status_code == 429
    assert "Too many schools were created from your network" in refused.text
    assert refused["Retry-After"].isdigit() and 0 < int(refused["Retry-After"]) <= 3600
    assert not School.objects.filter(schema_name="throttled_3").exists()
    # Another address is not affected.
    assert _signup(public_client, 4, "198.51.100.8").status_code == 302


def test_mistakes_in_the_form_do_not_count(public_client, personas, limits):
    for _attempt in range(5):
        bad = public_client.post(
            "/signup/", {**VALID, "password2": "different-password"}, REMOTE_ADDR="198.51.100.7"
        )
        assert bad.status_code == 400
    assert _signup(public_client, 10, "198.51.100.7").status_code == 302


def test_an_ipv6_network_counts_as_one_address(public_client, personas, limits):
    for number in range(3):
        address = f"2001:db8:1:2::{number + 1}"
        assert _signup(public_client, 20 + number, address).status_code == 302
    assert _signup(public_client, 23, "2001:db8:1:2::ff").status_code == 429
    assert _signup(public_client, 24, "2001:db8:1:3::1").status_code == 302


def test_the_whole_platform_has_a_ceiling(public_client, personas, limits):
    limits.SIGNUP_MAX_PER_HOUR = 2
    assert _signup(public_client, 30, "198.51.100.7").status_code == 302
    assert _signup(public_client, 31, "198.51.100.8").status_code == 302
    refused = _signup(public_client, 32, "2001:db8:1:3::1")
    assert refused.status_code == 429
    assert "Signing up is paused" in refused.text
    assert not School.objects.filter(schema_name="throttled_32").exists()


def test_behind_a_trusted_proxy_the_forwarded_address_counts(public_client, personas, limits):
    limits.TRUST_X_FORWARDED_FOR = True
    for number in range(3):
        response = _signup(
            public_client,
            40 + number,
            "10.0.0.2",  # the proxy
            HTTP_X_FORWARDED_FOR=f"203.0.113.{number}, 198.51.100.7",
        )
        assert response.status_code == 302
    # The left entries are the client's to forge; the proxy's own (rightmost) entry counts.
    refused = _signup(
        public_client, 43, "10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.99, 198.51.100.7"
    )
    assert refused.status_code == 429


def test_outside_the_tests_the_limits_are_modest():
    """The suite raises the limits (many tests sign up from one address); a real process does
    not."""
    env = {
        **{key: value for key, value in os.environ.items() if key != "DJANGO_ALLOW_ASYNC_UNSAFE"},
        "DREAMSEED_TESTING": "0",
    }
    result = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings as s; "
         "print(s.SIGNUP_MAX_PER_ADDRESS_PER_HOUR, s.SIGNUP_MAX_PER_HOUR, s.TRUST_X_FORWARDED_FOR)"],
        cwd=django_settings.BASE_DIR, env={**env, "DJANGO_SETTINGS_MODULE": "dreamseed.settings"},
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.stdout.split() == ["3", "30", "False"], result.stderr
