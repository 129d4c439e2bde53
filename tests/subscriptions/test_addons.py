"""SPEC BIL-8: customers switch a Service's add-ons on and off; a one-time activation fee is invoiced
at activation (VAT per BIL-7, the one numbering of BIL-6), and each renewal invoice bills the add-ons
active when it is issued. Refusals carry their rule and change nothing; tenancy on every door."""

import datetime as dt
import io
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from pypdf import PdfReader
from rest_framework.test import APIClient

from accounts.models import Membership, Organization
from audit.models import AuditEvent
from billing.models import AddOn, AddOnPrice, Invoice, InvoiceLine, InvoiceSequence, PaymentMeans
from billing.pdf import invoice_pdf
from billing.services.payments import invoice_pay
from core.errors import RuleViolation
from subscriptions.models import MembershipServiceScope, Service, ServiceAddOn
from subscriptions.services.addons import service_add_on_activate, service_add_on_deactivate
from tests.billing.factories import service_type
from tests.factories import OrganizationFactory, UserFactory, member
from tests.subscriptions.lifecycle.helpers import at, customer, live, service

pytestmark = pytest.mark.django_db

NOW = at(dt.date(2026, 2, 10), 10)  # the helper's Services: term 1 from 31 Jan 2026, E = 28 Feb 2026


def add_on(
    type_slug: str = "web-hosting", *, per_cycle: str = "10.00", fee: str = "20.00", slug: str = "backup"
) -> AddOn:
    option = AddOn.objects.create(service_type=service_type(type_slug), slug=slug, name="Daily backup")
    AddOnPrice.objects.create(
        add_on=option,
        currency="CHF",
        amount_per_cycle=Decimal(per_cycle),
        activation_fee=Decimal(fee),
        valid_from=dt.date(2025, 1, 1),
    )
    return option


def lines(invoice: Invoice) -> list[tuple[str, Decimal, Decimal, Decimal]]:
    return list(
        InvoiceLine.objects.filter(invoice=invoice)
        .order_by("position")
        .values_list("description", "amount_excl_vat", "vat_rate", "vat_amount")
    )


def renewal(svc: Service, term: int) -> Invoice:
    return Invoice.objects.get(service=svc, kind="renewal", term=term)


def unchanged(svc: Service) -> tuple[Any, ...]:
    """What a refused add-on change must leave as it was."""
    return (
        list(ServiceAddOn.objects.filter(service=svc).values_list("pk", "add_on_id", "deactivated_at")),
        list(Invoice.objects.filter(service=svc).values_list("pk", "status")),
        InvoiceSequence.objects.filter(id=1).values_list("last_number", flat=True).first(),
        AuditEvent.objects.filter(action__startswith="service_add_on.").count(),
    )


# --- the whole course, with VAT ----------------------------------------------------------------


