"""Liveness and readiness checks used by /healthz and /readyz."""

import redis
from django.conf import settings
from django.db import connection


def check_database() -> str | None:
    """Return None when PostgreSQL answers, else a short reason."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error means "not ready"
        return exc.__class__.__name__
    return None


def check_redis() -> str | None:
    """Return None when Redis answers PING, else a short reason."""
    try:
        client = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=1)
        client.ping()
    except Exception as exc:
        return exc.__class__.__name__
    return None
