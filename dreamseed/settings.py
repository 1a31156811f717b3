"""DreamSeed settings: one file, every knob read from the environment with a safe dev default.

`DREAMSEED_ENV=production` switches on the production posture (secrets required, HTTPS-only
cookies, HSTS); anything else is development, where `make run` and `make test` need no variables
at all because the embedded stack listens on the defaults below.
"""

import os
import sys
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from dreamseed.env import env_bool, env_float, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

ENVIRONMENT = env_str("DREAMSEED_ENV", "development")
# Under pytest (and in the worker processes the tests start) everything that is shared with a
# running `make run` (Redis databases) moves aside, and password hashing is made cheap.
TESTING = env_bool("DREAMSEED_TESTING", "pytest" in sys.modules)
if TESTING:
    # Each test run gets its own database, Celery queue and cache prefix, so that two runs on
    # one machine (or a run beside `make run`) never see each other's data or tasks. Worker
    # processes started by the tests inherit the id through the environment.
    TEST_RUN_ID = os.environ.setdefault("DREAMSEED_TEST_RUN_ID", str(os.getpid()))
PRODUCTION = ENVIRONMENT == "production"
DEBUG = env_bool("DEBUG", not PRODUCTION)

DEV_SECRET_KEY = "dev-only-insecure-key-never-use-in-production-0123456789abcdefghijklmnop"
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured("SECRET_KEY must be set when DREAMSEED_ENV=production")
    SECRET_KEY = DEV_SECRET_KEY
elif PRODUCTION and (
    # Django's own test (check --deploy only warns), plus keys copied from examples.
    len(SECRET_KEY) < 50
    or len(set(SECRET_KEY)) < 5
    or SECRET_KEY.startswith("django-insecure")
    or SECRET_KEY == DEV_SECRET_KEY
    or any(word in SECRET_KEY.lower() for word in ("change-me", "changeme", "placeholder"))
):
    raise ImproperlyConfigured(
        "SECRET_KEY is a placeholder or too weak (at least 50 random characters): make one with "
        "python3 -c 'import secrets; print(secrets.token_urlsafe(50))'"
    )

