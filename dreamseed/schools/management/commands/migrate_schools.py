"""The deploy's migration step for many schools (docs/scaling.md, "Deploying").

    manage.py migrate_schools [--processes 2] [--batch-size 25] [--skip-shared]

Order: the public schema (`migrate_schemas --shared`), the platform's own rows
(`platform_bootstrap`: on a first deploy it makes the template by running every migration), then
the template schema (so that
schools signing up during the deploy are cloned with the new tables), then every school in
parallel batches with a progress line. Safe to run again after an interruption: each schema
continues from the last migration it recorded. Exits non-zero naming the schools that failed.
"""

import os

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from dreamseed.core.tenancy import school_schemas_in_service
from dreamseed.schools.migrating import schema_migrate, schemas_migrate
from dreamseed.schools.services import platform_bootstrap


class Command(BaseCommand):
    help = "Migrate the public schema, the school template and every school in parallel batches."

    def add_arguments(self, parser):
        parser.add_argument("--processes", type=int, default=os.cpu_count() or 2)
        parser.add_argument("--batch-size", type=int, default=25)
        parser.add_argument("--skip-shared", action="store_true")
        parser.add_argument(
            "--no-replay",
            action="store_true",
            help="run every school through Django's executor (no SQL made once and replayed)",
        )
        parser.add_argument(
            "--schema", action="append", default=[], help="only these schools (repeatable)"
        )

    def handle(self, *args, **options):
        from django.conf import settings
        from django.db import connection

        if not options["skip_shared"]:
            self.stdout.write("public schema...")
            call_command("migrate_schemas", shared=True, interactive=False, verbosity=0)
        connection.set_schema_to_public()
        platform_bootstrap()  # first deploy: the public site's row and the template schema
        template = settings.SCHOOL_TEMPLATE_SCHEMA
        outcome = schema_migrate(template, replay=not options["no_replay"])
        if outcome.error:
            raise CommandError(f"the template schema failed: {outcome.error}")
        self.stdout.write(f"template: {len(outcome.applied)} migrations applied")
        connection.set_schema_to_public()
        schemas = options["schema"] or school_schemas_in_service()
        last = [0.0]

        def report(progress):
            import time

            if time.monotonic() - last[0] >= 2:
                last[0] = time.monotonic()
                self.stdout.write(progress.line())
                self.stdout.flush()

        progress = schemas_migrate(
            schemas,
            processes=max(1, options["processes"]),
            batch_size=max(1, options["batch_size"]),
            replay=not options["no_replay"],
            report=report,
        )
        for schema_name, error in progress.failed:
            self.stderr.write(f"{schema_name}: {error}")
        if progress.failed:
            raise CommandError(
                f"{len(progress.failed)} schools failed; fix them and run the command again"
            )
        self.stdout.write(self.style.SUCCESS(progress.line()))
