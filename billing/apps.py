from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Billing"

    def ready(self) -> None:
        from accounts.hooks import register_contact_change_hook, register_termination_blocker
        from billing.selectors import organization_termination_blockers
        from billing.services.currency import organization_currency_changing

        register_termination_blocker(organization_termination_blockers)
        register_contact_change_hook(organization_currency_changing)  # ENF-6
