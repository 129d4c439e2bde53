"""Shared set-up of the renewal-lifecycle tests: Services on a real card, days lived through the
daily run with the clock at 02:00 Zurich (when beat runs it)."""

import datetime as dt
from collections import Counter
from decimal import Decimal
from typing import Any

import time_machine
from django.db.models import Model

from audit.models import AuditEvent
from audit.services import Actor
from billing.models import CreditNote, Invoice, InvoiceLine, LedgerEntry, Payment, PrepaidAccount
from billing.services.means import means_add_card
from billing.services.prepaid import prepaid_credit
from core import clock, lifecycle
from notifications.models import Notification
from sandbox.models import GatewayCharge
from subscriptions.models import RenewalAttempt, Service, ServiceAddOn
from tests.billing.factories import PlanFactory, PriceFactory, ServiceFactory, service_type
from tests.factories import member

CARD_OK = "4242424242424242"
CARD_DECLINED = "4000000000000002"
CARD_UNKNOWN = "4000000000000119"


def at(day: dt.date, hour: int = 2) -> dt.datetime:
    return clock.start_of_day(day) + dt.timedelta(hours=hour)


def live(day: dt.date, until: dt.date | None = None) -> None:
    """Run the daily jobs of `day` (through `until`), each at 02:00 Zurich of its day."""
    for each in lifecycle.days(day, until or day):
        with time_machine.travel(at(each), tick=False):
            lifecycle.run_day(each)


def customer(*, card: str | None = CARD_OK, balance: str = "0", country: str = "CH"):  # noqa: ANN201
    legal = member(organization__billing_country=country) if country != "CH" else member()
    if card:
        means_add_card(organization=legal.organization, user=legal.user, number=card, exp_month=12, exp_year=2035,
                       cvc="123", make_default=True, now=at(dt.date(2026, 1, 1)))
    if Decimal(balance):
        top_up = Payment.objects.create(organization=legal.organization, kind="card", amount=Decimal(balance),
                                        currency="CHF", status="succeeded", created_at=at(dt.date(2026, 1, 1)))
        prepaid_credit(organization=legal.organization, kind=LedgerEntry.Kind.TOP_UP, amount=Decimal(balance),
                       now=at(dt.date(2026, 1, 1)), actor=Actor.system("test"), rule="PRE-2", payment=top_up)
    return legal


def service(legal, *, type_slug: str = "jelastic-cloud", period: str = "monthly", price: str = "100.00",  # noqa: ANN001, ANN201
            anchor: dt.date = dt.date(2026, 1, 31), expires: dt.date = dt.date(2026, 2, 28), **fields) -> Service:
    plan = PlanFactory(service_type=service_type(type_slug), period=period)
    PriceFactory(plan=plan, amount=Decimal(price), valid_from=dt.date(2025, 1, 1))
    defaults = {"anchor_date": anchor, "expires_on": expires, "term": 1, "auto_renew": True}
    return ServiceFactory(organization=legal.organization, plan=plan, **(defaults | fields))


def live_twice(day: dt.date, until: dt.date | None = None) -> None:
    """Each day's run made twice (a rerun, a second beat): the second must find nothing to do (REN-8)."""
    for each in lifecycle.days(day, until or day):
        live(each)
        live(each)


def attempts(svc: Service) -> list[tuple[int, dt.date, str, Decimal, Decimal]]:
    """(term, day, outcome, prepaid part, card part) of the Service's debit attempts, oldest first."""
    return [
        (a.term, a.day, a.outcome, a.prepaid_amount, a.card_amount)
        for a in RenewalAttempt.objects.filter(service=svc).order_by("day", "pk")
    ]


def notices(svc: Service) -> Counter[tuple[str, str]]:
    """How many notifications about the Service went out, by (template, channel)."""
    rows = Notification.objects.filter(related_type="subscriptions.service", related_id=str(svc.pk))
    return Counter(rows.values_list("template", "channel"))


def invoices(svc: Service) -> list[tuple[int, str, int | None, str, Decimal, Decimal, dt.date]]:
    """(number, kind, term, status, total incl. VAT, amount paid, issue date) of the Service's invoices."""
    return list(
        Invoice.objects.filter(service=svc)
        .order_by("number")
        .values_list("number", "kind", "term", "status", "total_incl_vat", "amount_paid", "issue_date")
    )


def ledger(legal) -> list[tuple[str, Decimal, Decimal]]:  # noqa: ANN001
    return list(
        LedgerEntry.objects.filter(account__organization=legal.organization)
        .order_by("id")
        .values_list("kind", "amount", "balance_after")
    )


def state(svc: Service) -> tuple[Any, ...]:
    """The lifecycle fields of the Service, fresh from the database."""
    svc.refresh_from_db()
    return (svc.status, svc.term, svc.expires_on, svc.suspension_reason, svc.terminates_on, svc.warranty_until)


def snapshot() -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table the daily run writes, as it stands (REN-8: a rerun changes none)."""
    tables: dict[str, tuple[type[Model], tuple[str, ...]]] = {
        "services": (Service, ("id", "status", "term", "expires_on", "terminates_on", "warranty_until",
                              "warranty_invoice", "suspended_at", "terminated_at", "data_deleted_at", "auto_renew",
                              "renewal_warranty", "activated_at", "anchor_date")),
        "attempts": (RenewalAttempt, ("id", "service", "term", "day", "outcome", "payment", "invoice",
                                      "prepaid_amount", "card_amount", "settled_at", "flagged_at")),
        "invoices": (Invoice, ("id", "number", "status", "amount_paid", "amount_credited")),
        "lines": (InvoiceLine, ("id", "invoice", "amount_incl_vat")),
        "credit_notes": (CreditNote, ("id", "number", "invoice", "amount")),
        "payments": (Payment, ("id", "invoice", "kind", "amount", "status")),
        "gateway": (GatewayCharge, ("id", "idempotency_key", "outcome", "amount", "refunded_amount")),
        "ledger": (LedgerEntry, ("id", "kind", "amount", "balance_after")),
        "accounts": (PrepaidAccount, ("id", "balance")),
        "add_ons": (ServiceAddOn, ("id", "deactivated_at")),
        "notifications": (Notification, ("id", "template", "channel", "address", "dedupe_key")),
        "audit": (AuditEvent, ("id", "action", "rule", "hash")),
    }
    return {name: list(model.objects.order_by("pk").values_list(*fields)) for name, (model, fields) in tables.items()}
