"""Prometheus metrics: request latency by view, Celery task outcomes, active exam sessions.

Web processes record request latency themselves (multi-process mode when gunicorn runs several
workers: set PROMETHEUS_MULTIPROC_DIR). Celery workers usually run in other containers, so task
outcomes are counted in Redis and read back at scrape time, as is the number of sessions in
progress across schools (one query per scrape, cached for a few seconds).
"""

import contextlib
import logging
import os
import time

import redis
from django.conf import settings
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import REGISTRY

from dreamseed.core.tenancy import school_schemas_in_service

logger = logging.getLogger(__name__)

REQUEST_SECONDS = Histogram(
    "dreamseed_http_request_duration_seconds",
    "Time to answer an HTTP request, by view.",
    ["view", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 10),
)
TASK_KEY = "dreamseed:metrics:celery"
ACTIVE_SESSIONS_CACHE_SECONDS = 10
_active_cache: tuple[float, list[tuple[str, int]]] = (0.0, [])


def _redis():
    return redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=1)


def task_outcome_record(task_name: str, outcome: str) -> None:
    with contextlib.suppress(redis.RedisError):  # metrics never break work
        _redis().hincrby(TASK_KEY, f"{task_name}|{outcome}", 1)


def _active_sessions() -> list[tuple[str, int]]:
    global _active_cache
    expires, rows = _active_cache
    if time.monotonic() < expires:
        return rows
    from django.db import DatabaseError, connection, transaction

    schemas = school_schemas_in_service()  # broken schools left out (and logged)
    rows = []
    if schemas:
        union = " UNION ALL ".join(
            f"SELECT %s, count(*) FROM {connection.ops.quote_name(schema)}.assessments_examsession "
            "WHERE status = 'in_progress'"
            for schema in schemas
        )
        try:
            # A savepoint: a failed query must not break the request's transaction.
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(union, schemas)
                rows = [(schema, count) for schema, count in cursor.fetchall()]
        except DatabaseError:
            # The scrape still answers (latency, tasks); the gauge is missing until fixed.
            logger.exception("metrics: counting active exam sessions failed")
    _active_cache = (time.monotonic() + ACTIVE_SESSIONS_CACHE_SECONDS, rows)
    return rows


class AppCollector:
    """Metrics read at scrape time from Redis and PostgreSQL."""

    def describe(self):
        # Registering calls this instead of collect(), which would query at import time.
        yield CounterMetricFamily("dreamseed_celery_tasks", "Celery task outcomes.")
        yield GaugeMetricFamily("dreamseed_active_exam_sessions", "Exam sessions in progress.")

    def collect(self):
        tasks = CounterMetricFamily(
            "dreamseed_celery_tasks", "Celery task outcomes.", labels=["task", "outcome"]
        )
        try:
            for key, value in _redis().hgetall(TASK_KEY).items():
                task, outcome = key.decode().split("|", 1)
                tasks.add_metric([task, outcome], int(value))
        except redis.RedisError:
            pass
        yield tasks
        active = GaugeMetricFamily(
            "dreamseed_active_exam_sessions", "Exam sessions in progress.", labels=["school"]
        )
        for schema, count in _active_sessions():
            active.add_metric([schema], count)
        yield active


_app_collector = AppCollector()
REGISTRY.register(_app_collector)


def metrics_response_body() -> tuple[bytes, str]:
    registry = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # gunicorn with several workers: add up what every worker process wrote.
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        registry.register(_app_collector)
    return generate_latest(registry), CONTENT_TYPE_LATEST


def request_observe(request, response, seconds: float) -> None:
    match = getattr(request, "resolver_match", None)
    view = match.view_name if match else "unmatched"
    REQUEST_SECONDS.labels(view, request.method, f"{response.status_code // 100}xx").observe(
        seconds
    )
