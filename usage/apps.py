from django.apps import AppConfig


class UsageConfig(AppConfig):
    name = "usage"
    verbose_name = "Usage billing"

    def ready(self) -> None:
        from subscriptions import hooks as subscription_hooks
        from usage import (
            jobs,  # noqa: F401  (registers the month-end invoices in the daily run)
            selectors,
            timeline,
        )
        from usage.services.invoicing import usage_on_termination

        subscription_hooks.register_termination_hook(usage_on_termination)  # USE-3, USE-8
        subscription_hooks.register_usage_on_sale(selectors.usage_plan_on_sale)  # USE-1
        subscription_hooks.register_usage_catalog(selectors.usage_catalog)  # USE-1
        subscription_hooks.register_usage_coming_events(timeline.usage_coming_events)  # USE-3, USE-4, USE-8
