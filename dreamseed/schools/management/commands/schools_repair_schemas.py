"""Find (and with --apply, repair) schools created with a name signup now refuses."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from dreamseed.schools.models import Domain
from dreamseed.schools.repair import (
    school_readdress,
    school_repair_schema,
    schools_at_reserved_addresses,
    schools_broken,
)


class Command(BaseCommand):
    help = (
        "List schools without a schema of their own (e.g. information_schema) and schools at "
        "addresses reserved for the platform. --apply gives each broken school a fresh schema "
        "and moves its people there out of the public schema; --readdress OLD=NEW moves a "
        "school to a new address."
    )

    def add_arguments(self, parser):
        parser.add_argument("--apply", action="store_true", help="Repair, instead of listing.")
        parser.add_argument(
            "--readdress",
            action="append",
            default=[],
            metavar="OLD=NEW",
            help="Move the school at the reserved address OLD (a host name) to the address NEW.",
        )

    def handle(self, *args, apply=False, readdress=(), **options):
        broken = schools_broken()
        for entry in broken:
            school = entry.school
            if apply:
                new_schema, moved = school_repair_schema(school=school)
                self.stdout.write(
                    f"repaired: {school.name} (id {school.pk}): schema {new_schema}, "
                    f"{moved} people moved out of the shared schema"
                )
            else:
                self.stdout.write(
                    f"broken: {school.name} (id {school.pk}, schema {school.schema_name}): "
                    f"{entry.reason}"
                )
        moves = dict(self._parse(value) for value in readdress)
        for domain in schools_at_reserved_addresses():
            if domain.domain in moves:
                continue
            self.stdout.write(
                f"reserved address: {domain.domain} ({domain.tenant.name}, id "
                f"{domain.tenant_id}); move it with --readdress {domain.domain}=NEW"
            )
        for old, new in moves.items():
            domain = Domain.objects.filter(domain=old).first()
            if domain is None:
                raise CommandError(f"No school at {old}.")
            try:
                school_readdress(domain=domain, new_subdomain=new)
            except ValidationError as error:
                raise CommandError(f"{new}: {' '.join(error.messages)}") from error
            self.stdout.write(f"moved: {old} -> {domain.domain}")
        if broken and not apply:
            self.stdout.write("Run again with --apply to repair the broken schools.")
        if not broken:
            self.stdout.write("No broken schools.")

    @staticmethod
    def _parse(value: str) -> tuple[str, str]:
        old, separator, new = value.partition("=")
        if not separator or not old or not new:
            raise CommandError(f"--readdress takes OLD=NEW, not {value!r}.")
        return old.strip().lower(), new
