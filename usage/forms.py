"""Forms of the usage pages: the customer's monthly budget (USE-6)."""

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from usage.services.budgets import BUDGET_MAX


class BudgetForm(forms.Form):
    amount = forms.DecimalField(
        label=_("Monthly budget, VAT included"),
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0.01"),
        max_value=BUDGET_MAX,
    )
    limit_at_budget = forms.BooleanField(
        label=_("Limit the Service when the budget is reached"),
        required=False,
        help_text=_("Without it, the budget only alerts you (at 50 %, 80 % and 100 %)."),
    )
