"""Stripe webhook benchmark: how fast the endpoint answers Stripe, with Stripe's API unreachable
(target: p95 < 100 ms; before issue 21 it called Stripe first and took 1.3 s to a 500), and what
the worker then spends per event.

    .venv/bin/python bench/webhook.py [--events 300]

Creates a throw-away test database (like pytest) with one school, posts signed, real-shaped
events (fresh ids, plus redeliveries) to the real endpoint through Django's test client, with
STRIPE_API_BASE pointing at a closed port. The tasks go to a queue of their own, purged at the
end. Then a worker's share: `stripe_event_process` on each recorded event against the tests'
fake Stripe served over HTTP. Needs the dev PostgreSQL and Redis (`python -m dreamseed.devstack
up`).
"""

import argparse
import copy
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dreamseed.settings")
os.environ["DREAMSEED_TESTING"] = "1"  # a test database and test-prefixed queues and cache

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_databases, teardown_databases  # noqa: E402

from dreamseed.billing import services  # noqa: E402
from dreamseed.billing.models import StripeEvent  # noqa: E402
from dreamseed.billing.tests.conftest import (  # noqa: E402
    PRICE_ID,
    SECRET_KEY,
    SUBSCRIPTION_ID,
    WEBHOOK_SECRET,
    for_school,
    load,
    sign,
    subscription,
)
from dreamseed.billing.tests.fake_stripe import FakeStripeServer  # noqa: E402
from dreamseed.celery import app  # noqa: E402
from dreamseed.schools.services import platform_bootstrap, school_create  # noqa: E402

TARGET_P95_MS = 100
KINDS = ("invoice_paid", "customer_subscription_updated", "checkout_session_completed")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def line(label: str, values_ms: list[float]) -> None:
    print(
        f"  {label:<44} n={len(values_ms):>4}  p50 {statistics.median(values_ms):6.1f} ms  "
        f"p95 {percentile(values_ms, 0.95):6.1f} ms  max {max(values_ms):6.1f} ms"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=300)
    args = parser.parse_args()

    queue = f"bench-billing-{os.getpid()}"
    settings.STRIPE_SECRET_KEY = SECRET_KEY
    settings.STRIPE_PRICE_ID = PRICE_ID
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens: Stripe is "down"
    settings.BILLING_TASK_QUEUE = queue
    settings.ALLOWED_HOSTS = ["*"]

    started = time.perf_counter()
    databases = setup_databases(verbosity=0, interactive=False, aliases={"default"})
    print(f"test database ready in {time.perf_counter() - started:.1f} s")
    try:
        platform_bootstrap()
        school = school_create(
            name="Bench Billing School",
            subdomain="bench-billing",
            admin_email="admin@bench-billing.example",
            admin_first_name="Bench",
            admin_last_name="Admin",
            admin_password="correct-horse-battery-staple",
        ).school
        client = Client(HTTP_HOST="localhost")
        fixtures = [for_school(load(kind), school) for kind in KINDS]

        def post(event):
            payload = json.dumps(event)
            began = time.perf_counter()
            response = client.post(
                "/stripe/webhook/",
                data=payload,
                content_type="application/json",
                headers={"Stripe-Signature": sign(payload)},
            )
            elapsed = (time.perf_counter() - began) * 1000
            assert response.status_code == 200, (response.status_code, response.content)
            return elapsed

        first, again = [], []
        events = []
        for index in range(args.events):
            event = copy.deepcopy(fixtures[index % len(fixtures)])
            event["id"] = f"evt_bench{index:06d}"
            events.append(event)
            first.append(post(event))
        for event in events[: max(1, args.events // 3)]:
            again.append(post(event))

        print("\nWebhook answer (verify, record, enqueue; Stripe's API unreachable):")
        line("new event -> 200", first)
        line("redelivery -> 200 (duplicate)", again)

        server = FakeStripeServer().start()
        settings.STRIPE_API_BASE = server.url
        server.fake.subscriptions[SUBSCRIPTION_ID] = subscription(school, quantity=30)
        handled = []
        try:
            for pk in StripeEvent.objects.order_by("pk").values_list("pk", flat=True):
                began = time.perf_counter()
                services.stripe_event_process(event_pk=pk)
                handled.append((time.perf_counter() - began) * 1000)
        finally:
            server.stop()
        print("\nWorker (stripe_event_process: list subscriptions over HTTP, apply, seats):")
        line("per event", handled)

        p95 = percentile(first, 0.95)
        verdict = "MET" if p95 < TARGET_P95_MS else "MISSED"
        print(f"\nTarget: webhook answer p95 < {TARGET_P95_MS} ms with Stripe down: "
              f"{p95:.1f} ms -> {verdict}")  # fmt: skip
    finally:
        with app.connection_for_write() as connection:
            purged = connection.default_channel.queue_purge(queue) or 0
        print(f"(purged {purged} queued tasks from {queue})")
        teardown_databases(databases, verbosity=0)


if __name__ == "__main__":
    main()
