from django.core.management.base import BaseCommand

from dreamseed.schools.services import platform_bootstrap


class Command(BaseCommand):
    help = "Create the public site's tenant and domain and the school template schema if missing."

    def handle(self, *args, **options):
        public = platform_bootstrap()
        self.stdout.write(f"public site: {public.get_primary_domain()}")