# The apex domain: the public site lives here and each school at <subdomain>.<BASE_DOMAIN>.
BASE_DOMAIN = env_str("BASE_DOMAIN", "localhost")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [BASE_DOMAIN, f".{BASE_DOMAIN}", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# The embedded dev stack (dreamseed/devstack.py) listens on these ports.
DEV_POSTGRES_PORT = env_int("DREAMSEED_PG_PORT", 54329)
DEV_REDIS_PORT = env_int("DREAMSEED_REDIS_PORT", 63799)

DATABASE_URL = env_str(
    "DATABASE_URL", f"postgres://postgres@127.0.0.1:{DEV_POSTGRES_PORT}/dreamseed"
)
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL,
        # Tests close connections after each request so the live server's threads leave none
        # open when the test database is dropped.
        conn_max_age=0 if TESTING else env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
# django-tenants' backend, keeping the connection's search_path across requests for the same
# school (dreamseed/core/db/base.py).
DATABASES["default"]["ENGINE"] = "dreamseed.core.db"
# Parameters bound by the server and statements prepared once per connection (psycopg prepares a
# statement the Nth time it runs): PostgreSQL skips parsing and planning on the answer path's
# repeated statements (about 40% of its CPU per answer, bench/answer_cpu.py) and Python skips
# quoting values. A plan is re-made when the search_path (the school) changes.
# DATABASE_PREPARE_THRESHOLD=0 turns preparing off (for a pooler that cannot keep prepared
# statements; only session pooling suits the per-connection search_path anyway).
DATABASES["default"].setdefault("OPTIONS", {})["server_side_binding"] = True
if (prepare_threshold := env_int("DATABASE_PREPARE_THRESHOLD", 5)) > 0:
    DATABASES["default"]["OPTIONS"]["prepare_threshold"] = prepare_threshold
# Seconds to wait for PostgreSQL to accept a connection: during a restart a request fails fast
# with the "back in a moment" 503 (dreamseed/core/dbdown.py) instead of hanging; and the
# Retry-After that response sends.
DATABASES["default"]["OPTIONS"]["connect_timeout"] = env_int("DATABASE_CONNECT_TIMEOUT", 3)
DATABASE_DOWN_RETRY_AFTER = env_int("DATABASE_DOWN_RETRY_AFTER", 5)
DATABASE_DOWN_LOG_SECONDS = env_float("DATABASE_DOWN_LOG_SECONDS", 10.0)
# A connection that served a request without a database error less than this many seconds ago
# skips the health check's round trip (dreamseed/core/db/base.py); 0 checks before every request.
DATABASE_HEALTH_CHECK_GRACE = env_float("DATABASE_HEALTH_CHECK_GRACE", 1.0)
# A connection is closed (between requests) after serving this many schools: PostgreSQL caches
# every touched school's catalogue per connection (dreamseed/core/db/base.py). 0: never.
DATABASE_MAX_SCHOOLS_PER_CONNECTION = env_int("DATABASE_MAX_SCHOOLS_PER_CONNECTION", 100)
if TESTING:
    DATABASES["default"]["TEST"] = {"NAME": f"test_dreamseed_{TEST_RUN_ID}"}
DATABASE_ROUTERS = ("django_tenants.routers.TenantSyncRouter",)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL", f"redis://127.0.0.1:{DEV_REDIS_PORT}")
# Redis logical databases: broker, cache, results. Tests use their own three.
REDIS_DB_BROKER, REDIS_DB_CACHE, REDIS_DB_RESULTS = (5, 6, 7) if TESTING else (0, 1, 2)

# --- Tenancy -----------------------------------------------------------------------------------

SHARED_APPS = [
    "django_tenants",
    "dreamseed.core",
    "dreamseed.outbox",
    "dreamseed.backups",
    "dreamseed.schools",
    "dreamseed.billing",
    "dreamseed.accounts",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.admin",
    "django.contrib.postgres",
    "axes",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "dreamseed.api",
]
TENANT_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "dreamseed.accounts",
    "axes",
    "rest_framework.authtoken",
    "dreamseed.classes",
    "dreamseed.itembank",
    "dreamseed.assessments",
    "dreamseed.lti",
    "dreamseed.reports",
    "dreamseed.privacy",
]
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "schools.School"
TENANT_DOMAIN_MODEL = "schools.Domain"
PUBLIC_SCHEMA_URLCONF = "dreamseed.urls_public"
ROOT_URLCONF = "dreamseed.urls"
# New schools are cloned from an always-migrated template schema: ~0.2 s instead of a full
# migration run inside the signup request.
TENANT_CREATION_FAKES_MIGRATIONS = True
TENANT_BASE_SCHEMA = "template_school"
SCHOOL_TEMPLATE_SCHEMA = TENANT_BASE_SCHEMA
# Set the search_path once per connection and tenant switch, not before every query (which
# doubled the round trips of every request).
TENANT_LIMIT_SET_CALLS = True
# Seconds each process remembers which school a host name belongs to (0: ask every time).
TENANT_HOST_CACHE_SECONDS = 0 if TESTING else env_int("TENANT_HOST_CACHE_SECONDS", 30)

# --- Request handling --------------------------------------------------------------------------

MIDDLEWARE = [
    "dreamseed.core.middleware.HealthCheckMiddleware",
    # Static files are the same for every school: served before the tenant lookup, so they
    # need no database (the "back in a moment" page keeps its stylesheet during an outage).
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "dreamseed.schools.middleware.CachedTenantMiddleware",
    "dreamseed.core.middleware.RequestContextMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "dreamseed.schools.licensing_middleware.LicenceReadOnlyMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "dreamseed.core.middleware.CSPMiddleware",
    "axes.middleware.AxesMiddleware",
    # Needs request.user: records staff views and exports of student data in the school's audit
    # log (the routes are listed in dreamseed/privacy/routes.py).
    "dreamseed.privacy.middleware.AuditMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "dreamseed.core.context_processors.site",
                "dreamseed.billing.context_processors.licence",
                "dreamseed.schools.context_processors.email_confirmation",
            ],
        },
    }
]

