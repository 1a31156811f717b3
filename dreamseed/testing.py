"""Test support shared by every app's tests: named personas in two schools, clients signed in at
the right host, a live server for the browser, and a real Celery worker.

The two schools and their people are created once per test session and committed; each test then
runs inside a transaction that is rolled back, so tests may freely create more.
"""

import os
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.test import Client

PASSWORD = "correct-horse-battery-staple"
BASE_DIR = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Persona:
    """Someone at a school: what a test needs to act as them."""

    key: str
    user_id: int
    username: str
    schema_name: str
    host: str
    password: str = PASSWORD

    @property
    def school(self):
        from dreamseed.schools.models import School

        return School.objects.get(schema_name=self.schema_name)

    @property
    def user(self):
        from dreamseed.accounts.models import User

        with in_schema(self.schema_name):
            return User.objects.get(pk=self.user_id)


@contextmanager
def in_schema(schema_name: str):
    """Run ORM code inside one school's schema, restoring the previous one afterwards."""
    from django_tenants.utils import schema_context

    with schema_context(schema_name):
        yield


def school_client(host: str, persona: Persona | None = None) -> Client:
    """A test client addressing `host`, signed in as `persona` if given."""
    client = Client(HTTP_HOST=host)
    if persona is not None:
        with in_schema(persona.schema_name):
            client.force_login(persona.user, backend="dreamseed.accounts.backends.AccountBackend")
    return client


def create_personas() -> dict[str, Persona]:
    """Two schools, alpha and beta, with the people the tests act as."""
    from dreamseed.accounts.models import Role, User
    from dreamseed.schools.services import platform_bootstrap, school_create

    platform_bootstrap()
    people = {
        "alpha": [
            ("alpha_admin", "admin@alpha.example", "Alma", "Admin", Role.ADMIN),
            ("alpha_teacher", "teacher@alpha.example", "Tomas", "Teach", Role.TEACHER),
            ("alpha_teacher2", "teacher2@alpha.example", "Tara", "Second", Role.TEACHER),
            ("alpha_student", "sam", "Sam", "Student", Role.STUDENT),
            ("alpha_student2", "sara", "Sara", "Student", Role.STUDENT),
        ],
        "beta": [
            ("beta_admin", "admin@beta.example", "Bela", "Admin", Role.ADMIN),
            ("beta_teacher", "teacher@beta.example", "Boris", "Teach", Role.TEACHER),
            ("beta_student", "bo", "Bo", "Student", Role.STUDENT),
        ],
    }
    personas: dict[str, Persona] = {}
    for subdomain, members in people.items():
        created = school_create(
            name=f"{subdomain.title()} School",
            subdomain=subdomain,
            admin_email=members[0][1],
            admin_first_name=members[0][2],
            admin_last_name=members[0][3],
            admin_password=PASSWORD,
            email_confirmed=True,
        )
        school = created.school
        with in_schema(school.schema_name):
            for key, username, first, last, role in members:
                user = User.objects.filter(username=username).first() or User.objects.create_user(
                    username=username,
                    email=username if "@" in username else "",
                    password=PASSWORD,
                    first_name=first,
                    last_name=last,
                    role=role,
                )
                personas[key] = Persona(
                    key=key,
                    user_id=user.pk,
                    username=username,
                    schema_name=school.schema_name,
                    host=school.primary_host,
                )
    return personas


# --- Live server for browser tests ---------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    """The WSGI app in a thread on 127.0.0.1; reachable as any *.localhost host."""

    def __init__(self):
        from django.core.handlers.wsgi import WSGIHandler
        from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler

        class QuietHandler(WSGIRequestHandler):
            def log_message(self, *args):
                pass

        self.port = free_port()
        self.server = ThreadedWSGIServer(
            ("127.0.0.1", self.port), QuietHandler, allow_reuse_address=True
        )
        self.server.set_app(WSGIHandler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def url(self, host: str = "localhost", path: str = "/") -> str:
        return f"http://{host}:{self.port}{path}"


# --- A real Celery worker ----------------------------------------------------------------------


class CeleryWorker:
    """`celery worker` in a subprocess, on the test database and the tests' Redis databases."""

    def __init__(
        self,
        *,
        concurrency: int = 1,
        name: str = "test",
        extra_env: dict | None = None,
        queues: list[str] | None = None,
    ):
        self.concurrency = concurrency
        self.name = name
        # A worker of its own (say, pointed at a fake Stripe) takes only its own queues, so the
        # session's shared worker never picks up its tasks, nor it theirs.
        self.extra_env = extra_env or {}
        self.queues = queues
        self.process: subprocess.Popen | None = None
        self.log_path = BASE_DIR / ".dev" / f"celery-{name}-{settings.TEST_RUN_ID}.log"

    def env(self) -> dict:
        db = settings.DATABASES["default"]
        url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
        return {
            **os.environ,
            "DREAMSEED_TESTING": "1",
            "DATABASE_URL": url,
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": str(BASE_DIR / ".dev" / f"test-mail-{settings.TEST_RUN_ID}"),
            **self.extra_env,
        }

    def start(self, timeout: float = 60):
        from dreamseed.celery import app

        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "dreamseed", "worker", "--loglevel", "INFO",
             "--concurrency", str(self.concurrency), "--hostname", f"{self.name}-{os.getpid()}@%h",
             "--without-gossip", "--without-mingle", "--without-heartbeat",
             *(["--queues", ",".join(self.queues)] if self.queues else [])],
            cwd=BASE_DIR, env=self.env(), stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited early:\n{self.log_path.read_text()[-3000:]}")
            replies = app.control.ping(timeout=0.5) or []
            if any(f"{self.name}-{os.getpid()}@" in next(iter(reply)) for reply in replies):
                return self
        raise RuntimeError(
            f"worker did not answer in {timeout}s:\n{self.log_path.read_text()[-3000:]}"
        )

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()


def wait_for(predicate, *, timeout: float = 30, interval: float = 0.1, message: str = ""):
    """Poll `predicate` until it returns something truthy; fail the test with `message` if not."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(message or f"condition not met within {timeout}s")


def reset_connection_schema():
    connection.set_schema_to_public()


# --- Accessibility ------------------------------------------------------------------------------

AXE_SOURCE = BASE_DIR / "dreamseed" / "core" / "tests" / "vendor" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]


def axe_violations(page, *, impacts=("serious", "critical")) -> list[dict]:
    """Run axe-core (vendored) on the page; return violations of the given impacts.

    The script is evaluated through the DevTools protocol, which the page's CSP does not govern,
    so no inline script is ever allowed into the product to make this work.
    """
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_SOURCE.read_text())
    result = page.evaluate(
        "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}})",
        AXE_TAGS,
    )
    return [
        {
            "id": violation["id"],
            "impact": violation["impact"],
            "help": violation["help"],
            "nodes": [node["target"] for node in violation["nodes"]][:5],
        }
        for violation in result["violations"]
        if violation["impact"] in impacts
    ]
