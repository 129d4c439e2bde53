from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Billing"

    def ready(self) -> None:
        from accounts.hooks import (
            register_contact_change_hook,
            register_overdue_invoices,
            register_termination_blocker,
        )
        from billing.selectors import organization_termination_blockers, overdue_invoice_numbers
        from billing.services.currency import organization_currency_changing

        register_termination_blocker(organization_termination_blockers)
        register_contact_change_hook(organization_currency_changing)  # ENF-6
        register_overdue_invoices(overdue_invoice_numbers)  # ENF-4
