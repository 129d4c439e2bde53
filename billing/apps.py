from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Billing"

    def ready(self) -> None:
        from accounts.hooks import register_termination_blocker
        from billing.selectors import organization_termination_blockers

        register_termination_blocker(organization_termination_blockers)
        from billing.services import orders  # noqa: F401  (registers the BIL-3 activation on payment)
