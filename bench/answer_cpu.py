"""CPU cost of one answer, measured without concurrency: Django's WSGI handler is called in this
process, in a loop, with the same requests bench/load_test.py's students send.

    .venv/bin/python bench/answer_cpu.py [--answers 2000] [--rounds 3] [--profile out.prof]

It needs the dev stack (`python -m dreamseed.devstack up`) and creates the same `loadtest`
school as bench/load_test.py. One simulated student signs in, starts the fixed-length test,
answers every item, starts again, and so on; the figures are per acknowledged answer and
include the restarts, like the load test's. It prints:

- web: CPU of this process (Django, middleware, templates, drivers; not gunicorn's HTTP parsing)
- postgres: CPU of this connection's PostgreSQL backend
- redis: CPU of the Redis server (sessions)
- the number of SQL statements per answer

Much steadier than the load test on a shared machine, so it is the tool for comparing two
versions of the answer path; the load test stays the measure of throughput and latency.
"""

import argparse
import io
import os
import re
import sys
import time
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

BASE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dreamseed.settings")
os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.setdefault("DATABASE_CONN_MAX_AGE", "600")

from bench.load_test import PASSWORD, SUBDOMAIN, _cpu_seconds, setup_data  # noqa: E402

ITEM = re.compile(rb'name="item" value="(\d+)"')
ITEM_JSON = re.compile(r'name=\\?"item\\?" value=\\?"(\d+)')
SESSION = re.compile(r"/tests/session/(\d+)/")


class Browser:
    """Just enough of a browser for the WSGI handler: cookies, CSRF header, Host."""

    def __init__(self, app):
        self.app = app
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, data: dict | None = None, headers=None):
        body = urlencode(data or {}).encode()
        environ = {
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "QUERY_STRING": "",
            "SERVER_NAME": f"{SUBDOMAIN}.localhost",
            "SERVER_PORT": "8200",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_HOST": f"{SUBDOMAIN}.localhost",
            "HTTP_USER_AGENT": "answer-cpu",
            "HTTP_ACCEPT_LANGUAGE": "en",
            "HTTP_COOKIE": "; ".join(f"{k}={v}" for k, v in self.cookies.items()),
            "wsgi.input": io.BytesIO(body),
            "wsgi.url_scheme": "http",
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
            "wsgi.version": (1, 0),
        }
        if method == "POST":
            environ["CONTENT_TYPE"] = "application/x-www-form-urlencoded"
            environ["CONTENT_LENGTH"] = str(len(body))
            environ["HTTP_X_CSRFTOKEN"] = self.cookies.get("csrftoken", "")
        for name, value in (headers or {}).items():
            environ["HTTP_" + name.upper().replace("-", "_")] = value
        status_headers = {}

        def start_response(status, response_headers, exc_info=None):
            status_headers["status"] = int(status.split()[0])
            status_headers["headers"] = response_headers

        chunks = self.app(environ, start_response)
        content = b"".join(chunks)
        if hasattr(chunks, "close"):
            chunks.close()
        for name, value in status_headers["headers"]:
            if name.lower() == "set-cookie":
                cookie = SimpleCookie(value)
                for key, morsel in cookie.items():
                    self.cookies[key] = morsel.value
        location = dict((k.lower(), v) for k, v in status_headers["headers"]).get("location", "")
        return status_headers["status"], location, content


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--answers", type=int, default=2000, help="answers per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", help="write a cProfile of the last round here")
    parser.add_argument(
        "--toggle",
        help="module:function called with True/False before alternate rounds, to compare two "
        "variants of the code in the same conditions (a shared machine's speed drifts)",
    )
    args = parser.parse_args()

    assignment, students = setup_data(50)
    from django.core.wsgi import get_wsgi_application
    from django.db import connection, reset_queries

    app = get_wsgi_application()
    browser = Browser(app)
    browser.request("GET", "/accounts/login/")
    status, _, _ = browser.request(
        "POST", "/accounts/login/",
        {"username": students[-1], "password": PASSWORD,
         "csrfmiddlewaretoken": browser.cookies.get("csrftoken", "")},
    )  # fmt: skip
    if status != 302:
        raise SystemExit(f"sign-in failed: {status}")

    state = {"session": None, "item": None}

    def start():
        status, location, _ = browser.request("POST", f"/tests/take/{assignment}/")
        if status != 302:
            raise SystemExit(f"start failed: {status}")
        state["session"] = int(SESSION.search(location).group(1))
        status, _, page = browser.request("GET", f"/tests/session/{state['session']}/")
        if status != 200:
            raise SystemExit(f"question page failed: {status}")
        state["item"] = int(ITEM.search(page).group(1))

    def answer():
        status, _, content = browser.request(
            "POST", f"/tests/session/{state['session']}/",
            {"item": state["item"], "choice": "ABCD"[state["item"] % 4], "response_time_ms": 1200},
            headers={"X-Requested-With": "fetch"},
        )  # fmt: skip
        if status != 200:
            raise SystemExit(f"answer failed: {status} {content[:300]!r}")
        text = content.decode()
        if '"done": true' in text:
            start()
        else:
            state["item"] = int(ITEM_JSON.search(text).group(1))

    start()
    for _ in range(50):  # warm the caches
        answer()
    redis_pid = _redis_pid()
    from django.conf import settings

    toggle = None
    if args.toggle:
        import importlib

        module, _, function = args.toggle.partition(":")
        toggle = getattr(importlib.import_module(module), function)
    results: dict[str, list[tuple[float, float]]] = {}
    for number in range(1, args.rounds + 1):
        label = ""
        if toggle:
            variant = number % 2 == 1
            toggle(variant)
            label = f" [{'on' if variant else 'off'}]"
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            backend = cursor.fetchone()[0]
        settings.DEBUG = True  # count statements
        reset_queries()
        counted = 0
        for _ in range(20):
            answer()
            counted += len(connection.queries)
            reset_queries()
        settings.DEBUG = False
        profiler = None
        if args.profile and number == args.rounds:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        web0, pg0 = time.process_time(), _cpu_seconds(backend)
        redis0 = _cpu_seconds(redis_pid) if redis_pid else 0.0
        wall0 = time.perf_counter()
        for _ in range(args.answers):
            answer()
        wall = time.perf_counter() - wall0
        if profiler:
            profiler.disable()
            profiler.dump_stats(args.profile)
        web = (time.process_time() - web0) * 1000 / args.answers
        pg = (_cpu_seconds(backend) - pg0) * 1000 / args.answers
        redis = ((_cpu_seconds(redis_pid) - redis0) * 1000 / args.answers) if redis_pid else 0.0
        results.setdefault(label, []).append((web, pg))
        print(
            f"round {number}{label}: {args.answers} answers, per answer: web {web:.2f} ms  "
            f"postgres {pg:.2f} ms  redis {redis:.2f} ms  wall {wall * 1000 / args.answers:.2f} ms"
            f"  statements {counted / 20:.1f}",
            flush=True,
        )
    if toggle:
        import statistics

        for label, values in results.items():
            print(
                f"median{label}: web {statistics.median(v[0] for v in values):.2f} ms  "
                f"postgres {statistics.median(v[1] for v in values):.2f} ms"
            )


def _redis_pid() -> int | None:
    import subprocess

    out = subprocess.run(["pgrep", "-f", "redis-server"], capture_output=True, text=True).stdout
    pids = [int(pid) for pid in out.split()]
    return pids[0] if len(pids) == 1 else None


if __name__ == "__main__":
    main()
