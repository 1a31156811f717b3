"""Stripe's API, faked at the HTTP layer, for tests (Stripe and stripe-mock are unreachable here).

The real SDK builds real requests (URL, form-encoded body, headers); `FakeStripe` records each one
and answers with JSON shaped like Stripe's, so tests assert the exact parameters on the wire and
the code under test parses genuine response shapes. Install it with
`stripe_gateway.use_http_client(fake)` (the `fake_stripe` fixture does).
"""

import copy
import itertools
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import stripe

API_BASE = "https://api.stripe.com"


@dataclass
class RecordedRequest:
    method: str  # upper case
    path: str  # /v1/...
    query: dict[str, str]  # flat, as encoded: {"limit": "12"}
    params: dict[str, str]  # form body, flat: {"line_items[0][quantity]": "30"}
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class QueuedError:
    status: int
    error: dict


class FakeStripe(stripe.HTTPClient):
    name = "fake"

    def __init__(self):
        super().__init__()
        self.requests: list[RecordedRequest] = []
        # Stripe's state as the tests set it: what GET /v1/subscriptions/{id} returns, etc.
        self.subscriptions: dict[str, dict] = {}
        self.invoices: dict[str, list[dict]] = {}  # customer id -> newest first
        self.charges: dict[str, dict] = {}
        self.checkout_sessions: dict[str, dict] = {}  # the sessions created here, by id
        self._errors: list[QueuedError] = []
        self.latency = 0.0  # seconds each answer takes (a slow Stripe)
        self.failing_paths: set[str] = set()  # answered 500 api_error until removed
        self._ids = itertools.count(1)

    # --- the HTTPClient interface (see stripe/_http_client.py) ------------------------------------

    def request(self, method, url, headers, post_data=None, *, _usage=None):
        parts = urlsplit(url)
        if isinstance(post_data, bytes):
            post_data = post_data.decode()
        recorded = RecordedRequest(
            method=method.upper(),
            path=parts.path,
            query=dict(parse_qsl(parts.query, keep_blank_values=True)),
            params=dict(parse_qsl(post_data or "", keep_blank_values=True)),
            headers=dict(headers or {}),
        )
        self.requests.append(recorded)
        if self.latency:
            time.sleep(self.latency)
        if recorded.path in self.failing_paths:
            error = {"type": "api_error", "message": "An unknown error occurred"}
            return self._reply({"error": error}, 500)
        if self._errors:
            queued = self._errors.pop(0)
            return self._reply({"error": queued.error}, queued.status)
        status, body = self._route(recorded)
        return self._reply(body, status)

    def request_stream(self, method, url, headers, post_data=None, *, _usage=None):
        raise NotImplementedError("FakeStripe does not stream")

    def close(self):
        pass

    # --- for tests --------------------------------------------------------------------------------

    def fail_next(self, *, status: int = 400, message: str = "Invalid request", **error):
        """Answer the next request with a Stripe error object."""
        body = {"type": "invalid_request_error", "message": message, **error}
        self._errors.append(QueuedError(status=status, error=body))

    def calls(self, method: str | None = None, path: str | None = None) -> list[RecordedRequest]:
        return [
            request
            for request in self.requests
            if (method is None or request.method == method.upper())
            and (path is None or request.path == path)
        ]

    def last(self, method: str, path: str) -> RecordedRequest:
        matching = self.calls(method, path)
        assert matching, f"no {method} {path} among {[(r.method, r.path) for r in self.requests]}"
        return matching[-1]

    # --- routing ----------------------------------------------------------------------------------

    def _reply(self, body: dict, status: int):
        headers = {
            "Request-Id": f"req_fake{next(self._ids):06d}",
            "Content-Type": "application/json",
        }
        return json.dumps(body), status, headers

    def _route(self, request: RecordedRequest) -> tuple[int, dict]:
        method, path = request.method, request.path
        if method == "POST" and path == "/v1/customers":
            return 200, self._customer(request.params)
        if method == "POST" and path == "/v1/checkout/sessions":
            return 200, self._checkout_session(request.params)
        if method == "POST" and path == "/v1/billing_portal/sessions":
            return 200, self._portal_session(request.params)
        if method == "GET" and path == "/v1/subscriptions":
            return 200, self._subscriptions_list(request.query)
        if method == "GET" and path == "/v1/checkout/sessions":
            return 200, self._list(
                "/v1/checkout/sessions",
                [
                    session
                    for session in reversed(self.checkout_sessions.values())
                    if session["customer"] == request.query.get("customer", session["customer"])
                    and session["status"] == request.query.get("status", session["status"])
                ],
                int(request.query.get("limit", "10")),
            )
        match = re.fullmatch(r"/v1/checkout/sessions/([^/]+)/expire", path)
        if method == "POST" and match:
            session = self.checkout_sessions.get(match.group(1))
            if session is None:
                return 404, _missing("checkout.session", match.group(1))
            if session["status"] != "open":
                return 400, {
                    "error": {
                        "type": "invalid_request_error",
                        "message": f"Only Checkout Sessions with a status of 'open' can be "
                        f"expired. This Checkout Session has a status of '{session['status']}'.",
                    }
                }
            session.update(status="expired", url=None)
            return 200, copy.deepcopy(session)
        match = re.fullmatch(r"/v1/charges/([^/]+)", path)
        if method == "GET" and match:
            charge = self.charges.get(match.group(1))
            if charge is None:
                return 404, _missing("charge", match.group(1))
            return 200, copy.deepcopy(charge)
        match = re.fullmatch(r"/v1/subscriptions/([^/]+)", path)
        if method == "GET" and match:
            subscription = self.subscriptions.get(match.group(1))
            if subscription is None:
                return 404, _missing("subscription", match.group(1))
            return 200, copy.deepcopy(subscription)
        if method == "GET" and path == "/v1/invoices":
            customer = request.query.get("customer", "")
            limit = int(request.query.get("limit", "10"))
            invoices = self.invoices.get(customer, [])
            return 200, {
                "object": "list",
                "data": copy.deepcopy(invoices[:limit]),
                "has_more": len(invoices) > limit,
                "url": "/v1/invoices",
            }
        return 404, {
            "error": {
                "type": "invalid_request_error",
                "message": f"Unrecognized request URL ({method}: {path}).",
            }
        }

    def _list(self, url: str, data: list[dict], limit: int) -> dict:
        return {
            "object": "list",
            "data": copy.deepcopy(data[:limit]),
            "has_more": len(data) > limit,
            "url": url,
        }

    def _subscriptions_list(self, query: dict) -> dict:
        """GET /v1/subscriptions: newest first; without `status`, canceled ones are left out
        (as Stripe does); status=all includes them."""
        status = query.get("status", "")
        found = [
            subscription
            for subscription in self.subscriptions.values()
            if subscription.get("customer") == query.get("customer", subscription.get("customer"))
            and (
                status == "all"
                or (status == "" and subscription.get("status") != "canceled")
                or subscription.get("status") == status
            )
        ]
        found.sort(key=lambda sub: (sub.get("created") or 0, sub["id"]), reverse=True)
        return self._list("/v1/subscriptions", found, int(query.get("limit", "10")))

    def _customer(self, params: dict) -> dict:
        return {
            "id": f"cus_Fake{next(self._ids):010d}",
            "object": "customer",
            "address": None,
            "balance": 0,
            "created": 1795132800,
            "currency": None,
            "default_source": None,
            "delinquent": False,
            "description": None,
            "discount": None,
            "email": params.get("email"),
            "invoice_prefix": "FAKE0001",
            "invoice_settings": {
                "custom_fields": None,
                "default_payment_method": None,
                "footer": None,
                "rendering_options": None,
            },
            "livemode": False,
            "metadata": _bracketed(params, "metadata"),
            "name": params.get("name"),
            "next_invoice_sequence": 1,
            "phone": None,
            "preferred_locales": [],
            "shipping": None,
            "tax_exempt": "none",
            "test_clock": None,
        }

    def _checkout_session(self, params: dict) -> dict:
        session_id = f"cs_test_a1Fake{next(self._ids):012d}"
        session = {
            "id": session_id,
            "object": "checkout.session",
            "after_expiration": None,
            "allow_promotion_codes": None,
            "amount_subtotal": None,
            "amount_total": None,
            "automatic_tax": {"enabled": False, "liability": None, "status": None},
            "billing_address_collection": None,
            "cancel_url": params.get("cancel_url"),
            "client_reference_id": params.get("client_reference_id"),
            "client_secret": None,
            "consent": None,
            "consent_collection": None,
            "created": 1795132800,
            "currency": None,
            "custom_fields": [],
            "custom_text": {"after_submit": None, "shipping_address": None, "submit": None},
            "customer": params.get("customer"),
            "customer_creation": None,
            "customer_details": None,
            "customer_email": params.get("customer_email"),
            "expires_at": 1795219200,
            "invoice": None,
            "invoice_creation": None,
            "livemode": False,
            "locale": params.get("locale"),
            "metadata": _bracketed(params, "metadata"),
            "mode": params.get("mode"),
            "payment_intent": None,
            "payment_link": None,
            "payment_method_collection": "always",
            "payment_method_types": ["card"],
            "payment_status": "unpaid",
            "phone_number_collection": {"enabled": False},
            "recovered_from": None,
            "setup_intent": None,
            "shipping_address_collection": None,
            "shipping_cost": None,
            "shipping_options": [],
            "status": "open",
            "submit_type": None,
            "subscription": None,
            "success_url": params.get("success_url"),
            "total_details": None,
            "ui_mode": "hosted",
            "url": f"https://checkout.stripe.com/c/pay/{session_id}#fidkdWxOYHwnPyd1blpxYHZxWjA0",
        }
        self.checkout_sessions[session_id] = session
        return copy.deepcopy(session)

    def _portal_session(self, params: dict) -> dict:
        session_id = f"bps_1Fake{next(self._ids):012d}"
        flow = None
        if params.get("flow_data[type]"):
            flow = {"type": params["flow_data[type]"]}
        return {
            "id": session_id,
            "object": "billing_portal.session",
            "configuration": "bpc_1FakeDefaultConfig",
            "created": 1795132800,
            "customer": params.get("customer"),
            "flow": flow,
            "livemode": False,
            "locale": params.get("locale"),
            "on_behalf_of": None,
            "return_url": params.get("return_url"),
            "url": f"https://billing.stripe.com/p/session/test_{session_id}",
        }


def _bracketed(params: dict, name: str) -> dict:
    """`metadata[school_id]=7` -> {"school_id": "7"}."""
    prefix = f"{name}["
    return {
        key[len(prefix) : -1]: value
        for key, value in params.items()
        if key.startswith(prefix) and key.endswith("]") and "][" not in key
    }


def _missing(kind: str, object_id: str) -> dict:
    return {
        "error": {
            "code": "resource_missing",
            "doc_url": "https://stripe.com/docs/error-codes/resource-missing",
            "message": f"No such {kind}: '{object_id}'",
            "param": "id",
            "type": "invalid_request_error",
        }
    }


class FakeStripeServer:
    """A FakeStripe answering real HTTP on 127.0.0.1, for code in another process (the Celery
    worker) pointed at it with STRIPE_API_BASE, the way one would point it at stripe-mock."""

    def __init__(self, fake: FakeStripe | None = None):
        self.fake = fake or FakeStripe()
        fake = self.fake

        class Handler(BaseHTTPRequestHandler):
            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                text, status, headers = fake.request(
                    self.command, f"{API_BASE}{self.path}", dict(self.headers), body or None
                )
                data = text.encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_DELETE = _answer

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
