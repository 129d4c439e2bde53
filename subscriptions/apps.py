from django.apps import AppConfig


class SubscriptionsConfig(AppConfig):
    name = "subscriptions"
    verbose_name = "Subscriptions"

    def ready(self) -> None:
        from subscriptions import jobs  # noqa: F401  (registers the daily jobs of the renewal lifecycle)
        from subscriptions.services import orders, renewals  # noqa: F401  (register what a paid invoice starts)
