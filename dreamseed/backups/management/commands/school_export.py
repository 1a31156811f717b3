"""Write one school (schema, School and Domain rows, files) to a folder, with a manifest of
every table's row count and checksum."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from dreamseed.backups.services import BackupError, school_export


class Command(BaseCommand):
    help = "Export one school to a folder: schema dump, public rows, files, manifest."

    def add_arguments(self, parser):
        parser.add_argument("schema", help="the school's schema name")
        parser.add_argument("folder", type=Path, help="a new (or empty) folder to write")
        parser.add_argument("--database", default="default", help="Django database alias")

    def handle(self, *args, schema, folder, database, **options):
        try:
            summary = school_export(schema=schema, out_dir=folder, database=database)
        except BackupError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            f"exported {summary.schema}: {summary.tables} tables, {summary.rows} rows, "
            f"{summary.files} files -> {summary.path}"
        )
