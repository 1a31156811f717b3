from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "dreamseed.core"
    verbose_name = "Core"
