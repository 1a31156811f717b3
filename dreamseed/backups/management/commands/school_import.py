"""Load a school written by `school_export` into this database (or --database), verifying
every table's row count and checksum and every file; nothing is left if a check fails."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from dreamseed.backups.services import BackupError, school_import


class Command(BaseCommand):
    help = "Import a school exported by school_export into this database, verified."

    def add_arguments(self, parser):
        parser.add_argument("folder", type=Path, help="the folder school_export wrote")
        parser.add_argument("--database", default="default", help="Django database alias")

    def handle(self, *args, folder, database, **options):
        try:
            summary = school_import(in_dir=folder, database=database)
        except BackupError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            f"imported {summary.schema}: {summary.tables} tables and {summary.rows} rows "
            f"match the export; {summary.files} files restored"
        )
