"""Item import benchmark: importing 10,000 items from a CSV file (target < 10 s).

    .venv/bin/python bench/item_import.py [--items 10000] [--pages]

Runs against the database in DATABASE_URL (default: the development database; start it with
`python -m dreamseed.devstack up` and migrate first), in a throw-away school created inside one
transaction that is rolled back at the end, so nothing is left behind. Times the service calls
a teacher's upload and confirmation make (validate every cell of every line in one pass, plan,
then bulk-write items and versions), the idempotent re-import, an import that changes every
item's parameters, one that rewrites every question (new versions), the CSV export, and with
--pages the same import through the real pages (upload -> preview -> confirm).
"""

import argparse
import csv
import io
import os
import random
import re
import sys
import time
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dreamseed.settings")

import django

django.setup()

from django.core.files.uploadedfile import SimpleUploadedFile  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402

from dreamseed.accounts.models import Role, User  # noqa: E402
from dreamseed.itembank.import_export import COLUMNS, export_csv  # noqa: E402
from dreamseed.itembank.models import Item, ItemVersion  # noqa: E402
from dreamseed.itembank.services import item_import_apply, item_import_create  # noqa: E402
from dreamseed.schools.services import platform_bootstrap, school_create  # noqa: E402

SUBDOMAIN = "bench-items"
TARGET_SECONDS = 10.0
AREAS = ["Number sense", "Arithmetic", "Fractions", "Algebra", "Geometry"]


class Rollback(Exception):
    pass


def items_csv(count: int, *, seed: int = 1, b_shift: float = 0.0, wording: str = "What") -> bytes:
    """A realistic file: LaTeX in some stems, four options, 3PL parameters, tags."""
    rng = random.Random(seed)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for index in range(count):
        x, y = rng.randrange(2, 99), rng.randrange(2, 99)
        if index % 3 == 0:
            stem = f"{wording} is $\\frac{{{x}}}{{{y}}} + \\frac{{1}}{{{y}}}$?"
            options = [f"$\\frac{{{x + 1}}}{{{y}}}$", f"$\\frac{{{x + 1}}}{{{2 * y}}}$",
                       f"$\\frac{{{x}}}{{{y + 1}}}$", f"$\\frac{{{x * 2}}}{{{y}}}$"]  # fmt: skip
        else:
            stem = f"{wording} is {x} × {y}?\n\nShow your reasoning on paper first."
            options = [str(x * y), str(x * y + x), str(x + y), str(x * (y - 1))]
        writer.writerow(
            [
                f"BENCH-{index:06d}", "active", "Mathematics", str(3 + index % 6),
                AREAS[index % len(AREAS)], f"STD.{index % 40}; bench", "3PL",
                f"{rng.uniform(0.8, 2.0):.3f}", f"{rng.gauss(0, 1) + b_shift:.3f}",
                f"{rng.uniform(0.15, 0.25):.3f}", "1", "", "", "", stem, *options, "", "", "A",
            ]
        )  # fmt: skip
    return buffer.getvalue().encode()


@contextmanager
def timed(results: list, label: str):
    started = time.perf_counter()
    yield
    results.append((label, time.perf_counter() - started))


def import_via_services(results, label, *, teacher, data):
    started = time.perf_counter()
    with timed(results, f"{label}: upload (decode, validate every cell, plan)"):
        pending, plan = item_import_create(uploaded_by=teacher, data=data, filename="bench.csv")
    assert pending is not None, [str(problem) for problem in plan.problems[:5]]
    with timed(results, f"{label}: confirm (re-check the plan + bulk write)"):
        counts = item_import_apply(item_import=pending, expected_digest=plan.digest(), user=teacher)
    total = time.perf_counter() - started
    results.append((f"{label}: TOTAL", total))
    return counts, total


def import_via_pages(results, label, *, client, data):
    started = time.perf_counter()
    with timed(results, f"{label}: POST upload (-> redirect)"):
        upload = client.post(
            "/items/import/", {"file": SimpleUploadedFile("items.csv", data, "text/csv")}
        )
    assert upload.status_code == 302, upload.status_code
    with timed(results, f"{label}: GET preview page"):
        preview = client.get(upload["Location"])
    found = re.search(r'name="digest" value="([0-9a-f]+)"', preview.text)
    assert found, "no confirm button"
    with timed(results, f"{label}: POST confirm"):
        confirm = client.post(upload["Location"], {"digest": found.group(1)})
    assert confirm.status_code == 302
    total = time.perf_counter() - started
    results.append((f"{label}: TOTAL through the pages", total))
    return total


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--pages", action="store_true", help="also import through the pages")
    args = parser.parse_args()

    results: list[tuple[str, float]] = []
    summary = {}
    data = items_csv(args.items)
    platform_bootstrap()
    try:
        with transaction.atomic():
            with timed(results, "setup: create a throw-away school"):
                school = school_create(
                    name="Bench Items",
                    subdomain=SUBDOMAIN,
                    admin_email="admin@bench.example",
                    admin_first_name="Bench",
                    admin_last_name="Admin",
                    admin_password="not-used-anywhere-123",
                ).school
            with schema_context(school.schema_name):
                teacher = User.objects.create_user(
                    username="teacher@bench.example", role=Role.TEACHER, password=None
                )
                summary["first"], summary["first_seconds"] = import_via_services(
                    results, f"{args.items} new items", teacher=teacher, data=data
                )
                summary["again"], _ = import_via_services(
                    results, f"same {args.items} again", teacher=teacher, data=data
                )
                summary["params"], _ = import_via_services(
                    results, f"{args.items} new difficulties", teacher=teacher,
                    data=items_csv(args.items, b_shift=0.5),
                )  # fmt: skip
                summary["content"], _ = import_via_services(
                    results, f"{args.items} reworded (new versions)", teacher=teacher,
                    data=items_csv(args.items, b_shift=0.5, wording="Compute: what"),
                )  # fmt: skip
                with timed(results, f"export: {args.items} items as CSV"):
                    exported = "".join(export_csv(Item.objects.select_related("current_version")))
                assert exported.count("BENCH-") == args.items
                summary["items"] = Item.objects.count()
                summary["versions"] = ItemVersion.objects.count()
                if args.pages:
                    client = Client(HTTP_HOST=school.primary_host)
                    client.force_login(
                        teacher, backend="dreamseed.accounts.backends.AccountBackend"
                    )
                    client.get("/items/")  # warm-up
                    summary["pages_seconds"] = import_via_pages(
                        results, f"pages, {args.items} new", client=client,
                        data=data.replace(b"BENCH-", b"PAGES-"),
                    )  # fmt: skip
            raise Rollback
    except Rollback:
        pass
    connection.set_schema_to_public()

    print(f"Item import benchmark ({args.items} items, {len(data) / 1e6:.1f} MB CSV)")
    for key in ("first", "again", "params", "content"):
        print(f"  plan counts, {key + ':':<9} {summary[key]}")
    print(f"  items in the school: {summary['items']}, versions: {summary['versions']}")
    width = max(len(label) for label, _seconds in results)
    for label, seconds in results:
        print(f"  {label:<{width}}  {seconds:7.3f} s")
    verdict = "MET" if summary["first_seconds"] < TARGET_SECONDS else "MISSED"
    print(f"  target: {args.items} new items in < {TARGET_SECONDS:.0f} s: {verdict}")
    if "pages_seconds" in summary:
        verdict = "MET" if summary["pages_seconds"] < TARGET_SECONDS else "MISSED"
        print(f"  target through the pages: {verdict}")
    print("  (everything above was rolled back)")


if __name__ == "__main__":
    main()