WSGI_APPLICATION = "dreamseed.wsgi.application"

# --- Auth --------------------------------------------------------------------------------------

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "dreamseed.accounts.backends.AccountBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Argon2id first (dreamseed/accounts/hashers.py); PBKDF2 hashes still verify and are upgraded at
# the next sign-in.
PASSWORD_ARGON2_TIME_COST = env_int("PASSWORD_ARGON2_TIME_COST", 2)
PASSWORD_ARGON2_MEMORY_KIB = env_int("PASSWORD_ARGON2_MEMORY_KIB", 19456)
PASSWORD_ARGON2_PARALLELISM = env_int("PASSWORD_ARGON2_PARALLELISM", 1)
PASSWORD_HASHERS = [
    "dreamseed.accounts.hashers.MeasuredArgon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "accounts:login"

# Login throttling: lock a username+address pair after repeated failures, per school schema.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = env_int("AXES_COOLOFF_MINUTES", 15) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False

# Sessions are rows in each school's schema, read through the (schema-prefixed) Redis cache.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 60 * 60 * 12)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# --- Internationalisation ----------------------------------------------------------------------

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("ko", _("Korean")), ("es", _("Spanish"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- Static and media --------------------------------------------------------------------------

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / ".staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / ".dev" / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# Production: generated files (reports) in an S3-compatible bucket when one is configured
# (requirements/prod.txt has django-storages). Keep it private: downloads are streamed by views
# that check access.
if env_str("AWS_STORAGE_BUCKET_NAME"):
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env_str("AWS_STORAGE_BUCKET_NAME"),
            "endpoint_url": env_str("AWS_S3_ENDPOINT_URL") or None,
            "region_name": env_str("AWS_S3_REGION_NAME") or None,
            "access_key": env_str("AWS_ACCESS_KEY_ID") or None,
            "secret_key": env_str("AWS_SECRET_ACCESS_KEY") or None,
            "location": env_str("AWS_LOCATION", "media"),
            "default_acl": None,
            "querystring_auth": True,
            "file_overwrite": True,
            "object_parameters": {"CacheControl": "private, no-store"},
        },
    }
# Outside production, serve straight from the source folders (no collectstatic step needed).
WHITENOISE_USE_FINDERS = not PRODUCTION
WHITENOISE_AUTOREFRESH = DEBUG

# --- Cache, Celery -----------------------------------------------------------------------------

CACHES = {
    "default": {
        "BACKEND": "dreamseed.core.cache.DreamSeedRedisCache",
        "LOCATION": f"{REDIS_URL}/{REDIS_DB_CACHE}",
        "KEY_FUNCTION": "django_tenants.cache.make_key",
        "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
        "KEY_PREFIX": f"test{TEST_RUN_ID}" if TESTING else "",
        # Loopback Redis answers in microseconds; a server that does not is treated as down
        # (dreamseed/core/cache.py: reads miss, writes are dropped) rather than waited for.
        "OPTIONS": {
            "socket_connect_timeout": env_float("CACHE_SOCKET_TIMEOUT", 0.5),
            "socket_timeout": env_float("CACHE_SOCKET_TIMEOUT", 0.5),
        },
    }
}
# After a failed cache call, seconds before Redis is asked again; and between two log lines
# about the same outage.
CACHE_RETRY_SECONDS = env_float("CACHE_RETRY_SECONDS", 1.0)
CACHE_ERROR_LOG_SECONDS = env_float("CACHE_ERROR_LOG_SECONDS", 60.0)

CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", f"{REDIS_URL}/{REDIS_DB_BROKER}")
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND", f"{REDIS_URL}/{REDIS_DB_RESULTS}")
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_TENANT_CACHE_SECONDS = 30
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE: dict = {
    "sessions-expire": {
        "task": "dreamseed.assessments.tasks.sessions_expire_all_schools",
        "schedule": 60.0,
    },
    "sessions-expire-every-school": {
        "task": "dreamseed.assessments.tasks.sessions_expire_every_school",
        "schedule": crontab(minute=7),
    },
    "itembank-statistics-nightly": {
        "task": "dreamseed.itembank.tasks.item_statistics_refresh_all_schools",
        "schedule": crontab(hour=2, minute=15),
    },
    "itembank-pilot-calibration-nightly": {
        "task": "dreamseed.itembank.tasks.pilot_calibration_check_all_schools",
        "schedule": crontab(hour=2, minute=45),
    },
    "report-files-cleanup-daily": {
        "task": "dreamseed.reports.tasks.report_files_cleanup_all_schools",
        "schedule": crontab(hour=3, minute=30),
    },
    "teacher-digest-weekly": {
        "task": "dreamseed.reports.tasks.teacher_digest_send_all_schools",
        "schedule": crontab(hour=6, minute=30, day_of_week="mon"),
    },
}
# Periodic work done in every school as one pass (dreamseed/core/sweeps.py): the beat tasks
# above queue these by name. `function` runs in each school; see core.sweeps.SweepJob.
SWEEP_JOBS: list[dict] = [
    # Every minute: only schools with a session due (the index is marked when a session starts
    # or resumes and when an assignment's window changes).
    {
        "name": "sessions-expire",
        "function": "dreamseed.assessments.services.sessions_expire_due",
        "index": "sessions-expire",
        "next_due": "dreamseed.assessments.services.sessions_next_due",
        "visits_all": False,
    },
    # Hourly, every school: the safety net for a mark that was never made (data older than the
    # index, a write that bypassed the ORM); rebuilds the index as it goes.
    {
        "name": "sessions-expire-full",
        "function": "dreamseed.assessments.services.sessions_expire_due",
        "index": "sessions-expire",
        "next_due": "dreamseed.assessments.services.sessions_next_due",
    },
    {
        "name": "item-statistics",
        "function": "dreamseed.itembank.statistics.item_statistics_compute",
        "batch_size": 50,
    },
    {
        "name": "pilot-calibration-check",
        "function": "dreamseed.itembank.tasks.pilot_calibration_check_school",
    },
    {
        "name": "report-files-cleanup",
        "function": "dreamseed.reports.services.report_files_cleanup",
    },
    {
        "name": "teacher-digest",
        "function": "dreamseed.reports.services.teacher_digest_send",
        "batch_size": 100,
    },
]
CELERY_TIMEZONE = TIME_ZONE
# A task whose worker died (acks_late) is redelivered once unacknowledged this long: above the
# longest hard time limit (report bundles, 660 s), or tasks would run twice.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 900),
    # A publisher that cannot reach the broker gives up after one quick retry (about 0.6 s,
    # instead of 6 s of back-off inside the request): the task stays in the outbox
    # (dreamseed/outbox) and is sent when the broker is back.
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
REPORTS_RETENTION_DAYS = env_int("REPORTS_RETENTION_DAYS", 7)
# The task outbox (dreamseed/outbox): tasks kept while the broker is down are published by this
# beat job; one published but never started (a broker that lost its queue) is published again
# after OUTBOX_REDELIVER_SECONDS (above the visibility timeout, so a slow queue is not doubled).
OUTBOX_DRAIN_SECONDS = env_int("OUTBOX_DRAIN_SECONDS", 30)
OUTBOX_REDELIVER_SECONDS = env_int("OUTBOX_REDELIVER_SECONDS", 1800)
OUTBOX_PUBLISH_RETRY_SECONDS = env_float("OUTBOX_PUBLISH_RETRY_SECONDS", 5.0)
OUTBOX_KEEP_DAYS = env_int("OUTBOX_KEEP_DAYS", 7)
CELERY_BEAT_SCHEDULE["outbox-drain"] = {
    "task": "dreamseed.outbox.tasks.outbox_drain_all_schools",
    "schedule": float(OUTBOX_DRAIN_SECONDS),
}
if TESTING:
    CELERY_TASK_DEFAULT_QUEUE = f"test-{TEST_RUN_ID}"

# --- Email -------------------------------------------------------------------------------------

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", str(BASE_DIR / ".dev" / "mail"))
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "DreamSeed <no-reply@dreamseed.localhost>")

