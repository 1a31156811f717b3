"""Settings for the Celery workers the report tests start (never for anything else).

On top of the project's settings: a short Redis visibility timeout, so that a task whose worker
was SIGKILLed is redelivered within seconds instead of an hour, swept every second; and keys of
their own for Redis's record of unacknowledged messages, so these workers only ever restore
messages of this test run (other runs share the Redis database)."""

import os

from dreamseed.settings import *  # noqa: F403

_prefix = os.environ.get("REPORTS_TEST_UNACKED_PREFIX", "reports-test")

CELERY_BROKER_TRANSPORT_OPTIONS = {
    **globals().get("CELERY_BROKER_TRANSPORT_OPTIONS", {}),
    "visibility_timeout": int(os.environ.get("REPORTS_TEST_VISIBILITY_TIMEOUT", "8")),
    "unacked_restore_interval": 1,
    "unacked_restore_throttle": 1,
    "unacked_key": f"{_prefix}-unacked",
    "unacked_index_key": f"{_prefix}-unacked_index",
    "unacked_mutex_key": f"{_prefix}-unacked_mutex",
}
