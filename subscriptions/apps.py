from django.apps import AppConfig


class SubscriptionsConfig(AppConfig):
    name = "subscriptions"
    verbose_name = "Subscriptions"

    def ready(self) -> None:
        from accounts.hooks import register_termination_blocker
        from billing import hooks as billing_hooks
        from subscriptions import (
            jobs,  # noqa: F401  (registers the daily jobs of the renewal lifecycle)
            selectors,
        )
        from subscriptions.services import (  # noqa: F401  (register what a paid invoice starts)
            credits,
            orders,
            renewals,
        )
        from subscriptions.services.credit_ledger import invoices_in_doubt

        register_termination_blocker(selectors.organization_termination_blockers)  # ORG-9
        billing_hooks.register_invoice_scope(selectors.invoices_in_member_scope)  # ORG-6
        billing_hooks.register_currency_blocker(selectors.currency_change_blockers)  # ENF-6
        billing_hooks.register_charge_in_doubt(invoices_in_doubt)  # REN-8
        billing_hooks.register_default_means_usable(orders.trials_follow_default)  # REN-6, BIL-12
        billing_hooks.register_refunded_elsewhere(selectors.money_back_card_refunded)  # PRE-2
