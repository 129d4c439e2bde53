"""Shared set-up of the renewal-lifecycle tests: Services on a real card, days lived through the
daily run with the clock at 02:00 Zurich (when beat runs it)."""

import datetime as dt
from decimal import Decimal

import time_machine

from audit.services import Actor
from billing.models import LedgerEntry, Payment, Service
from billing.services.means import means_add_card
from billing.services.prepaid import prepaid_credit
from core import clock, lifecycle
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
