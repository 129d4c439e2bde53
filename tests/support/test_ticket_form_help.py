"""The new-ticket form keeps what was typed when the kind changes, states the attachment limits
before upload, and offers a money-back request only for the Services it would be accepted for."""

import datetime as dt
import re
from decimal import Decimal

import pytest
import time_machine
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import translation

from billing.models import Invoice
from billing.services.payments import invoice_pay
from subscriptions.models import MoneyBackRefund, Service
from subscriptions.services.orders import service_order
from support.models import Ticket
from tests.billing.factories import PlanFactory, PriceFactory, service_type
from tests.factories import member
from tests.subscriptions.lifecycle.helpers import customer

pytestmark = pytest.mark.django_db

ORDERED = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)
NOW = dt.datetime(2026, 3, 20, 9, 0, tzinfo=dt.UTC)  # day 10 of the money-back guarantee


def browser(membership) -> Client:  # noqa: ANN001
    client = Client()
    client.force_login(membership.user)
    return client


def new_url(membership) -> str:  # noqa: ANN001
    return reverse("support:ticket_new", args=[membership.organization_id])


def _options(html: str, name: str) -> list[str]:
    select = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', html, re.S)
    assert select is not None
    return re.findall(r'<option value="([^"]*)"', select[1])


def test_change_the_kind_keeps_the_subject_message_language_and_service() -> None:
    legal = member()
    client = browser(legal)

    with translation.override("en"):
        changed = client.post(
            new_url(legal),
            {
                "kind": "technical",
                "new_kind": "billing",
                "change_kind": "on",
                "subject": "Two invoices for one order",
                "body": "We received <two> invoices.",
                "language": "de",
            },
        )

    html = changed.content.decode()
    assert changed.status_code == 200
    assert '<input type="hidden" name="kind" value="billing" id="id_kind">' in html
    assert 'value="Two invoices for one order"' in html
    assert "We received &lt;two&gt; invoices.</textarea>" in html
    assert '<option value="de" selected>' in html
    assert "errorlist" not in html  # nothing was sent, so nothing is refused
    assert Ticket.objects.count() == 0


def test_change_the_kind_to_an_unknown_kind_starts_over_and_opens_nothing() -> None:
    legal = member()

    response = browser(legal).post(
        new_url(legal),
        {"kind": "technical", "new_kind": "staff_only", "change_kind": "on", "subject": "x"},
        follow=True,
    )

    assert "Choose the kind of request." in response.content.decode()
    assert Ticket.objects.count() == 0


def test_sending_after_the_change_opens_a_ticket_of_the_new_kind() -> None:
    legal = member()

    sent = browser(legal).post(
        new_url(legal), {"kind": "billing", "subject": "Two invoices", "body": "See above.", "language": "en"}
    )

    ticket = Ticket.objects.get()
    assert sent.status_code == 302
    assert (ticket.kind, ticket.subject) == ("billing", "Two invoices")


def test_the_attachment_limits_are_stated_next_to_the_file_input() -> None:
    legal = member()

    with override_settings(
        SUPPORT_ATTACHMENTS_MAX_COUNT=4,
        SUPPORT_ATTACHMENT_MAX_BYTES=5 * 1024 * 1024,
        SUPPORT_ATTACHMENTS_MAX_TOTAL_BYTES=12 * 1024 * 1024,
    ):
        html = browser(legal).get(new_url(legal) + "?kind=technical").content.decode()

    assert (
        '<span class="helptext" id="id_attachments_helptext">Up to 4 files, at most 5 MB each and 12 MB together; '
        "PDF, PNG, JPEG, GIF, plain text (.txt, .log, .csv) or ZIP.</span>"
    ) in html
    assert 'accept=".csv,.gif,.jpeg,.jpg,.log,.pdf,.png,.txt,.zip"' in html
    assert 'aria-describedby="id_attachments_helptext"' in html