def test_bil_8_fee_invoiced_with_swiss_vat_then_each_renewal_bills_the_add_on_until_switched_off() -> None:
    # given a Swiss customer's monthly web hosting at CHF 100.00 (E = 28 Feb), paid by card
    legal = customer()
    svc = service(legal, type_slug="web-hosting")
    backup = add_on()

    # when the add-on is switched on
    done = service_add_on_activate(service=svc, add_on=backup, user=legal.user, now=NOW)

    # then its fee is invoiced now, with Swiss VAT 8.1%, the next number of the one sequence
    fee = done.invoice
    assert fee is not None
    assert (fee.kind, fee.status, fee.service_id, fee.issue_date, fee.due_date) == (
        "add_on",
        "open",
        svc.pk,
        dt.date(2026, 2, 10),
        dt.date(2026, 3, 12),
    )
    assert (fee.total_excl_vat, fee.total_vat, fee.total_incl_vat, fee.reverse_charge) == (
        Decimal("20.00"),
        Decimal("1.62"),
        Decimal("21.62"),
        False,
    )
    assert lines(fee) == [("Daily backup: activation fee", Decimal("20.00"), Decimal("8.10"), Decimal("1.62"))]
    assert fee.number == InvoiceSequence.objects.get(id=1).last_number
    assert list(
        ServiceAddOn.objects.filter(service=svc, deactivated_at__isnull=True).values_list("add_on_id", flat=True)
    ) == [backup.pk]
    event = AuditEvent.objects.get(action="service_add_on.activated")
    assert (event.rule, event.after["add_on"], event.after["invoice"], event.after["activation_fee"]) == (
        "BIL-8",
        "backup",
        fee.number,
        "20.00",
    )

    # and the fee is paid like any invoice (card)
    card = PaymentMeans.objects.get(organization=legal.organization)
    invoice_pay(invoice=fee, user=legal.user, prepaid_amount=Decimal("0"), means=card, now=NOW)
    fee.refresh_from_db()
    assert (fee.status, fee.amount_paid) == ("paid", Decimal("21.62"))

    # when the first debit attempt (E - 14) renews term 2
    live(dt.date(2026, 2, 14))

    # then the renewal invoice bills the plan and the add-on for the term, VAT on each line
    second = renewal(svc, 2)
    assert lines(second) == [
        (
            svc.plan.service_type.name + " · " + svc.plan.name + " (monthly)",
            Decimal("100.00"),
            Decimal("8.10"),
            Decimal("8.10"),
        ),
        ("Daily backup", Decimal("10.00"), Decimal("8.10"), Decimal("0.81")),
    ]
    assert (second.total_incl_vat, second.status) == (Decimal("118.91"), "paid")

    # when the add-on is switched off, then the next renewal (term 3, E = 31 Mar) no longer bills it
    service_add_on_deactivate(service=svc, add_on=backup, user=legal.user, now=at(dt.date(2026, 2, 20), 10))
    live(dt.date(2026, 3, 17))
    third = renewal(svc, 3)
    assert [line[0] for line in lines(third)] == [svc.plan.service_type.name + " · " + svc.plan.name + " (monthly)"]
    assert third.total_incl_vat == Decimal("108.10")
    assert AuditEvent.objects.get(action="service_add_on.deactivated").rule == "BIL-8"
    # nothing is refunded for the add-on's term already paid (BIL-13)
    second.refresh_from_db()
    assert (second.status, second.amount_credited) == ("paid", Decimal("0.00"))


def test_bil_8_an_eu_customer_with_a_vat_number_gets_the_fee_and_the_renewal_line_under_reverse_charge() -> None:
    # given a German company with a VAT number
    organization = OrganizationFactory(billing_country="DE", vat_number="DE136695976")
    legal = member(organization=organization)
    svc = service(legal, type_slug="web-hosting")
    backup = add_on()

    # when
    fee = service_add_on_activate(service=svc, add_on=backup, user=legal.user, now=NOW).invoice
    live(dt.date(2026, 2, 14))  # no card: the attempt records "no valid means" but issues the invoice

    # then no VAT, reverse charge stated, on the fee and on the add-on's renewal line
    assert fee is not None
    assert (fee.total_excl_vat, fee.total_vat, fee.total_incl_vat, fee.reverse_charge) == (
        Decimal("20.00"),
        Decimal("0.00"),
        Decimal("20.00"),
        True,
    )
    second = renewal(svc, 2)
    assert lines(second)[1] == ("Daily backup", Decimal("10.00"), Decimal("0.00"), Decimal("0.00"))
    assert (second.total_incl_vat, second.reverse_charge) == (Decimal("110.00"), True)


def test_bil_8_an_add_on_without_a_fee_issues_no_invoice() -> None:
    legal = customer()
    svc = service(legal, type_slug="web-hosting")
    option = add_on(fee="0.00")

    done = service_add_on_activate(service=svc, add_on=option, user=legal.user, now=NOW)

    assert done.invoice is None
    assert not Invoice.objects.filter(service=svc).exists()
    assert ServiceAddOn.objects.filter(service=svc, add_on=option, deactivated_at__isnull=True).count() == 1


