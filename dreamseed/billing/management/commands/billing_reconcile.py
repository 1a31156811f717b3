"""Re-read schools' subscriptions from Stripe and fix their licences (what the daily beat job
does), for repairs by hand: `manage.py billing_reconcile [--school SCHEMA ...]`."""

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from dreamseed.billing import services
from dreamseed.billing import stripe_gateway as gateway
from dreamseed.schools.models import School


class Command(BaseCommand):
    help = "Re-read each school's Stripe subscription and make its licence match."

    def add_arguments(self, parser):
        parser.add_argument(
            "--school",
            action="append",
            default=[],
            metavar="SCHEMA",
            help="Only this school (its schema name); repeat for several. Default: every school "
            "with a Stripe customer or subscription, and any over capacity.",
        )

    def handle(self, *args, school, **options):
        connection.set_schema_to_public()
        if not gateway.is_configured():
            raise CommandError("Stripe is not configured (STRIPE_SECRET_KEY, STRIPE_PRICE_ID).")
        if school:
            schools = list(School.objects.real().filter(schema_name__in=school).order_by("pk"))
            missing = sorted(set(school) - {s.schema_name for s in schools})
            if missing:
                raise CommandError(f"No such school: {', '.join(missing)}")
        else:
            schools = list(services.schools_to_reconcile())
        failed = 0
        for one in schools:
            try:
                outcome = services.billing_reconcile(school=one)
            except (gateway.BillingError, gateway.BillingNotConfigured) as error:
                failed += 1
                self.stderr.write(f"{one.schema_name}: failed: {error}")
                continue
            one.refresh_from_db()
            over = " OVER CAPACITY" if one.licence_over_capacity_since else ""
            self.stdout.write(
                f"{one.schema_name}: {outcome}: {one.licence_status}, {one.seats} seats, "
                f"subscription {one.stripe_subscription_id or '-'}{over}"
            )
        self.stdout.write(f"{len(schools) - failed} reconciled, {failed} failed")
        if failed:
            raise CommandError(f"{failed} school(s) could not be read from Stripe")
