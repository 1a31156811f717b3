from django.apps import AppConfig


class BackupsConfig(AppConfig):
    name = "dreamseed.backups"
    label = "backups"
    verbose_name = "Backups and school moves"