# --- API ---------------------------------------------------------------------------------------

REST_FRAMEWORK = {
    # Token first: DRF answers a missing or bad credential with the first class's challenge,
    # a 401 with `WWW-Authenticate: Token` (session authentication has none: a 403).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "dreamseed.api.schema.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "DreamSeed API",
    "DESCRIPTION": "Adaptive testing for classrooms: classes, item bank, assessments.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Signup ------------------------------------------------------------------------------------

# New schools an hour per network address (an IPv6 /64 is one) and for the whole platform
# (dreamseed/schools/throttle.py). The tests sign up many schools from one address.
SIGNUP_MAX_PER_ADDRESS_PER_HOUR = env_int("SIGNUP_MAX_PER_ADDRESS_PER_HOUR", 1000 if TESTING else 3)
SIGNUP_MAX_PER_HOUR = env_int("SIGNUP_MAX_PER_HOUR", 10_000 if TESTING else 30)
# Behind a proxy that appends the client's address to X-Forwarded-For: throttle by that entry
# (the rightmost), not by the proxy's address.
TRUST_X_FORWARDED_FOR = env_bool("TRUST_X_FORWARDED_FOR", False)

# --- Billing -----------------------------------------------------------------------------------

# Stripe: without a secret key and a price the billing pages say that online billing is not set
# up, and everything else works (schools stay on their trial or on what the operator sets).
STRIPE_SECRET_KEY = env_str("STRIPE_SECRET_KEY")
STRIPE_WEBHOOK_SECRET = env_str("STRIPE_WEBHOOK_SECRET")
# The per-seat yearly Price (price_...) that Checkout sells; quantity = student seats.
STRIPE_PRICE_ID = env_str("STRIPE_PRICE_ID")
# A new school's trial: how long, and how many active students it may have.
BILLING_TRIAL_DAYS = env_int("BILLING_TRIAL_DAYS", 30)
BILLING_TRIAL_SEATS = env_int("BILLING_TRIAL_SEATS", 50)
# Days a school keeps working after a payment fails (past_due) before it becomes read-only.
BILLING_GRACE_DAYS = env_int("BILLING_GRACE_DAYS", 14)
# Where the Stripe SDK sends API calls: Stripe itself unless set (stripe-mock: http://localhost:12111).
STRIPE_API_BASE = env_str("STRIPE_API_BASE")
# Checkout turns on Stripe Tax (needs Stripe Tax set up in the dashboard).
BILLING_AUTOMATIC_TAX = env_bool("BILLING_AUTOMATIC_TAX", False)
# This deployment's name in Stripe idempotency keys; unset, a random id made once and kept in the
# public schema. Set it only to something no other deployment on the same Stripe account uses.
BILLING_DEPLOYMENT_ID = env_str("BILLING_DEPLOYMENT_ID")
# Webhook payloads are kept this long (the event ids stay, for deduplication), as are the records
# of refused deliveries.
BILLING_EVENT_RETENTION_DAYS = env_int("BILLING_EVENT_RETENTION_DAYS", 30)
# Queue for webhook processing; empty: the default queue.
BILLING_TASK_QUEUE = env_str("BILLING_TASK_QUEUE")
CELERY_BEAT_SCHEDULE["billing-reconcile-daily"] = {
    "task": "dreamseed.billing.tasks.billing_reconcile_all_schools",
    "schedule": crontab(hour=4, minute=10),
}

# --- Upload limits -----------------------------------------------------------------------------
# Each upload form has its own, smaller limit with a message naming it (roster 1 MB, item file
# 30 MB); these are the backstops. A request above them gets the 400 page (templates/400.html)
# or, from the API, a 413. Keep a proxy's body limit (nginx client_max_body_size) above
# UPLOAD_MAX_REQUEST_BYTES so people see our message instead of the proxy's.
UPLOAD_MAX_REQUEST_BYTES = env_int("UPLOAD_MAX_REQUEST_BYTES", 32_000_000)  # whole multipart body
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 5_000_000)  # fields, JSON
# JSON from outside (API bodies, item files, webhooks) nesting deeper than this is refused before
# parsing (dreamseed/core/jsonlimits.py): Python's parser recurses once per level.
JSON_MAX_DEPTH = env_int("JSON_MAX_DEPTH", 32)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_500_000  # larger files are spooled to a temporary file
DATA_UPLOAD_MAX_NUMBER_FIELDS = 5_000  # ticking every student of a large school
DATA_UPLOAD_MAX_NUMBER_FILES = 10
FILE_UPLOAD_HANDLERS = [
    "dreamseed.core.uploads.RequestSizeLimitUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"] = [
    "dreamseed.core.uploads.LimitedJSONParser",
    "rest_framework.parsers.FormParser",
    "rest_framework.parsers.MultiPartParser",
]
REST_FRAMEWORK["EXCEPTION_HANDLER"] = "dreamseed.core.uploads.api_exception_handler"
# API rate limits (dreamseed/api/throttles.py): "<count>/<second|minute|hour|day>" per API token
# (or signed-in user), per school (all its callers together) and per address without
# credentials. Over a limit: 429 with Retry-After.
REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] = [
    "dreamseed.api.throttles.AnonymousRateThrottle",
    "dreamseed.api.throttles.TokenRateThrottle",
    "dreamseed.api.throttles.SchoolRateThrottle",
]
# The test suite calls the API thousands of times a minute from one address (its own tests set
# the rates they check).
API_THROTTLE_RATES = {
    "token": env_str("API_THROTTLE_TOKEN", "100000/minute" if TESTING else "600/minute"),
    "school": env_str("API_THROTTLE_SCHOOL", "100000/minute" if TESTING else "6000/minute"),
    "anonymous": env_str("API_THROTTLE_ANONYMOUS", "100000/minute" if TESTING else "60/minute"),
}

