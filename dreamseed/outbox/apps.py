from django.apps import AppConfig


class OutboxConfig(AppConfig):
    name = "dreamseed.outbox"
    label = "outbox"
    verbose_name = "Task outbox"

    def ready(self):
        from dreamseed.outbox import receivers  # noqa: F401  (connects the Celery signal)
