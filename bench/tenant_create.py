"""How long does creating a school take? (signup: schema cloned from the template + first admin)

Runs against the dev database (start it with `python -m dreamseed.devstack up`, or run after
`make run`), which must already be migrated (`manage.py migrate_schools`): the benchmark does not
migrate every school before it starts. Creates N throwaway schools, prints timings, then drops them.
bench/many_schools.py measures the same at 10, 1,000 or 5,000 schools.

    .venv/bin/python bench/tenant_create.py [--count 20]
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dreamseed.settings")

import django

django.setup()

from dreamseed.schools.models import School  # noqa: E402
from dreamseed.schools.services import platform_bootstrap, school_create  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=20)
    args = parser.parse_args()
    platform_bootstrap()
    stamp = int(time.time())
    timings = []
    try:
        for index in range(args.count):
            created = school_create(
                name=f"Bench {index}",
                subdomain=f"bench{stamp}-{index}",
                admin_email=f"admin{index}@bench.example",
                admin_first_name="Bench",
                admin_last_name="Admin",
                admin_password="bench-password-long-enough",
            )
            timings.append((created.seconds, created.schema_seconds))
    finally:
        for school in School.objects.filter(schema_name__startswith=f"bench{stamp}_"):
            school.delete(force_drop=True)
    print(f"schools already in the database: {School.objects.real().count()}")
    print(f"created {len(timings)} schools (target: the schema clone under 300 ms)")
    for label, values in [
        ("whole signup (schema + domain + admin with PBKDF2 hash)", [t[0] for t in timings]),
        ("schema clone alone", [t[1] for t in timings]),
    ]:
        ms = sorted(value * 1000 for value in values)
        print(
            f"  {label:58s} median {statistics.median(ms):5.0f} ms   "
            f"p95 {ms[int(0.95 * (len(ms) - 1))]:5.0f} ms   max {ms[-1]:5.0f} ms"
        )


if __name__ == "__main__":
    main()