# --- Security ----------------------------------------------------------------------------------

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", PRODUCTION)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
LANGUAGE_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", PRODUCTION)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", PRODUCTION)
# /metrics: with a token, only for `Authorization: Bearer <token>`; without, loopback only.
METRICS_TOKEN = env_str("METRICS_TOKEN")
if env_bool("TRUST_X_FORWARDED_PROTO", False):
    # Behind a TLS-terminating proxy that sets this header (and strips it from clients).
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# No inline scripts or styles anywhere: every page's JS and CSS is a vendored static file.
# Forms may post to (and be redirected to) any school host under the base domain.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [SELF],
        "form-action": [SELF, f"*.{BASE_DOMAIN}:*", f"{BASE_DOMAIN}:*"],
    }
}

# --- Logging -----------------------------------------------------------------------------------

LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
LOG_FORMAT = env_str("LOG_FORMAT", "json" if PRODUCTION else "text")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_context": {"()": "dreamseed.core.logging.RequestContextFilter"},
        # One traceback per interval while the database is away, not one per request.
        "database_outage": {"()": "dreamseed.core.dbdown.DatabaseOutageLogFilter"},
    },
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(tenant)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
        "text": {
            "format": "%(asctime)s %(levelname)s [%(tenant)s %(request_id)s] %(name)s: %(message)s"
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_context"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "django.request": {"filters": ["database_outage"]},
        "axes": {"level": "WARNING"},
    },
}

