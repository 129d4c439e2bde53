from django.apps import AppConfig


class UsageConfig(AppConfig):
    name = "usage"
    verbose_name = "Usage billing"

    def ready(self) -> None:
        from usage import jobs  # noqa: F401  (registers the month-end invoices in the daily run)
