"""A deploy reloads gunicorn with SIGHUP: students answering all the while see no error and every
acknowledged answer is recorded (docs/operations.md, "Deploys without dropping answers")."""

import http.cookiejar
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest
from django.conf import settings

from dreamseed.assessments.models import Attempt
from dreamseed.assessments.tests.factories import committed_open_test
from dreamseed.testing import BASE_DIR, PASSWORD, CeleryWorker, free_port, in_schema, wait_for

ITEM = re.compile(r'name="item" value="(\d+)"')


class Student:
    """A browser-like client: signs in, starts the test, answers as the page's script does."""

    def __init__(self, port, username):
        self.base = f"http://127.0.0.1:{port}"
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect()
        )
        self.username = username

    def request(self, path, data=None, headers=None):
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(
            self.base + path, data=body, headers={"Host": "alpha.localhost", **(headers or {})}
        )
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status, response.headers, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.headers, error.read().decode()

    def csrf(self):
        return next(cookie.value for cookie in self.jar if cookie.name == "csrftoken")

    def begin(self, assignment_pk):
        self.request("/accounts/login/")
        status, _, _ = self.request(
            "/accounts/login/",
            {"username": self.username, "password": PASSWORD, "csrfmiddlewaretoken": self.csrf()},
        )
        assert status == 302
        status, headers, _ = self.request(
            f"/tests/take/{assignment_pk}/", {"csrfmiddlewaretoken": self.csrf()}
        )
        assert status == 302, status
        self.take_url = headers["Location"]
        _, _, page = self.request(self.take_url)
        self.item = int(ITEM.search(page).group(1))

    def answer(self):
        status, _, body = self.request(
            self.take_url,
            {"item": self.item, "choice": "B", "response_time_ms": 900},
            {"X-Requested-With": "fetch", "X-CSRFToken": self.csrf()},
        )
        if status != 200:
            return status, None
        data = json.loads(body)
        acknowledged = None if data.get("error") else self.item
        if not data.get("done"):
            self.item = int(ITEM.search(data["html"]).group(1))
        return status, acknowledged


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@pytest.fixture
def open_test(personas, committed_db):
    with committed_open_test(
        personas, students=["alpha_student", "alpha_student2"], class_name="Reload class",
        bank_size=80, seed=5, name="Reload quiz", max_items=60, min_items=60,
    ) as assignment:  # fmt: skip
        yield assignment


@pytest.fixture
def gunicorn(django_db_setup):
    port = free_port()
    env = {
        **CeleryWorker().env(),
        "DEBUG": "0",
        "WEB_CONCURRENCY": "2",
        "GUNICORN_THREADS": "2",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "LOG_LEVEL": "WARNING",
    }
    log = (BASE_DIR / ".dev" / f"gunicorn-{settings.TEST_RUN_ID}.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "dreamseed.wsgi:application",
         "-c", "dreamseed/gunicorn_conf.py"],
        cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip

    def up():
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
        except OSError:
            return False
        return True

    wait_for(up, timeout=60, message="gunicorn did not start")
    yield process, port
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=30)


def _workers(master_pid):
    out = subprocess.run(["pgrep", "-P", str(master_pid)], capture_output=True, text=True)
    return set(out.stdout.split())


@pytest.mark.worker
def test_students_answering_through_a_gunicorn_reload_see_no_error(open_test, gunicorn):
    process, port = gunicorn
    students = [Student(port, "sam"), Student(port, "sara")]
    for student in students:
        student.begin(open_test.pk)
    old_workers = _workers(process.pid)
    results: list[tuple[int, int | None, str]] = []
    stop = threading.Event()

    def answer_until_stopped(student):
        while not stop.is_set():
            status, acknowledged = student.answer()
            results.append((status, acknowledged, student.take_url))

    threads = [threading.Thread(target=answer_until_stopped, args=(s,)) for s in students]
    for thread in threads:
        thread.start()
    time.sleep(1.5)
    process.send_signal(signal.SIGHUP)  # the deploy: new workers with the new code

    def replaced():
        current = _workers(process.pid)
        return len(current) == 2 and not (current & old_workers)

    wait_for(replaced, timeout=60, message="gunicorn did not replace its workers")
    time.sleep(1.5)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)

    assert results and all(status == 200 for status, _, _ in results), [
        status for status, _, _ in results if status != 200
    ]
    acknowledged = {(url, item) for _, item, url in results if item is not None}
    with in_schema("alpha"):
        for url in {url for _, _, url in results}:
            session_id = int(url.rstrip("/").split("/")[-1])
            stored = set(
                Attempt.objects.filter(session_id=session_id).values_list("item_id", flat=True)
            )
            expected = {item for seen_url, item in acknowledged if seen_url == url}
            assert expected <= stored
    assert len(acknowledged) >= 10  # answers really went on before, during and after