def test_the_money_back_form_offers_only_the_eligible_services() -> None:
    legal = customer()
    eligible_type = service_type("jelastic-cloud")
    eligible_type.money_back_eligible = True
    eligible_type.save(update_fields=["money_back_eligible"])
    other_type = service_type("housing")
    services = []
    for kind in (eligible_type, other_type):
        plan = PlanFactory(service_type=kind, period="monthly")
        PriceFactory(plan=plan, amount=Decimal("100.00"), valid_from=dt.date(2025, 1, 1))
        service, invoice = service_order(organization=legal.organization, user=legal.user, plan=plan, now=ORDERED)
        card = legal.organization.means.get(kind="card")
        invoice_pay(invoice=invoice, user=legal.user, prepaid_amount=Decimal("0"), means=card, now=ORDERED)
        services.append(service)
    covered, not_covered = services

    with time_machine.travel(NOW, tick=False), translation.override("en"):
        money_back = browser(legal).get(new_url(legal) + "?kind=money_back").content.decode()
        technical = browser(legal).get(new_url(legal) + "?kind=technical").content.decode()
    with time_machine.travel(dt.datetime(2026, 5, 1, 9, 0, tzinfo=dt.UTC), tick=False), translation.override("en"):
        too_late = browser(legal).get(new_url(legal) + "?kind=money_back").content.decode()

    assert _options(money_back, "service") == ["", str(covered.pk)]
    assert sorted(_options(technical, "service")) == sorted(["", str(covered.pk), str(not_covered.pk)])
    assert _options(too_late, "service") == [""]
    assert "None of your Services can be refunded under the money-back guarantee now." in too_late


def test_mb1_a_money_back_request_for_an_ineligible_service_is_refused_and_nothing_changes() -> None:
    legal = customer()
    plan = PlanFactory(service_type=service_type("housing"), period="monthly")  # not money-back eligible
    PriceFactory(plan=plan, amount=Decimal("100.00"), valid_from=dt.date(2025, 1, 1))
    service, invoice = service_order(organization=legal.organization, user=legal.user, plan=plan, now=ORDERED)
    card = legal.organization.means.get(kind="card")
    invoice_pay(invoice=invoice, user=legal.user, prepaid_amount=Decimal("0"), means=card, now=ORDERED)
    before = (
        list(Ticket.objects.values_list("pk", flat=True)),
        list(MoneyBackRefund.objects.values_list("pk", flat=True)),
        list(Service.objects.values_list("pk", "status")),
        list(Invoice.objects.values_list("pk", "status", "amount_paid", "amount_credited")),
    )

    with time_machine.travel(NOW, tick=False), translation.override("en"):
        response = browser(legal).post(
            new_url(legal),
            {"kind": "money_back", "service": str(service.pk), "subject": "Refund", "body": "Please refund."},
        )

    assert response.status_code == 200
    assert "Select a valid choice." in response.content.decode()
    after = (
        list(Ticket.objects.values_list("pk", flat=True)),
        list(MoneyBackRefund.objects.values_list("pk", flat=True)),
        list(Service.objects.values_list("pk", "status")),
        list(Invoice.objects.values_list("pk", "status", "amount_paid", "amount_credited")),
    )
    assert after == before


@pytest.mark.parametrize(
    ("language", "label"),
    [
        ("de", "00000042 · 03.12.2026 · CHF 1’234.50"),
        ("fr", "00000042 · 03.12.2026 · CHF 1\xa0234,50"),
        ("en", "00000042 · 03.12.2026 · CHF 1,234.50"),
    ],
)
def test_the_invoices_a_dispute_may_name_read_with_the_customers_date_and_amount(language: str, label: str) -> None:
    from support.forms import InvoiceChoiceField

    invoice = Invoice(number=42, issue_date=dt.date(2026, 12, 3), currency="CHF", total_incl_vat=Decimal("1234.50"))
    with translation.override(language):
        assert InvoiceChoiceField(queryset=Invoice.objects.none()).label_from_instance(invoice) == label
