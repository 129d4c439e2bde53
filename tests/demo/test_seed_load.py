"""`seed_load`: the load run's Organization, with what the pages read (docs/performance.md)."""

import datetime as dt

import pytest
import time_machine
from django.core.management import CommandError, call_command

from accounts.models import Membership, Organization
from billing.models import Invoice, InvoiceLine
from demo.management.commands.seed_load import LOAD_PASSWORD, LOAD_USERS, OTHER_USER
from subscriptions.models import Service
from support.models import Message, Ticket
from usage.models import UsageDay

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 5, 9, 30, tzinfo=dt.UTC)


def test_the_load_organization_has_its_rows_numbered_without_gap_and_a_second_one_beside() -> None:
    with time_machine.travel(NOW, tick=False):
        call_command("seed_load", services=5, invoices=12, tickets=8)

    load = Organization.objects.get(memberships__user__email=LOAD_USERS[0])
    other = Organization.objects.get(memberships__user__email=OTHER_USER)
    roles = dict(Membership.objects.filter(organization=load).values_list("user__email", "role"))
    assert roles == {LOAD_USERS[0]: "legal_responsible", **dict.fromkeys(LOAD_USERS[1:], "administrator")}
    assert Membership.objects.get(user__email=LOAD_USERS[7]).user.check_password(LOAD_PASSWORD)
    services = Service.objects.filter(organization=load)
    assert services.count() == 5
    assert services.filter(usage_based=True).count() == 1
    invoices = Invoice.objects.filter(organization=load)
    assert invoices.count() == 12
    assert sorted(invoices.values_list("status", flat=True)) == ["open"] * 4 + ["paid"] * 8
    assert InvoiceLine.objects.filter(invoice__organization=load).count() == 24
    numbers = sorted(Invoice.objects.values_list("number", flat=True))
    assert numbers == list(range(1, len(numbers) + 1))  # BIL-6: the load's and the other's, no gap
    assert Invoice.objects.filter(organization=other).count() == 6
    assert Ticket.objects.filter(organization=load).count() == 8
    assert Message.objects.filter(ticket__organization=load).count() == 24
    assert Ticket.objects.filter(organization=other).count() == 4
    # the usage Service's month so far: five resources, the 1st to the 5th of March
    days = UsageDay.objects.filter(service__organization=load, day__gte=dt.date(2026, 3, 1))
    assert sorted(set(days.values_list("day", flat=True))) == [dt.date(2026, 3, d) for d in range(1, 6)]

    with pytest.raises(CommandError, match="already"), time_machine.travel(NOW, tick=False):
        call_command("seed_load")
    assert Invoice.objects.count() == 18
