from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "dreamseed.api"
    verbose_name = "API"