# --- LTI ---------------------------------------------------------------------------------------
# LTI 1.3 launches from Canvas and Moodle (dreamseed/lti). Launches arrive inside the LMS's
# iframe, a third-party context: over HTTPS the launch and every later response of an LTI session
# send the session and CSRF cookies `SameSite=None; Secure` (pylti1p3 does the same for its state
# cookie), so the browser keeps them inside the frame. That needs `request.is_secure()` to be
# true: behind a TLS-terminating proxy set TRUST_X_FORWARDED_PROTO=1 (SECURE_PROXY_SSL_HEADER,
# above) and make the proxy set X-Forwarded-Proto and strip it from clients. Browsers that block
# third-party cookies outright get a one-click "continue in a new window" instead.

# Requests to addresses a school configured (dreamseed/core/outbound.py): https only in
# production; loopback addresses only in development and tests (the simulated LMS); private,
# link-local and metadata addresses never. Timeouts in seconds, the body size cap in bytes.
OUTBOUND_HTTPS_ONLY = env_bool("OUTBOUND_HTTPS_ONLY", PRODUCTION)
OUTBOUND_ALLOW_LOOPBACK = env_bool("OUTBOUND_ALLOW_LOOPBACK", DEBUG or TESTING)
OUTBOUND_CONNECT_TIMEOUT_SECONDS = env_float("OUTBOUND_CONNECT_TIMEOUT_SECONDS", 5)
OUTBOUND_TIMEOUT_SECONDS = env_float("OUTBOUND_TIMEOUT_SECONDS", 10)
OUTBOUND_MAX_BYTES = env_int("OUTBOUND_MAX_BYTES", 5 * 1024 * 1024)
OUTBOUND_MAX_REDIRECTS = env_int("OUTBOUND_MAX_REDIRECTS", 3)
# How long a rotated-out tool key stays in the JWKS (LMSs cache our key set for a while).
LTI_KEY_GRACE_DAYS = env_int("LTI_KEY_GRACE_DAYS", 7)
# Timeout for every call to an LMS (key sets, tokens, grades, rosters).
LTI_HTTP_TIMEOUT_SECONDS = env_int("LTI_HTTP_TIMEOUT_SECONDS", 10)
# Grade passback: attempts before giving up, and the first retry delay (doubles each time).
LTI_PASSBACK_MAX_ATTEMPTS = env_int("LTI_PASSBACK_MAX_ATTEMPTS", 8)
LTI_PASSBACK_BACKOFF_SECONDS = env_int("LTI_PASSBACK_BACKOFF_SECONDS", 1 if TESTING else 30)
# Let the registered LMS frame the pages of a session that started with an LTI launch (test
# pages included), and send that session's cookies SameSite=None over HTTPS. It must come after
# XFrameOptionsMiddleware and CSPMiddleware, so it stays last.
MIDDLEWARE += ["dreamseed.lti.framing.LtiFrameMiddleware"]
# ...and sends every session cookie of such a session SameSite=None over HTTPS (messages too):
# it sits just outside SessionMiddleware, so it sees the cookies all the others set.
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.contrib.sessions.middleware.SessionMiddleware"),
    "dreamseed.lti.framing.LtiCookieMiddleware",
)
# Grades whose passback never got queued (broker down at the time) are picked up again.
SWEEP_JOBS.append(
    {"name": "lti-passback-sweep", "function": "dreamseed.lti.grades.passbacks_requeue_stale"}
)
CELERY_BEAT_SCHEDULE["lti-grade-passback-sweep"] = {
    "task": "dreamseed.lti.tasks.grade_passback_sweep_all_schools",
    "schedule": 15 * 60,
}