def test_bil_8_switched_on_again_after_off_is_a_new_activation_with_its_fee() -> None:
    legal = customer()
    svc = service(legal, type_slug="web-hosting")
    backup = add_on()
    service_add_on_activate(service=svc, add_on=backup, user=legal.user, now=NOW)
    service_add_on_deactivate(service=svc, add_on=backup, user=legal.user, now=NOW)

    again = service_add_on_activate(service=svc, add_on=backup, user=legal.user, now=NOW)

    assert again.invoice is not None
    assert Invoice.objects.filter(service=svc, kind="add_on").count() == 2
    assert ServiceAddOn.objects.filter(service=svc).count() == 2


# --- refusals ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "rule", "message"),
    [
        ({"status": "terminated"}, "REN-4", "This Service is terminated: its add-ons cannot be changed."),
        (
            {"status": "suspended", "suspension_reason": "unpaid"},
            "REN-3",
            "This Service is suspended: its add-ons can be changed again once it works again.",
        ),
        (
            {"status": "awaiting_payment", "anchor_date": None, "expires_on": None, "term": 0},
            "BIL-8",
            "Add-ons can be added once the Service is active and paid for.",
        ),
    ],
)
def test_bil_8_a_service_not_running_takes_no_add_on_change(fields: dict[str, Any], rule: str, message: str) -> None:
    legal = customer()
    svc = service(legal, type_slug="web-hosting")
    backup = add_on()
    service_add_on_activate(service=svc, add_on=backup, user=legal.user, now=NOW)
    Service.objects.filter(pk=svc.pk).update(**fields)
    before = unchanged(svc)

    for act in (service_add_on_activate, service_add_on_deactivate):
        with pytest.raises(RuleViolation) as refused:
            act(service=svc, add_on=backup, user=legal.user, now=NOW)
        assert (refused.value.rule, refused.value.message) == (rule, message)

    assert unchanged(svc) == before


def test_bil_8_an_add_on_of_another_service_type_is_refused() -> None:
    legal = customer()
    svc = service(legal, type_slug="web-hosting")
    other = add_on("kdrive", slug="more-space")
    before = unchanged(svc)

    with pytest.raises(RuleViolation) as refused:
        service_add_on_activate(service=svc, add_on=other, user=legal.user, now=NOW)

    assert (refused.value.rule, refused.value.status, refused.value.field) == ("BIL-8", 400, "add_on")
    assert refused.value.message == "This add-on is not available for this kind of Service."
    assert unchanged(svc) == before


def test_bil_8_already_active_and_not_active_are_refused() -> None:
    legal = customer()
    svc = service(legal, type_slug="web-hosting")
    backup, other = add_on(), add_on(slug="monitoring")
    service_add_on_activate(service=svc, add_on=backup, user=legal.user, now=NOW)
    before = unchanged(svc)

    with pytest.raises(RuleViolation) as twice:
        service_add_on_activate(service=svc, add_on=backup, user=legal.user, now=NOW)
    with pytest.raises(RuleViolation) as never:
        service_add_on_deactivate(service=svc, add_on=other, user=legal.user, now=NOW)

    assert (twice.value.rule, twice.value.message) == ("BIL-8", "This add-on is already active on the Service.")
    assert (never.value.rule, never.value.message) == ("BIL-8", "This add-on is not active on the Service.")
    assert unchanged(svc) == before


def test_bil_8_a_usage_billed_service_takes_no_add_on() -> None:
    legal = customer()
    svc = service(legal, type_slug="jelastic-cloud", usage_based=True, anchor=None, expires=None, term=0)
    option = add_on("jelastic-cloud", slug="public-ip")
    before = unchanged(svc)

    with pytest.raises(RuleViolation) as refused:
        service_add_on_activate(service=svc, add_on=option, user=legal.user, now=NOW)

    assert (refused.value.rule, refused.value.message) == (
        "BIL-8",
        "This Service is billed by its usage: it takes no add-ons.",
    )
    assert unchanged(svc) == before


