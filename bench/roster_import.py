"""Roster import benchmark: how long a teacher waits to import 2,000 students (target < 5 s).

    .venv/bin/python bench/roster_import.py [--rows 2000] [--slips 40]

Runs against the development database (start it with `python -m dreamseed.devstack up`), in a
throw-away school created inside one transaction that is rolled back at the end, so nothing is
left behind. Times the service calls and the real pages (upload -> preview -> confirm, through
Django's test client), the idempotent re-import, an import that updates everyone, and printing
sign-in slips (temporary passwords, real PBKDF2).
"""

import argparse
import os
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
from dreamseed.classes.models import Class, Enrollment  # noqa: E402
from dreamseed.classes.selectors import class_list_for  # noqa: E402
from dreamseed.classes.services import (  # noqa: E402
    class_create,
    roster_import_apply,
    roster_import_create,
    student_passwords_reset,
)
from dreamseed.schools.services import platform_bootstrap, school_create  # noqa: E402

SUBDOMAIN = "bench-roster"
GRADES = ["3", "4", "5", "6"]


class Rollback(Exception):
    pass


def roster_csv(rows: int, *, grade_shift: int = 0, last_name: str = "Last") -> bytes:
    lines = ["first_name,last_name,username,email,grade"]
    for index in range(rows):
        email = f"student{index}@example.org" if index % 3 == 0 else ""
        grade = GRADES[(index + grade_shift) % len(GRADES)]
        lines.append(f"First{index},{last_name}{index},bench.student{index:05d},{email},{grade}")
    return ("\n".join(lines) + "\n").encode()


@contextmanager
def timed(results: list, label: str):
    started = time.perf_counter()
    yield
    results.append((label, time.perf_counter() - started))


def import_via_services(results, label, *, school_class, teacher, data):
    classes = class_list_for(user=teacher, include_archived=True)
    with timed(results, f"{label}: upload + preview (parse, validate, compare)"):
        pending, plan = roster_import_create(
            school_class=school_class,
            uploaded_by=teacher,
            data=data,
            filename="bench.csv",
            classes=classes,
        )
    assert plan.is_valid, plan.problems[:5]
    with timed(results, f"{label}: confirm (re-check + bulk write)"):
        applied = roster_import_apply(
            roster_import=pending, expected_digest=plan.digest(), classes=classes
        )
    return plan.counts, applied


def import_via_pages(results, label, *, client, school_class, data):
    """What the teacher waits for: three requests, as the browser makes them."""
    started = time.perf_counter()
    with timed(results, f"{label}: POST upload (-> redirect)"):
        upload = client.post(
            f"/classes/{school_class.pk}/import/",
            {"file": SimpleUploadedFile("roster.csv", data, content_type="text/csv")},
        )
    assert upload.status_code == 302, upload.status_code
    with timed(results, f"{label}: GET preview page"):
        preview = client.get(upload["Location"])
    assert preview.status_code == 200
    found = re.search(r'name="digest" value="([0-9a-f]+)"', preview.text)
    if found is None:  # nothing to change: the preview says so and offers no confirm button
        assert "already up to date" in preview.text
    else:
        with timed(results, f"{label}: POST confirm"):
            confirm = client.post(upload["Location"], {"digest": found.group(1)})
        assert confirm.status_code == 302
    results.append((f"{label}: TOTAL through the pages", time.perf_counter() - started))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--slips", type=int, default=40)
    args = parser.parse_args()

    results: list[tuple[str, float]] = []
    counts = {}
    platform_bootstrap()
    try:
        with transaction.atomic():
            with timed(results, "setup: create a throw-away school"):
                school = school_create(
                    name="Bench Roster",
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
                first = class_create(name="Bench A", teachers=[teacher], created_by=teacher)
                second = class_create(name="Bench B", teachers=[teacher], created_by=teacher)

                data = roster_csv(args.rows)
                counts["first"], _ = import_via_services(
                    results, f"services, {args.rows} new", school_class=first, teacher=teacher,
                    data=data,
                )  # fmt: skip
                counts["again"], applied = import_via_services(
                    results, f"services, same {args.rows} again", school_class=first,
                    teacher=teacher, data=data,
                )  # fmt: skip
                assert (applied.created_count, applied.updated_count) == (0, 0)
                assert applied.enrolled_count == 0
                counts["update"], _ = import_via_services(
                    results, f"services, {args.rows} grade changes", school_class=first,
                    teacher=teacher, data=roster_csv(args.rows, grade_shift=1),
                )  # fmt: skip

                counts["rename"], _ = import_via_services(
                    results, f"services, {args.rows} name changes", school_class=first,
                    teacher=teacher, data=roster_csv(args.rows, grade_shift=1, last_name="New"),
                )  # fmt: skip

                client = Client(HTTP_HOST=school.primary_host)
                client.force_login(teacher, backend="django.contrib.auth.backends.ModelBackend")
                with timed(results, "pages: first request of the process (warm-up, not import)"):
                    client.get(f"/classes/{second.pk}/")
                pages_data = roster_csv(args.rows).replace(b"bench.", b"pages.")
                import_via_pages(
                    results, f"pages, {args.rows} new", client=client, school_class=second,
                    data=pages_data,
                )  # fmt: skip
                import_via_pages(
                    results, f"pages, same {args.rows} again", client=client,
                    school_class=second, data=pages_data,
                )  # fmt: skip

                students = list(
                    User.objects.filter(username__startswith="bench.").order_by("pk")[: args.slips]
                )
                with timed(results, f"sign-in slips: {len(students)} new passwords (PBKDF2)"):
                    student_passwords_reset(students=students)

                total_students = User.objects.filter(role=Role.STUDENT).count()
                total_enrollments = Enrollment.objects.count()
                assert Class.objects.count() == 2
            raise Rollback
    except Rollback:
        pass
    connection.set_schema_to_public()

    print(
        f"Roster import benchmark ({args.rows} rows, database {connection.settings_dict['NAME']})"
    )
    print(f"  plan counts, first import: {counts['first']}")
    print(f"  plan counts, re-import:    {counts['again']}")
    print(f"  plan counts, grade change: {counts['update']}")
    print(f"  plan counts, name change:  {counts['rename']}")
    print(f"  students in the school: {total_students}, enrollments: {total_enrollments}")
    width = max(len(label) for label, _seconds in results)
    for label, seconds in results:
        print(f"  {label:<{width}}  {seconds:7.3f} s")
    print("  (everything above was rolled back)")


if __name__ == "__main__":
    main()
