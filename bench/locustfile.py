"""Simulated students for bench/load_test.py: sign in, start the test, answer without pausing.

Every answer the server acknowledges (HTTP 200 with the next question and no error) is written
to a log so the orchestrator can check afterwards that each one is in the database.
"""

import json
import os
import random
import re
import threading

from locust import FastHttpUser, events, task

HOST_HEADER = os.environ.get("LOAD_HOST_HEADER", "loadtest.localhost")
ASSIGNMENT = int(os.environ.get("LOAD_ASSIGNMENT", "0"))
PASSWORD = os.environ.get("LOAD_PASSWORD", "")
STUDENTS = [name for name in os.environ.get("LOAD_STUDENTS", "").split(",") if name]
ACK_LOG = os.environ.get("LOAD_ACK_LOG", "/tmp/load-acks.jsonl")

ITEM = re.compile(r'name="item" value="(\d+)"')
SESSION = re.compile(r"/tests/session/(\d+)/")
_next_student = iter(range(10**9))
_lock = threading.Lock()
_acks: list[tuple[int, int]] = []


class Student(FastHttpUser):
    def on_start(self):
        with _lock:
            self.username = STUDENTS[next(_next_student) % len(STUDENTS)]
        self.headers = {"Host": HOST_HEADER}
        page = self.client.get("/accounts/login/", headers=self.headers, name="login page")
        token = self._csrf()
        response = self.client.post(
            "/accounts/login/",
            data={"username": self.username, "password": PASSWORD, "csrfmiddlewaretoken": token},
            headers=self.headers,
            name="login",
            allow_redirects=False,
        )
        if response.status_code != 302:
            raise RuntimeError(f"login failed for {self.username}: {response.status_code}")
        del page
        self.start_test()

    def _csrf(self) -> str:
        for cookie in self.client.cookiejar:
            if cookie.name == "csrftoken":
                return cookie.value
        return ""

    def start_test(self):
        response = self.client.post(
            f"/tests/take/{ASSIGNMENT}/",
            data={"csrfmiddlewaretoken": self._csrf()},
            headers=self.headers,
            name="start",
            allow_redirects=False,
        )
        match = SESSION.search(response.headers.get("Location", "") or "")
        if not match:
            raise RuntimeError(f"start failed: {response.status_code}")
        self.session_id = int(match.group(1))
        # As the page's script does: the CSRF token it was given, sent with every answer.
        self.answer_headers = {
            **self.headers,
            "X-Requested-With": "fetch",
            "X-CSRFToken": self._csrf(),
        }
        page = self.client.get(
            f"/tests/session/{self.session_id}/", headers=self.headers, name="question page"
        )
        self.item_id = int(ITEM.search(page.text).group(1))

    @task
    def answer(self):
        headers = self.answer_headers
        with self.client.post(
            f"/tests/session/{self.session_id}/",
            data={"item": self.item_id, "choice": random.choice("ABCD"), "response_time_ms": 1200},
            headers=headers,
            name="answer",
            catch_response=True,
        ) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}")
                self._recover()
                return
            body = json.loads(response.content)
            if not body.get("error"):
                # Acknowledged: recorded. A 200 carrying an error (the item is no longer the
                # pending one, say after a restart) acknowledges nothing.
                with _lock:
                    _acks.append((self.session_id, self.item_id))
            if body.get("done"):
                self.start_test()
                return
            match = ITEM.search(body["html"])
            if body.get("error") or not match:
                response.failure(body.get("error") or "no next item")
                self._recover()
                return
            self.item_id = int(match.group(1))

    def _recover(self):
        """After an error (say, a worker killed mid-request) reload the page: the pending item
        is on the server, so the student simply carries on."""
        try:
            page = self.client.get(
                f"/tests/session/{self.session_id}/", headers=self.headers, name="resume"
            )
            match = ITEM.search(page.text or "")
            if match:
                self.item_id = int(match.group(1))
            else:
                self.start_test()
        except Exception:  # the next answer task retries; a dead worker is being replaced
            return


@events.quitting.add_listener
def _write_acks(environment, **kwargs):
    with open(ACK_LOG, "a") as log:
        for session_id, item_id in _acks:
            log.write(json.dumps([session_id, item_id]) + "\n")
