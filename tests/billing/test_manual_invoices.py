"""Invoices staff issue with free lines (TCU 18.4 intervention costs, BIL-8 activation fees, other
charges): the one sequence, VAT per BIL-7, the customer notified, the portal and the PDF; every
refusal names its rule and changes nothing. Also the staff site's form."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from accounts.models import Organization
from audit.models import AuditEvent
from audit.services import Actor
from billing.models import Invoice, InvoiceLine, InvoiceSequence, LedgerEntry, Payment
from billing.services.manual_invoices import ManualLine, manual_invoice_issue
from billing.services.means import means_add_card
from billing.services.payments import invoice_pay
from billing.services.prepaid import prepaid_credit
from core.errors import RuleViolation
from notifications.models import Notification
from sandbox.models import GatewayCharge
from tests.billing.factories import PlanFactory, ServiceFactory, service_type
from tests.factories import OrganizationFactory, UserFactory, member

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 4, 10, 9, 0, tzinfo=dt.UTC)
Charge = InvoiceLine.Charge


@pytest.fixture(autouse=True)
def _fixed_time():  # noqa: ANN202
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def staff():  # noqa: ANN201
    return UserFactory(email="staff@example.com", is_staff=True, is_superuser=True)


@pytest.fixture
def verified(staff) -> Client:
    device = TOTPDevice.objects.create(user=staff, name="phone", confirmed=True)
    client = Client()
    client.force_login(staff)
    token = f"{TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift).token():06d}"
    response = client.post(reverse("accounts:staff_otp"), {"token": token, "next": "/admin/"})
    assert response.status_code == 302
    return client


def _line(price: str = "150.00", quantity: str = "2", charge: str = Charge.INTERVENTION, service=None) -> ManualLine:  # noqa: ANN001
    return ManualLine(
        description="Handling of an abuse complaint",
        quantity=Decimal(quantity),
        unit_price_excl_vat=Decimal(price),
        charge=charge,
        service=service,
    )


def _issue(organization: Organization, staff, *lines: ManualLine, currency: str = "CHF", **kwargs) -> Invoice:  # noqa: ANN001, ANN003
    return manual_invoice_issue(
        organization=organization, currency=currency, lines=lines, staff_user=staff, now=NOW, **kwargs
    )


def _state() -> tuple[list, ...]:
    return (
        list(Invoice.objects.values()),
        list(InvoiceLine.objects.values()),
        list(InvoiceSequence.objects.values()),
        list(Notification.objects.values()),
        list(AuditEvent.objects.filter(action="invoice.issued").values()),
    )


def test_manual_invoice_tcu_18_4_intervention_costs_with_swiss_vat_numbered_and_notified(staff) -> None:
    # given
    organization = OrganizationFactory(billing_country="CH")
    service = ServiceFactory(organization=organization)
    earlier = _issue(organization, staff, _line("10.00", "1", Charge.OTHER))

    # when
    invoice = _issue(
        organization,
        staff,
        _line("150.00", "2", Charge.INTERVENTION, service=service),
        _line("19.95", "1", Charge.ACTIVATION_FEE),
        due_date=dt.date(2026, 4, 30),
    )

    # then
    assert invoice.number == earlier.number + 1
    assert (invoice.kind, invoice.status, invoice.currency, invoice.service_id) == ("manual", "open", "CHF", None)
    assert (invoice.issue_date, invoice.due_date) == (dt.date(2026, 4, 10), dt.date(2026, 4, 30))
    lines = list(
        invoice.lines.values_list(
            "charge", "service_id", "amount_excl_vat", "vat_rate", "vat_amount", "amount_incl_vat"
        )
    )
    assert lines == [
        ("intervention", service.pk, Decimal("300.00"), Decimal("8.10"), Decimal("24.30"), Decimal("324.30")),
        ("activation_fee", None, Decimal("19.95"), Decimal("8.10"), Decimal("1.62"), Decimal("21.57")),
    ]
    assert (invoice.total_excl_vat, invoice.total_vat, invoice.total_incl_vat) == (
        Decimal("319.95"),
        Decimal("25.92"),
        Decimal("345.87"),
    )
    event = AuditEvent.objects.get(action="invoice.issued", object_id=str(invoice.pk))
    assert (event.rule, event.actor_user_id) == ("TCU 18.4", staff.pk)
    notices = Notification.objects.filter(template="invoice_issued", related_id=str(invoice.pk))
    assert sorted(notices.values_list("channel", flat=True)) == ["email", "inbox"]
    body = notices.get(channel="email").body
    assert f"We have issued invoice {invoice.display_number} to you: CHF 345.87, due on 30.04.2026." in body
    assert "- Handling of an abuse complaint: CHF 324.30" in body
    assert "TCU" not in body


def test_manual_invoice_bil_7_reverse_charge_and_housing_swiss_vat(staff) -> None:
    # given: an EU customer with a VAT number
    organization = OrganizationFactory(billing_country="DE", vat_number="DE136695976", currency="EUR")
    housing = ServiceFactory(
        organization=organization, currency="EUR", plan=PlanFactory(service_type=service_type("housing"))
    )

    # when
    reverse_charged = _issue(organization, staff, _line("100.00", "1"), currency="EUR")
    swiss = _issue(organization, staff, _line("100.00", "1", service=housing), currency="EUR")

    # then
    assert (reverse_charged.reverse_charge, reverse_charged.total_vat) == (True, Decimal("0.00"))
    assert (swiss.reverse_charge, swiss.total_vat, swiss.lines.get().vat_rate) == (
        False,
        Decimal("8.10"),
        Decimal("8.10"),
    )


def test_manual_invoice_default_due_date_is_the_usual_payment_term(staff) -> None:
    invoice = _issue(OrganizationFactory(), staff, _line())

    assert invoice.due_date == dt.date(2026, 5, 10)
    assert AuditEvent.objects.get(action="invoice.issued").rule == "TCU 18.4"


@pytest.mark.parametrize(
    ("lines", "rule", "message"),
    [
        ((), "BIL-6", "An invoice needs at least one line."),
        ((_line("0.00"),), "BIL-6", "The total must be greater than zero"),
        ((_line("50.00", "1"), _line("-50.00", "1")), "BIL-6", "The total must be greater than zero"),
        ((_line("10.00", "0"),), "BIL-6", "A quantity must be greater than zero."),
    ],
)
def test_manual_invoice_refused_without_a_positive_total(staff, lines, rule: str, message: str) -> None:  # noqa: ANN001
    organization = OrganizationFactory()
    before = _state()

    with pytest.raises(RuleViolation) as refused:
        _issue(organization, staff, *lines)

    assert refused.value.rule == rule
    assert message in refused.value.message
    assert _state() == before


def test_manual_invoice_refused_for_a_service_of_another_organization(staff) -> None:
    organization = OrganizationFactory()
    theirs = ServiceFactory()
    before = _state()

    with pytest.raises(RuleViolation) as refused:
        _issue(organization, staff, _line(service=theirs))

    assert (refused.value.rule, refused.value.message) == ("BIL-6", "A line names a Service of another organization.")
    assert _state() == before


def test_manual_invoice_refused_for_a_terminated_organization(staff) -> None:
    organization = OrganizationFactory(status=Organization.Status.TERMINATED)
    before = _state()

    with pytest.raises(RuleViolation) as refused:
        _issue(organization, staff, _line())

    assert (refused.value.rule, refused.value.message) == ("ORG-9", "This organization's contract is terminated.")
    assert _state() == before


def test_manual_invoice_refused_in_another_currency(staff) -> None:
    organization = OrganizationFactory(currency="CHF")
    euro_service = ServiceFactory(organization=organization, currency="EUR")
    before = _state()

    with pytest.raises(RuleViolation) as wrong_currency:
        _issue(organization, staff, _line(), currency="EUR")
    with pytest.raises(RuleViolation) as wrong_service:
        _issue(organization, staff, _line(service=euro_service))

    assert (wrong_currency.value.rule, wrong_currency.value.message) == (
        "MONEY-1",
        "This organization is billed in CHF, not in EUR.",
    )
    assert (wrong_service.value.rule, wrong_service.value.message) == (
        "MONEY-1",
        "A line names a Service billed in EUR, not in CHF.",
    )
    assert _state() == before


def test_manual_invoice_refused_mixing_housing_and_other_vat_rules(staff) -> None:
    organization = OrganizationFactory(billing_country="US")
    housing = ServiceFactory(organization=organization, plan=PlanFactory(service_type=service_type("housing")))
    before = _state()

    with pytest.raises(RuleViolation) as refused:
        _issue(organization, staff, _line(service=housing), _line())

    assert refused.value.rule == "BIL-7"
    assert _state() == before


def test_manual_invoice_refused_to_customers_and_with_a_past_due_date(staff) -> None:
    legal = member()
    before = _state()

    with pytest.raises(RuleViolation) as customer:
        _issue(legal.organization, legal.user, _line())
    with pytest.raises(RuleViolation) as past:
        _issue(legal.organization, staff, _line(), due_date=dt.date(2026, 4, 9))

    assert (customer.value.rule, customer.value.status) == ("BIL-6", 403)
    assert (past.value.rule, past.value.message) == ("BIL-6", "The due date cannot be in the past.")
    assert _state() == before


def test_manual_invoice_is_in_the_portal_for_its_organization_only(staff) -> None:
    # given
    legal = member()
    intruder = member()
    invoice = _issue(legal.organization, staff, _line())
    mine = Client()
    mine.force_login(legal.user)
    theirs = Client()
    theirs.force_login(intruder.user)
    url = reverse("billing:invoice", args=[legal.organization_id, invoice.pk])

    # when
    page = mine.get(url)
    pdf = mine.get(reverse("billing:invoice_pdf", args=[legal.organization_id, invoice.pk]))
    other = theirs.get(url)
    other_in_theirs = theirs.get(reverse("billing:invoice", args=[intruder.organization_id, invoice.pk]))

    # then
    assert page.status_code == 200
    assert "Handling of an abuse complaint" in page.content.decode()
    assert "Pay now" in page.content.decode()
    assert "pay this invoice by card or by bank transfer" in page.content.decode()
    assert 'type="hidden" name="prepaid_amount"' in page.content.decode()
    assert (pdf.status_code, pdf["Content-Type"]) == (200, "application/pdf")
    assert (other.status_code, other_in_theirs.status_code) == (404, 404)


def test_manual_invoice_is_paid_by_card_like_any_invoice_but_not_from_the_balance(staff) -> None:
    # given
    legal = member()
    invoice = _issue(legal.organization, staff, _line("100.00", "1"))
    card = means_add_card(
        organization=legal.organization,
        user=legal.user,
        number="4242424242424242",
        exp_month=12,
        exp_year=2030,
        cvc="123",
        make_default=True,
        now=NOW,
    )

    prepaid_credit(
        organization=legal.organization,
        kind=LedgerEntry.Kind.SLA_PENALTY,
        amount=Decimal("50.00"),
        now=NOW,
        actor=Actor.system("test"),
        rule="SLA-4",
        claim_reference="claim-1",
    )
    before = (list(Payment.objects.values()), list(LedgerEntry.objects.values()), list(GatewayCharge.objects.values()))

    # when: PRE-3, the balance pays only for ordering, renewing or using Services
    with pytest.raises(RuleViolation) as from_balance:
        invoice_pay(invoice=invoice, user=legal.user, prepaid_amount=Decimal("1.00"), means=card, now=NOW)
    after_refusal = (
        list(Payment.objects.values()),
        list(LedgerEntry.objects.values()),
        list(GatewayCharge.objects.values()),
    )
    payment = invoice_pay(invoice=invoice, user=legal.user, prepaid_amount=Decimal("0"), means=card, now=NOW)

    # then
    assert (from_balance.value.rule, from_balance.value.message) == (
        "PRE-3",
        "The Prepaid Account pays only for ordering, renewing or using Services.",
    )
    assert after_refusal == before  # no card charged, nothing booked
    invoice.refresh_from_db()
    assert payment is not None
    assert (payment.status, payment.amount) == ("succeeded", Decimal("108.10"))
    assert (invoice.status, invoice.amount_paid) == ("paid", Decimal("108.10"))


def test_manual_invoice_in_the_api_for_its_organization_only(staff) -> None:
    legal = member()
    intruder = member()
    invoice = _issue(legal.organization, staff, _line())
    mine = APIClient()
    mine.force_authenticate(legal.user)
    theirs = APIClient()
    theirs.force_authenticate(intruder.user)

    listed = mine.get(f"/api/v1/organizations/{legal.organization_id}/invoices/").json()
    other = theirs.get(f"/api/v1/organizations/{legal.organization_id}/invoices/{invoice.pk}/")
    under_theirs = theirs.get(f"/api/v1/organizations/{intruder.organization_id}/invoices/{invoice.pk}/")

    assert [(row["id"], row["kind"]) for row in listed] == [(invoice.pk, "manual")]
    assert (other.status_code, under_theirs.status_code) == (404, 404)


# --- the staff site ------------------------------------------------------------------------------


def _form(organization: Organization, **overrides: str) -> dict[str, str]:
    data = {
        "organization": str(organization.pk),
        "currency": "CHF",
        "due_date": "",
        "lines-TOTAL_FORMS": "2",
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "1000",
        "lines-0-description": "Intervention after a complaint",
        "lines-0-charge": "intervention",
        "lines-0-quantity": "1",
        "lines-0-unit_price_excl_vat": "80.00",
        "lines-0-service": "",
        "lines-1-description": "",
        "lines-1-charge": "other",
        "lines-1-quantity": "1",
        "lines-1-unit_price_excl_vat": "",
        "lines-1-service": "",
    }
    data.update(overrides)
    return data


def test_manual_invoice_staff_form_issues_and_keeps_input_on_refusal(verified) -> None:
    # given
    organization = OrganizationFactory()
    theirs = ServiceFactory()
    url = reverse("admin:billing_invoice_manual")

    # when
    organization_page = verified.get(reverse("admin:accounts_organization_change", args=[organization.pk]))
    page = verified.get(url, {"organization": organization.pk})
    refused = verified.post(url, _form(organization, **{"lines-0-service": str(theirs.pk)}))
    done = verified.post(url, _form(organization))

    # then
    assert f"{url}?organization={organization.pk}" in organization_page.content.decode()
    assert page.status_code == 200
    assert f'name="organization" value="{organization.pk}"' in page.content.decode()
    assert "A line names a Service of another organization. (BIL-6)" in refused.content.decode()
    assert "Intervention after a complaint" in refused.content.decode()
    invoice = Invoice.objects.get()
    assert done.url == reverse("admin:billing_invoice_change", args=[invoice.pk])
    assert (invoice.kind, invoice.total_incl_vat) == ("manual", Decimal("86.48"))
    assert verified.get(reverse("admin:billing_invoice_changelist")).status_code == 200
    staff_view = verified.get(reverse("admin:billing_invoice_change", args=[invoice.pk])).content.decode()
    assert "intervention costs" in staff_view


def test_manual_invoice_staff_form_is_refused_without_the_permission() -> None:
    clerk = UserFactory(is_staff=True)
    client = Client()
    client.force_login(clerk)

    response = client.get(reverse("admin:billing_invoice_manual"))

    assert response.status_code in (302, 403)
    assert not Invoice.objects.exists()
