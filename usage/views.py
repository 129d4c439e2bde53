"""Browser pages of a usage Service (USE-5, USE-6, USE-7): its month so far, priced as its invoice
will price it, the forecast to the month's end, the daily and twelve-month charts with their tables,
the provider's consumption thresholds beside the customer's own budget, the limits in force and the
last usage invoices; and the budget form. Organizations resolve through the user's memberships and
Services through what the member sees (ORG-6): anything else, and a Service not billed by usage,
answers 404. A refusal of a service is shown on its form and changes nothing."""

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.http import AuthenticatedHttpRequest
from accounts.models import Membership
from accounts.permissions import BILLING_ROLES
from accounts.views import member_required
from core import clock
from core import figures as core_figures
from core.errors import RuleViolation
from core.forms import raise_unless_the_forms, show_refusal
from core.http import client_address
from subscriptions import selectors as subscription_selectors
from subscriptions.models import Service
from usage import selectors
from usage.charts import daily_svg, invoiced_svg, money
from usage.forms import BudgetForm
from usage.services.budgets import budget_remove, budget_set
from usage.templatetags.usage_figures import quantity


def usage_service_for_member(membership: Membership, service_id: int) -> Service:
    """The member's usage Service (ORG-6); 404 for anything else."""
    found = subscription_selectors.service_for_member(membership=membership, service_id=service_id)
    if not found.usage_based:
        raise Http404("This Service is not billed by usage.")
    return found


def _day_rows(figures: selectors.MonthToDate) -> list[tuple[str, str, list[str], str]]:
    """The daily table's rows up to today, formatted once here (a month is 31 rows × 7 cells): the
    day's ISO date and its text, the quantities in the resources' order, the amount."""
    order = [row.resource.pk for row in figures.resources]
    return [
        (
            day.day.isoformat(),
            core_figures.day(day.day),
            [quantity(day.quantities.get(resource_id)) for resource_id in order],
            money(day.amount, figures.currency),
        )
        for day in figures.days
        if day.day <= figures.today
    ]


def _render(
    request: AuthenticatedHttpRequest, membership: Membership, service: Service, form: BudgetForm | None = None
) -> HttpResponse:
    figures = selectors.month_to_date(service, organization=membership.organization, now=clock.now())
    can_manage = membership.role in BILLING_ROLES and service.status != Service.Status.TERMINATED
    if form is None and can_manage:
        budget = figures.budget
        form = BudgetForm(
            initial={"amount": budget.amount, "limit_at_budget": budget.limit_at_budget} if budget else None
        )
    context: dict[str, Any] = {
        "organization": membership.organization,
        "membership": membership,
        "section": "services",
        "service": service,
        "figures": figures,
        "daily_chart": daily_svg(figures.days, today=figures.today, currency=figures.currency),
        "invoiced_chart": invoiced_svg(figures.invoiced, currency=figures.currency),
        "day_rows": _day_rows(figures),
        "thresholds": [row for row in figures.resources if row.threshold is not None],
        "can_manage": can_manage,
        "form": form,
    }
    return render(request, "usage/service_usage.html", context)


@member_required
def service_usage(request: AuthenticatedHttpRequest, membership: Membership, service_id: int) -> HttpResponse:
    """USE-7: the month so far, forecast, charts and tables; USE-5/USE-6: threshold and budget side by
    side, the limits in force; the last usage invoices. A fixed number of queries whatever the
    month's data (`usage.selectors.month_to_date`)."""
    return _render(request, membership, usage_service_for_member(membership, service_id))


@member_required
def service_budget(request: AuthenticatedHttpRequest, membership: Membership, service_id: int) -> HttpResponse:
    """USE-6: set or change the monthly budget (Legal Responsible, administrator or billing member)."""
    found = usage_service_for_member(membership, service_id)
    if request.method != "POST":
        return redirect("usage:service_usage", org_id=membership.organization_id, service_id=found.pk)
    form = BudgetForm(request.POST)
    if form.is_valid():
        try:
            budget_set(
                service=found,
                user=request.user,
                amount=form.cleaned_data["amount"],
                limit_at_budget=form.cleaned_data["limit_at_budget"],
                client_address=client_address(request),
                now=clock.now(),
            )
        except RuleViolation as violation:
            raise_unless_the_forms(violation)
            show_refusal(form, violation)
        else:
            messages.success(request, _("Your budget is saved."))
            return redirect("usage:service_usage", org_id=membership.organization_id, service_id=found.pk)
    return _render(request, membership, found, form)


@require_POST
@member_required
def service_budget_remove(request: AuthenticatedHttpRequest, membership: Membership, service_id: int) -> HttpResponse:
    """USE-6: remove the budget (no more budget alerts; a limit at the budget is lifted)."""
    found = usage_service_for_member(membership, service_id)
    try:
        budget_remove(service=found, user=request.user, client_address=client_address(request), now=clock.now())
    except RuleViolation as violation:
        raise_unless_the_forms(violation)
        messages.error(request, violation.message)
    else:
        messages.success(request, _("Your budget is removed."))
    return redirect("usage:service_usage", org_id=membership.organization_id, service_id=found.pk)