def test_bil_8_org_5_a_technical_member_may_not_change_add_ons() -> None:
    legal = customer()
    svc = service(legal, type_slug="web-hosting")
    backup = add_on()
    technical = member(role=Membership.Role.TECHNICAL, organization=legal.organization)
    before = unchanged(svc)

    with pytest.raises(RuleViolation) as refused:
        service_add_on_activate(service=svc, add_on=backup, user=technical.user, now=NOW)

    assert (refused.value.status, refused.value.message) == (
        403,
        "Your role does not allow this action on the Service.",
    )
    assert unchanged(svc) == before


# --- the doors: the Service page and the API -------------------------------------------------


def browser(membership: Membership) -> Client:
    client = Client()
    client.force_login(membership.user)
    return client


def api(membership: Membership) -> APIClient:
    client = APIClient()
    client.force_authenticate(membership.user)
    return client


def page(svc: Service, name: str = "service", *extra: int) -> str:
    return reverse(f"subscriptions:{name}", args=[svc.organization_id, svc.pk, *extra])


def test_bil_8_the_service_page_offers_the_add_on_with_its_price_and_switches_it() -> None:
    legal = customer()
    svc = service(legal, type_slug="web-hosting")
    backup = add_on()
    client = browser(legal)

    html = client.get(page(svc)).content.decode()
    assert "Daily backup" in html and "CHF 10.81" in html and "CHF 21.62 once, when switched on" in html
    assert page(svc, "service_add_on_activate", backup.pk) in html

    on = client.post(page(svc, "service_add_on_activate", backup.pk), follow=True)
    fee = Invoice.objects.get(service=svc, kind="add_on")
    assert on.redirect_chain == [(page(svc), 302)]
    assert [str(m) for m in on.context["messages"]] == [
        "Daily backup is active: it is billed with each renewal. "
        f"Its activation fee is on invoice {fee.display_number}."
    ]
    assert page(svc, "service_add_on_deactivate", backup.pk) in on.content.decode()

    off = client.post(page(svc, "service_add_on_deactivate", backup.pk), follow=True)
    assert [str(m) for m in off.context["messages"]] == [
        "Daily backup is switched off: the next renewal no longer bills it."
    ]
    assert not ServiceAddOn.objects.filter(service=svc, deactivated_at__isnull=True).exists()


def test_bil_8_the_page_shows_a_refusal_in_plain_words_and_changes_nothing() -> None:
    legal = customer()
    svc = service(legal, type_slug="web-hosting")
    backup = add_on()
    service_add_on_activate(service=svc, add_on=backup, user=legal.user, now=NOW)
    before = unchanged(svc)

    response = browser(legal).post(page(svc, "service_add_on_activate", backup.pk), follow=True)

    assert [str(m) for m in response.context["messages"]] == ["This add-on is already active on the Service."]
    assert "BIL-8" not in response.content.decode()
    assert unchanged(svc) == before


def test_bil_8_api_lists_switches_on_and_off() -> None:
    legal = customer()
    svc = service(legal, type_slug="web-hosting")
    backup = add_on()
    client = api(legal)
    url = f"/api/v1/organizations/{svc.organization_id}/services/{svc.pk}/add-ons/"

    listed = client.get(url)
    assert (listed.status_code, listed.json()) == (
        200,
        [
            {
                "id": backup.pk,
                "slug": "backup",
                "name": "Daily backup",
                "amount_per_cycle": "10.00",
                "activation_fee": "20.00",
                "active": False,
                "activated_at": None,
            }
        ],
    )
    on = client.post(url, {"add_on_id": backup.pk}, format="json")
    assert on.status_code == 201
    assert (on.json()["add_on"]["active"], on.json()["invoice"]["kind"], on.json()["invoice"]["total_incl_vat"]) == (
        True,
        "add_on",
        "21.62",
    )
    twice = client.post(url, {"add_on_id": backup.pk}, format="json")
    assert (twice.status_code, twice.json()["rule"], twice.json()["detail"]) == (
        409,
        "BIL-8",
        "This add-on is already active on the Service.",
    )
    off = client.delete(f"{url}{backup.pk}/")
    assert (off.status_code, off.json()["active"]) == (200, False)


