"""core.bulk on PostgreSQL: bulk_update stores what save() stores, and refuses what save() refuses."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import DataError, transaction

from core.bulk import bulk_update
from subscriptions.models import Service
from tests.billing.factories import ServiceFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def test_bulk_update_writes_each_row_its_values_nulls_included() -> None:
    services = [ServiceFactory(), ServiceFactory()]
    services[0].termination_reason, services[0].terminates_on = "Unpaid", dt.date(2026, 5, 1)
    services[1].termination_reason, services[1].terminates_on = "", None
    assert bulk_update(services, ["termination_reason", "terminates_on"]) == 2
    assert list(Service.objects.order_by("pk").values_list("termination_reason", "terminates_on")) == [
        ("Unpaid", dt.date(2026, 5, 1)),
        ("", None),
    ]


def test_bulk_update_refuses_a_text_too_long_for_its_column_as_save_does() -> None:
    service = ServiceFactory()
    service.suspension_reason = "x" * 21  # max_length 20
    with pytest.raises(DataError), transaction.atomic():
        bulk_update([service], ["suspension_reason"])
    assert Service.objects.get(pk=service.pk).suspension_reason == ""


def test_bulk_update_rounds_money_like_save() -> None:
    from billing.models import PrepaidAccount
    from tests.factories import OrganizationFactory

    account = PrepaidAccount.objects.create(organization=OrganizationFactory(), currency="CHF")
    account.balance = Decimal("10.005")
    bulk_update([account], ["balance"])
    saved = PrepaidAccount.objects.create(organization=OrganizationFactory(), currency="CHF", balance=Decimal("10.005"))
    assert PrepaidAccount.objects.get(pk=account.pk).balance == PrepaidAccount.objects.get(pk=saved.pk).balance
