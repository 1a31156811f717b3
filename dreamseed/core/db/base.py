"""django-tenants' backend, with the connection's search_path remembered across requests.

django-tenants already skips `SET search_path` within a request once it has run
(TENANT_LIMIT_SET_CALLS), and forgets it whenever PostgreSQL could have discarded it: a
rollback, a rollback to a savepoint, a closed connection, a failed SET. But every
`set_tenant()` (the tenant middleware calls it on every request) forgot it too, so each request
paid one more round trip for a SET that changed nothing.

Here the path last set on this connection is kept in `_live_search_path`, cleared by exactly the
same events as django-tenants' own flag. A request for the same school on the same connection
reuses it; any other school, or any of those events, issues the SET as before.

It also spares a busy connection Django's health check (`CONN_HEALTH_CHECKS`: a `SELECT 1`
round trip before the first query of every request). The check exists for connections that died
while idle (a database restart, a dropped TCP connection). A connection that finished a request
without a database error less than `DATABASE_HEALTH_CHECK_GRACE` seconds ago (default 1; 0 checks
before every request, as Django does) is not checked again; an idle one still is.

And it recycles a connection that has served many schools. PostgreSQL keeps, per connection,
the catalogue entries of every table it has touched: each school's schema adds its own (about
0.2 MB a school), so a long-lived connection that wanders over hundreds of schools grows to
hundreds of MB. After `DATABASE_MAX_SCHOOLS_PER_CONNECTION` distinct schools the connection is
closed between requests (or between schools in a sweep) and the next one starts small.
"""

import time

from django.conf import settings
from django_tenants.postgresql_backend import base


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, *args, **kwargs):
        self._live_search_path = None
        self._worked_at = None  # when a request last finished on this connection without errors
        self._schools_served = set()  # schemas this connection has had in its search_path
        super().__init__(*args, **kwargs)

    def close_if_health_check_failed(self):
        if (
            not self.health_check_done
            and self._worked_at is not None
            and time.monotonic() - self._worked_at < settings.DATABASE_HEALTH_CHECK_GRACE
        ):
            self.health_check_done = True
            return
        super().close_if_health_check_failed()

    def close_if_unusable_or_obsolete(self):
        # Called when a request starts and when it ends. `health_check_done` is set once the
        # request used the connection; `errors_occurred`, by any database error since.
        if self.connection is not None and self.health_check_done and not self.errors_occurred:
            self._worked_at = time.monotonic()
        super().close_if_unusable_or_obsolete()
        self.recycle_if_spread()

    def recycle_if_spread(self) -> bool:
        """Close the connection if it has served too many schools (outside a transaction)."""
        limit = settings.DATABASE_MAX_SCHOOLS_PER_CONNECTION
        if (
            limit
            and self.connection is not None
            and not self.in_atomic_block
            and len(self._schools_served) >= limit
        ):
            self.close()
            return True
        return False

    def _handle_search_path(self, cursor=None):
        if self.search_path_set_schemas or self._setting_search_path or not self.schema_name:
            return super()._handle_search_path(cursor)
        if (
            self.connection is not None
            and self._live_search_path is not None
            and self._live_search_path == self._get_cursor_search_paths()
        ):
            self.search_path_set_schemas = self._live_search_path
            return None
        super()._handle_search_path(cursor)
        self._live_search_path = self.search_path_set_schemas
        self._schools_served.add(self.schema_name)
        return None

    # PostgreSQL may have dropped the SET (or the session): forget it, as django-tenants does.

    def close(self):
        self._live_search_path = None
        self._worked_at = None
        self._schools_served = set()
        super().close()

    def rollback(self):
        self._live_search_path = None
        super().rollback()

    def savepoint_rollback(self, sid):
        try:
            super().savepoint_rollback(sid)
        finally:
            self._live_search_path = None

    def connect(self):
        self._live_search_path = None
        self._worked_at = None
        self._schools_served = set()
        super().connect()