@pytest.mark.parametrize("door", ["page_on", "page_off", "api_list", "api_on", "api_off"])
def test_bil_8_another_organizations_service_is_404_and_unchanged(door: str) -> None:
    # given my Organization and another one whose Service has the add-on active
    mine = customer()
    theirs = customer()
    svc = service(theirs, type_slug="web-hosting")
    backup = add_on()
    service_add_on_activate(service=svc, add_on=backup, user=theirs.user, now=NOW)
    before = unchanged(svc)
    url = f"/api/v1/organizations/{{org}}/services/{svc.pk}/add-ons/"

    # when I try through my Organization's id and through theirs
    responses = []
    for org_id in (mine.organization_id, theirs.organization_id):
        if door == "page_on":
            path = reverse("subscriptions:service_add_on_activate", args=[org_id, svc.pk, backup.pk])
            responses.append(browser(mine).post(path))
        elif door == "page_off":
            path = reverse("subscriptions:service_add_on_deactivate", args=[org_id, svc.pk, backup.pk])
            responses.append(browser(mine).post(path))
        elif door == "api_list":
            responses.append(api(mine).get(url.format(org=org_id)))
        elif door == "api_on":
            responses.append(api(mine).post(url.format(org=org_id), {"add_on_id": backup.pk}, format="json"))
        else:
            responses.append(api(mine).delete(f"{url.format(org=org_id)}{backup.pk}/"))

    # then
    assert [r.status_code for r in responses] == [404, 404]
    assert unchanged(svc) == before


def test_bil_8_org_6_a_member_limited_to_another_service_gets_404() -> None:
    legal = customer()
    svc = service(legal, type_slug="web-hosting")
    elsewhere = service(legal, type_slug="web-hosting")
    backup = add_on()
    billing = member(role=Membership.Role.BILLING, organization=legal.organization)
    MembershipServiceScope.objects.create(membership=billing, service=elsewhere)
    before = unchanged(svc)

    response = browser(billing).post(page(svc, "service_add_on_activate", backup.pk))
    answer = api(billing).post(
        f"/api/v1/organizations/{svc.organization_id}/services/{svc.pk}/add-ons/",
        {"add_on_id": backup.pk},
        format="json",
    )

    assert (response.status_code, answer.status_code) == (404, 404)
    assert unchanged(svc) == before


def test_bil_8_enf_4_no_add_on_is_switched_on_while_the_organizations_orders_are_held() -> None:
    legal = customer()
    svc = service(legal, type_slug="web-hosting")
    backup = add_on()
    staff = UserFactory(is_staff=True)
    Organization.objects.filter(pk=legal.organization_id).update(
        orders_held_at=NOW, orders_held_by=staff, orders_held_reason="Invoice 3 months late"
    )
    before = unchanged(svc)

    with pytest.raises(RuleViolation) as refused:
        service_add_on_activate(service=svc, add_on=backup, user=legal.user, now=NOW)

    assert refused.value.rule == "ENF-4"
    assert refused.value.message.startswith("New orders and renewals are on hold because an invoice is unpaid")
    assert unchanged(svc) == before


def test_bil_8_bil_5_the_fee_invoice_prints_its_line_and_vat_with_a_qr_bill(settings) -> None:  # noqa: ANN001
    settings.PROVIDER_IBAN = "CH44 3199 9123 0008 8901 2"
    legal = customer()
    svc = service(legal, type_slug="web-hosting")
    fee = service_add_on_activate(service=svc, add_on=add_on(), user=legal.user, now=NOW).invoice
    assert fee is not None

    pages = [page.extract_text() for page in PdfReader(io.BytesIO(invoice_pdf(fee))).pages]

    assert "Daily backup: activation fee" in pages[0]
    assert "VAT CHF 1.62" in pages[0] and "Total incl. VAT CHF 21.62" in pages[0]
    assert len(pages) == 2 and "21.62" in pages[1]  # the QR-bill of a CHF invoice (BIL-5)
