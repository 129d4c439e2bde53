"""SPEC BIL-9: credits bought for one Service (an invoice; the balance grows once it is paid) carry over
without expiry, pay that Service's invoices before the Prepaid Account and the card (PRE-5 then
applies to the rest), and are deleted, not refunded, when the Service terminates. Refusals carry
their rule and change nothing; tenancy on every door; the daily run stays exactly-once (REN-8)."""

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from accounts.models import Membership, Organization
from audit.models import AuditEvent
from audit.services import Actor
from billing.models import AddOn, AddOnPrice, CreditNote, Invoice, InvoiceLine, Payment, PaymentMeans, PrepaidAccount
from billing.services.payments import invoice_pay
from billing.services.posting import Application, Effects, PaymentRecord, invoices_apply_payments, payments_record
from core.errors import RuleViolation
from subscriptions.models import MembershipServiceScope, RenewalAttempt, Service, ServiceCreditEntry
from subscriptions.services.addons import service_add_on_activate
from subscriptions.services.credits import service_credits_buy, service_credits_pay
from subscriptions.services.lifecycle import service_renew_now, service_terminate_now
from tests.billing.factories import InvoiceFactory, service_type
from tests.factories import UserFactory, member
from tests.subscriptions.lifecycle.helpers import at, attempts, customer, live, live_twice, service, snapshot

pytestmark = pytest.mark.django_db

NOW = at(dt.date(2026, 2, 10), 10)  # the helper's Services: term 1 from 31 Jan 2026, E = 28 Feb 2026


def card(legal: Membership) -> PaymentMeans:
    return PaymentMeans.objects.get(organization=legal.organization, kind="card")


def give_credits(legal: Membership, svc: Service, amount: str) -> Invoice:
    """Credits bought and their invoice paid by card."""
    invoice = service_credits_buy(service=svc, amount=Decimal(amount), user=legal.user, now=NOW)
    invoice_pay(invoice=invoice, user=legal.user, prepaid_amount=Decimal("0"), means=card(legal), now=NOW)
    return invoice


def balance(svc: Service) -> Decimal:
    svc.refresh_from_db()
    return svc.credit_balance


def entries(svc: Service) -> list[tuple[str, Decimal, Decimal]]:
    return list(
        ServiceCreditEntry.objects.filter(service=svc).order_by("id").values_list("kind", "amount", "balance_after")
    )


def paid_by(invoice: Invoice) -> list[tuple[str, Decimal]]:
    return list(
        Payment.objects.filter(invoice=invoice, status="succeeded").order_by("pk").values_list("kind", "amount")
    )


def unchanged(svc: Service) -> tuple[Any, ...]:
    svc.refresh_from_db()
    return (
        svc.credit_balance,
        entries(svc),
        list(Invoice.objects.filter(service=svc).order_by("pk").values_list("pk", "status", "amount_paid")),
        Payment.objects.filter(invoice__service=svc).count(),
        AuditEvent.objects.filter(rule="BIL-9").count(),
    )


# --- buying --------------------------------------------------------------------------------------


def test_bil_9_a_purchase_is_an_invoice_without_vat_and_its_payment_grows_the_balance() -> None:
    legal = customer()
    svc = service(legal, type_slug="web-hosting")

    invoice = service_credits_buy(service=svc, amount=Decimal("50"), user=legal.user, now=NOW)

    assert (invoice.kind, invoice.status, invoice.service_id, invoice.total_vat, invoice.total_incl_vat) == (
        "credits",
        "open",
        svc.pk,
        Decimal("0.00"),
        Decimal("50.00"),
    )
    assert list(InvoiceLine.objects.filter(invoice=invoice).values_list("description", "vat_rate")) == [
        (f"Credits for {svc.plan.name} (Service {svc.pk})", Decimal("0.00"))
    ]
    assert balance(svc) == Decimal("0.00")  # not before it is paid

    invoice_pay(invoice=invoice, user=legal.user, prepaid_amount=Decimal("0"), means=card(legal), now=NOW)

    assert balance(svc) == Decimal("50.00")
    assert entries(svc) == [("purchase", Decimal("50.00"), Decimal("50.00"))]
    event = AuditEvent.objects.get(action="service_credit.purchase")
    assert (event.rule, event.after["credit_balance"], event.after["invoice"]) == ("BIL-9", "50.00", invoice.number)


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("0", "The amount must be greater than zero."),
        ("10000.01", "One purchase of credits can be at most CHF 10000.00."),
    ],
)
def test_bil_9_a_purchase_out_of_bounds_is_refused(amount: str, message: str) -> None:
    legal = customer()
    svc = service(legal, type_slug="web-hosting")
    before = unchanged(svc)

    with pytest.raises(RuleViolation) as refused:
        service_credits_buy(service=svc, amount=Decimal(amount), user=legal.user, now=NOW)

    assert (refused.value.rule, refused.value.status, refused.value.field, refused.value.message) == (
        "BIL-9",
        400,
        "amount",
        message,
    )
    assert unchanged(svc) == before


def test_bil_9_a_terminated_service_takes_no_credits_and_a_technical_member_buys_none() -> None:
    legal = customer()
    svc = service(legal, type_slug="web-hosting")
    technical = member(role=Membership.Role.TECHNICAL, organization=legal.organization)
    before = unchanged(svc)

    with pytest.raises(RuleViolation) as role:
        service_credits_buy(service=svc, amount=Decimal("10"), user=technical.user, now=NOW)
    Service.objects.filter(pk=svc.pk).update(status="terminated")
    with pytest.raises(RuleViolation) as ended:
        service_credits_buy(service=svc, amount=Decimal("10"), user=legal.user, now=NOW)

    assert (role.value.status, role.value.message) == (403, "Your role does not allow this action on the Service.")
    assert (ended.value.rule, ended.value.message) == ("BIL-9", "This Service is terminated: it takes no credits.")
    assert unchanged(svc) == before


def test_bil_9_the_balance_can_never_go_negative_in_the_database() -> None:
    legal = customer()
    svc = service(legal, type_slug="web-hosting")

    with pytest.raises(IntegrityError), transaction.atomic():
        Service.objects.filter(pk=svc.pk).update(credit_balance=Decimal("-0.01"))
    with pytest.raises(IntegrityError), transaction.atomic():
        ServiceCreditEntry.objects.create(
            service=svc, kind="invoice_payment", amount=Decimal("-1"), balance_after=Decimal("-1"), created_at=NOW
        )


def test_bil_9_a_purchase_is_credited_once_and_credits_are_deleted_once_in_the_database() -> None:
    legal = customer()
    svc = service(legal, type_slug="web-hosting")
    invoice = give_credits(legal, svc, "10")

    with pytest.raises(IntegrityError), transaction.atomic():
        ServiceCreditEntry.objects.create(
            service=svc,
            kind="purchase",
            amount=Decimal("10"),
            balance_after=Decimal("20"),
            invoice=invoice,
            created_at=NOW,
        )
    ServiceCreditEntry.objects.create(
        service=svc, kind="deleted", amount=Decimal("-10"), balance_after=Decimal("0"), created_at=NOW
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        ServiceCreditEntry.objects.create(
            service=svc, kind="deleted", amount=Decimal("-1"), balance_after=Decimal("0"), created_at=NOW
        )
    assert [kind for kind, _amount, _after in entries(svc)] == ["purchase", "deleted"]


# --- spending: credits first, then the Prepaid Account, then the card ------------------------


def test_bil_9_pre_5_the_debit_takes_the_credits_first_then_the_balance_then_the_card() -> None:
    # given CHF 50 of credits, CHF 30 on the Prepaid Account and a card; renewal CHF 108.10
    legal = customer(balance="30")
    svc = service(legal, type_slug="web-hosting")
    give_credits(legal, svc, "50")

    # when the first attempt (E - 14) is made
    live(dt.date(2026, 2, 14))

    # then
    invoice = Invoice.objects.get(service=svc, kind="renewal", term=2)
    assert invoice.status == "paid"
    assert dict(paid_by(invoice)) == {
        "credits": Decimal("50.00"),
        "prepaid": Decimal("30.00"),
        "card": Decimal("28.10"),
    }
    assert attempts(svc) == [(2, dt.date(2026, 2, 14), "succeeded", Decimal("30.00"), Decimal("28.10"))]
    assert entries(svc)[-1] == ("invoice_payment", Decimal("-50.00"), Decimal("0.00"))
    assert PrepaidAccount.objects.get(organization=legal.organization).balance == Decimal("0.00")
    svc.refresh_from_db()
    assert (svc.term, svc.expires_on) == (2, dt.date(2026, 3, 31))


def test_bil_9_credits_that_cover_the_renewal_pay_it_alone_and_carry_the_rest_over_exactly_once() -> None:
    # given CHF 150 of credits: one renewal (108.10) and part of the next
    legal = customer(balance="500")
    svc = service(legal, type_slug="web-hosting")
    give_credits(legal, svc, "150")

    # when the days of two renewals are lived, each twice (REN-8)
    live_twice(dt.date(2026, 2, 14))
    after_first = snapshot()
    live(dt.date(2026, 2, 14))

    # then the first renewal is paid by the credits alone, with no debit attempt needed
    first = Invoice.objects.get(service=svc, kind="renewal", term=2)
    assert (first.status, paid_by(first)) == ("paid", [("credits", Decimal("108.10"))])
    assert attempts(svc) == []
    assert balance(svc) == Decimal("41.90")
    assert snapshot() == after_first

    # and the rest carries over to the next month: the credits first, then the Prepaid Account
    live_twice(dt.date(2026, 3, 17))
    second = Invoice.objects.get(service=svc, kind="renewal", term=3)
    assert paid_by(second) == [("credits", Decimal("41.90")), ("prepaid", Decimal("66.20"))]
    assert balance(svc) == Decimal("0.00")
    assert [kind for kind, _amount, _after in entries(svc)] == ["purchase", "invoice_payment", "invoice_payment"]


def test_bil_9_a_declined_card_keeps_what_the_credits_paid_and_the_balance() -> None:
    # given CHF 20 of credits, CHF 30 prepaid and a card that is declined
    legal = customer(balance="30")
    svc = service(legal, type_slug="web-hosting")
    give_credits(legal, svc, "20")
    PaymentMeans.objects.filter(organization=legal.organization).update(revoked_at=NOW)

    # when the attempt finds no valid card
    live(dt.date(2026, 2, 14))

    # then the credits paid their part; the Prepaid Account paid nothing (PRE-5: both or neither)
    invoice = Invoice.objects.get(service=svc, kind="renewal", term=2)
    assert (invoice.status, invoice.amount_paid, invoice.amount_due) == ("open", Decimal("20.00"), Decimal("88.10"))
    assert PrepaidAccount.objects.get(organization=legal.organization).balance == Decimal("30.00")
    assert [outcome for _t, _d, outcome, _p, _c in attempts(svc)] == ["no_means"]


def test_bil_9_renew_now_takes_the_credits_first() -> None:
    legal = customer()
    svc = service(legal, type_slug="web-hosting", auto_renew=False)
    give_credits(legal, svc, "100")

    invoice = service_renew_now(
        service=svc, user=legal.user, prepaid_amount=Decimal("0"), means=card(legal), now=at(dt.date(2026, 2, 20), 10)
    )

    assert invoice.status == "paid"
    assert dict(paid_by(invoice)) == {"credits": Decimal("100.00"), "card": Decimal("8.10")}
    assert balance(svc) == Decimal("0.00")


def test_bil_9_renew_now_paid_by_the_credits_alone_needs_no_card() -> None:
    legal = customer(card=None)
    svc = service(legal, type_slug="web-hosting", auto_renew=False)
    invoice = service_credits_buy(service=svc, amount=Decimal("200"), user=legal.user, now=NOW)
    _pay_without_card(invoice)

    renewed = service_renew_now(
        service=svc, user=legal.user, prepaid_amount=Decimal("0"), means=None, now=at(dt.date(2026, 2, 20), 10)
    )

    assert (renewed.status, paid_by(renewed)) == ("paid", [("credits", Decimal("108.10"))])
    assert balance(svc) == Decimal("91.90")


def _pay_without_card(invoice: Invoice) -> None:
    """The purchase paid in full through the one posting path (as a recorded bank transfer is)."""
    with transaction.atomic():
        locked = Invoice.objects.select_for_update().get(pk=invoice.pk)
        effects = Effects()
        payment = Payment(
            organization=locked.organization,
            invoice=locked,
            kind="bank_transfer",
            amount=locked.amount_due,
            currency=locked.currency,
            status="succeeded",
            created_at=NOW,
        )
        payments_record([PaymentRecord(payment, "BIL-5")], actor=Actor.system("test"), effects=effects)
        invoices_apply_payments(
            [Application(invoice=locked, amount=locked.amount_due, rule="BIL-5")],
            actor=Actor.system("test"),
            now=NOW,
            effects=effects,
        )
        effects.flush(NOW)


def test_bil_9_the_customer_pays_an_open_usage_invoice_with_the_credits_as_far_as_they_go() -> None:
    legal = customer()
    svc = service(legal, type_slug="web-hosting")
    give_credits(legal, svc, "40")
    usage = InvoiceFactory(organization=legal.organization, service=svc, kind="usage")  # CHF 108.10

    paid = service_credits_pay(service=svc, invoice=usage, user=legal.user, now=NOW)

    usage.refresh_from_db()
    assert (paid, usage.status, usage.amount_due) == (Decimal("40.00"), "open", Decimal("68.10"))
    assert paid_by(usage) == [("credits", Decimal("40.00"))]
    assert balance(svc) == Decimal("0.00")


def test_bil_9_credits_pay_neither_an_order_nor_with_an_empty_balance() -> None:
    legal = customer()
    svc = service(legal, type_slug="web-hosting")
    order = InvoiceFactory(organization=legal.organization, service=svc, kind="order")
    renewal = InvoiceFactory(organization=legal.organization, service=svc, kind="renewal", term=2)
    before = unchanged(svc)

    with pytest.raises(RuleViolation) as empty:
        service_credits_pay(service=svc, invoice=renewal, user=legal.user, now=NOW)
    assert (empty.value.rule, empty.value.message) == ("BIL-9", "This Service has no credits left.")
    assert unchanged(svc) == before

    give_credits(legal, svc, "10")
    middle = unchanged(svc)
    with pytest.raises(RuleViolation) as kind:
        service_credits_pay(service=svc, invoice=order, user=legal.user, now=NOW)
    assert (kind.value.rule, kind.value.message) == ("BIL-9", "This invoice cannot be paid with the Service's credits.")
    assert unchanged(svc) == middle


def test_bil_9_an_add_on_fee_is_paid_from_the_credits_first() -> None:
    legal = customer()
    svc = service(legal, type_slug="web-hosting")
    give_credits(legal, svc, "30")
    option = AddOn.objects.create(service_type=service_type("web-hosting"), slug="backup", name="Daily backup")
    AddOnPrice.objects.create(
        add_on=option,
        currency="CHF",
        amount_per_cycle=Decimal("10"),
        activation_fee=Decimal("20"),
        valid_from=NOW.date(),
    )

    fee = service_add_on_activate(service=svc, add_on=option, user=legal.user, now=NOW).invoice

    assert fee is not None
    assert (fee.status, paid_by(fee)) == ("paid", [("credits", Decimal("21.62"))])
    assert balance(svc) == Decimal("8.38")


# --- termination: deleted, not refunded ---------------------------------------------------------


def test_bil_9_termination_deletes_the_credits_names_them_and_cancels_an_open_purchase() -> None:
    legal = customer(balance="10")
    svc = service(legal, type_slug="web-hosting")
    give_credits(legal, svc, "75")
    pending = service_credits_buy(service=svc, amount=Decimal("25"), user=legal.user, now=NOW)
    payments = Payment.objects.count()

    service_terminate_now(service=svc, user=legal.user, confirmed=True, now=at(dt.date(2026, 2, 20), 10))

    assert balance(svc) == Decimal("0.00")
    assert entries(svc)[-1] == ("deleted", Decimal("-75.00"), Decimal("0.00"))
    terminated = AuditEvent.objects.get(action="service.terminated")
    assert (terminated.rule, terminated.after["credits_deleted"]) == ("BIL-13", "75.00")
    deleted = AuditEvent.objects.get(action="service_credit.deleted")
    assert (deleted.rule, deleted.before["credit_balance"], deleted.after["credit_balance"]) == (
        "BIL-9",
        "75.00",
        "0.00",
    )
    # not refunded: no payment out, the Prepaid Account untouched
    assert Payment.objects.count() == payments
    assert PrepaidAccount.objects.get(organization=legal.organization).balance == Decimal("10.00")
    # the purchase still open would buy nothing: cancelled by a credit note (BIL-6)
    pending.refresh_from_db()
    assert pending.status == "cancelled"
    assert CreditNote.objects.get(invoice=pending).reason == "Service terminated: its credits are deleted."


# --- the doors -------------------------------------------------------------------------------------


def browser(membership: Membership) -> Client:
    client = Client()
    client.force_login(membership.user)
    return client


def api(membership: Membership) -> APIClient:
    client = APIClient()
    client.force_authenticate(membership.user)
    return client


def page(svc: Service, name: str, *extra: int, org_id: int | None = None) -> str:
    return reverse(f"subscriptions:{name}", args=[org_id or svc.organization_id, svc.pk, *extra])


def test_bil_9_the_pages_show_the_balance_and_buy_credits() -> None:
    legal = customer()
    svc = service(legal, type_slug="web-hosting")
    give_credits(legal, svc, "1234.50")
    client = browser(legal)

    # the amounts with the language's separators (usage_figures.money: 1'234.50 in de-CH, 1,234.50 in English)
    assert "Balance: <strong>CHF 1,234.50</strong>" in client.get(page(svc, "service")).content.decode()
    credits_page = client.get(page(svc, "service_credits")).content.decode()
    assert "CHF 1,234.50" in credits_page and "credits bought" in credits_page

    bought = client.post(page(svc, "service_credits"), {"amount": "60"}, follow=True)
    invoice = Invoice.objects.filter(service=svc, kind="credits").latest("number")
    assert bought.redirect_chain == [(reverse("billing:invoice", args=[svc.organization_id, invoice.pk]), 302)]
    assert [str(m) for m in bought.context["messages"]] == [
        f"Invoice {invoice.display_number} is issued: the credits are added to this Service once it is paid."
    ]


def test_bil_9_the_buy_form_keeps_its_input_on_a_refusal_and_changes_nothing() -> None:
    legal = customer()
    svc = service(legal, type_slug="web-hosting")
    before = unchanged(svc)

    response = browser(legal).post(page(svc, "service_credits"), {"amount": "20000"})

    assert response.status_code == 200
    assert response.context["form"].errors == {"amount": ["Ensure this value is less than or equal to 10000.00."]}
    assert 'value="20000"' in response.content.decode()
    assert unchanged(svc) == before


def test_bil_9_the_page_pays_an_open_invoice_with_the_credits() -> None:
    legal = customer()
    svc = service(legal, type_slug="web-hosting")
    give_credits(legal, svc, "40")
    usage = InvoiceFactory(organization=legal.organization, service=svc, kind="usage")
    client = browser(legal)
    assert page(svc, "service_credits_pay", usage.pk) in client.get(page(svc, "service")).content.decode()

    response = client.post(page(svc, "service_credits_pay", usage.pk), follow=True)

    assert [str(m) for m in response.context["messages"]] == [
        f"CHF 40.00 of invoice {usage.display_number} is paid with the Service's credits."
    ]
    assert balance(svc) == Decimal("0.00")


def test_bil_9_api_shows_buys_and_pays() -> None:
    legal = customer()
    svc = service(legal, type_slug="web-hosting")
    client = api(legal)
    url = f"/api/v1/organizations/{svc.organization_id}/services/{svc.pk}/credits/"

    bought = client.post(url, {"amount": "40.00"}, format="json")
    assert (bought.status_code, bought.json()["kind"], bought.json()["total_incl_vat"]) == (201, "credits", "40.00")
    refused = client.post(url, {"amount": "0"}, format="json")
    assert (refused.status_code, refused.json()["rule"], refused.json()["field"]) == (400, "BIL-9", "amount")
    invoice = Invoice.objects.get(pk=bought.json()["id"])
    invoice_pay(invoice=invoice, user=legal.user, prepaid_amount=Decimal("0"), means=card(legal), now=NOW)

    shown = client.get(url).json()
    assert (shown["currency"], shown["balance"]) == ("CHF", "40.00")
    assert [(e["kind"], e["amount"], e["invoice"]) for e in shown["entries"]] == [
        ("purchase", "40.00", invoice.display_number)
    ]
    usage = InvoiceFactory(organization=legal.organization, service=svc, kind="usage")
    paid = client.post(f"{url}pay/", {"invoice_id": usage.pk}, format="json")
    assert (paid.status_code, paid.json()["amount_paid"]) == (200, "40.00")
    assert (
        client.get(f"/api/v1/organizations/{svc.organization_id}/services/{svc.pk}/").json()["credit_balance"] == "0.00"
    )


@pytest.mark.parametrize("door", ["page", "page_buy", "page_pay", "api_get", "api_buy", "api_pay"])
def test_bil_9_another_organizations_service_is_404_and_unchanged(door: str) -> None:
    mine = customer()
    theirs = customer()
    svc = service(theirs, type_slug="web-hosting")
    give_credits(theirs, svc, "40")
    usage = InvoiceFactory(organization=theirs.organization, service=svc, kind="usage")
    before = unchanged(svc)
    url = "/api/v1/organizations/{org}/services/" + str(svc.pk) + "/credits/"

    responses = []
    for org_id in (mine.organization_id, theirs.organization_id):
        if door == "page":
            responses.append(browser(mine).get(page(svc, "service_credits", org_id=org_id)))
        elif door == "page_buy":
            responses.append(browser(mine).post(page(svc, "service_credits", org_id=org_id), {"amount": "5"}))
        elif door == "page_pay":
            responses.append(browser(mine).post(page(svc, "service_credits_pay", usage.pk, org_id=org_id)))
        elif door == "api_get":
            responses.append(api(mine).get(url.format(org=org_id)))
        elif door == "api_buy":
            responses.append(api(mine).post(url.format(org=org_id), {"amount": "5"}, format="json"))
        else:
            responses.append(api(mine).post(url.format(org=org_id) + "pay/", {"invoice_id": usage.pk}, format="json"))

    assert [r.status_code for r in responses] == [404, 404]
    assert unchanged(svc) == before


def test_bil_9_org_6_a_member_limited_to_another_service_gets_404_and_another_services_invoice_is_404() -> None:
    legal = customer()
    svc = service(legal, type_slug="web-hosting")
    elsewhere = service(legal, type_slug="web-hosting")
    give_credits(legal, svc, "40")
    foreign = InvoiceFactory(organization=legal.organization, service=elsewhere, kind="usage")
    billing = member(role=Membership.Role.BILLING, organization=legal.organization)
    MembershipServiceScope.objects.create(membership=billing, service=elsewhere)
    before = unchanged(svc)

    limited = browser(billing).get(page(svc, "service_credits"))
    wrong_invoice = api(legal).post(
        f"/api/v1/organizations/{svc.organization_id}/services/{svc.pk}/credits/pay/",
        {"invoice_id": foreign.pk},
        format="json",
    )

    assert (limited.status_code, wrong_invoice.status_code) == (404, 404)
    assert unchanged(svc) == before
    foreign.refresh_from_db()
    assert foreign.amount_paid == Decimal("0.00")


def test_bil_9_attempts_in_doubt_leave_the_invoice_to_the_card() -> None:
    """REN-8: an invoice whose card charge is being checked is not paid with credits meanwhile."""
    legal = customer()
    svc = service(legal, type_slug="web-hosting")
    give_credits(legal, svc, "40")
    renewal = InvoiceFactory(organization=legal.organization, service=svc, kind="renewal", term=2)
    RenewalAttempt.objects.create(
        service=svc, term=2, day=dt.date(2026, 2, 14), outcome="unknown", invoice=renewal, created_at=NOW
    )
    before = unchanged(svc)

    with pytest.raises(RuleViolation) as refused:
        service_credits_pay(service=svc, invoice=renewal, user=legal.user, now=NOW)

    assert (refused.value.rule, refused.value.message) == (
        "REN-8",
        "A card payment of this invoice is being checked: please wait for its outcome.",
    )
    assert unchanged(svc) == before


# --- PRE-3: what the Prepaid Account pays ----------------------------------------------------------


def test_bil_9_pre_3_a_purchase_of_credits_is_not_paid_from_the_prepaid_account() -> None:
    legal = customer(balance="100")
    svc = service(legal, type_slug="web-hosting")
    invoice = service_credits_buy(service=svc, amount=Decimal("50"), user=legal.user, now=NOW)
    before = unchanged(svc)

    with pytest.raises(RuleViolation) as refused:
        invoice_pay(invoice=invoice, user=legal.user, prepaid_amount=Decimal("50"), means=None, now=NOW)

    assert (refused.value.rule, refused.value.message) == (
        "PRE-3",
        "The Prepaid Account pays only for ordering, renewing or using Services.",
    )
    assert unchanged(svc) == before
    assert PrepaidAccount.objects.get(organization=legal.organization).balance == Decimal("100.00")


def test_bil_8_pre_3_an_add_on_fee_is_paid_from_the_prepaid_account_as_part_of_ordering() -> None:
    legal = customer(balance="100")
    svc = service(legal, type_slug="web-hosting")
    option = AddOn.objects.create(service_type=service_type("web-hosting"), slug="backup", name="Daily backup")
    AddOnPrice.objects.create(
        add_on=option,
        currency="CHF",
        amount_per_cycle=Decimal("10"),
        activation_fee=Decimal("20"),
        valid_from=NOW.date(),
    )
    fee = service_add_on_activate(service=svc, add_on=option, user=legal.user, now=NOW).invoice
    assert fee is not None

    invoice_pay(invoice=fee, user=legal.user, prepaid_amount=Decimal("21.62"), means=None, now=NOW)

    fee.refresh_from_db()
    assert (fee.status, paid_by(fee)) == ("paid", [("prepaid", Decimal("21.62"))])
    assert PrepaidAccount.objects.get(organization=legal.organization).balance == Decimal("78.38")


# --- the staff admin ---------------------------------------------------------------------------------


def test_bil_8_bil_9_staff_see_the_add_ons_and_the_credit_ledger_of_a_service() -> None:
    legal = customer()
    svc = service(legal, type_slug="web-hosting")
    give_credits(legal, svc, "40")
    option = AddOn.objects.create(service_type=service_type("web-hosting"), slug="backup", name="Daily backup")
    AddOnPrice.objects.create(
        add_on=option,
        currency="CHF",
        amount_per_cycle=Decimal("10"),
        activation_fee=Decimal("0"),
        valid_from=NOW.date(),
    )
    service_add_on_activate(service=svc, add_on=option, user=legal.user, now=NOW)
    staff = UserFactory(is_staff=True, is_superuser=True)
    device = TOTPDevice.objects.create(user=staff, name="phone", confirmed=True)
    client = Client()
    client.force_login(staff)
    code = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift).token()
    client.post(reverse("accounts:staff_otp"), {"token": f"{code:06d}", "next": "/admin/"})

    html = client.get(reverse("admin:subscriptions_service_change", args=[svc.pk])).content.decode()

    assert "Add-ons (BIL-8)" in html and "Daily backup" in html
    assert "Credits (BIL-9)" in html and "credits bought" in html and "40.00" in html


def test_bil_9_enf_4_no_credits_are_sold_while_the_organizations_orders_are_held() -> None:
    legal = customer()
    svc = service(legal, type_slug="web-hosting")
    staff = UserFactory(is_staff=True)
    Organization.objects.filter(pk=legal.organization_id).update(
        orders_held_at=NOW, orders_held_by=staff, orders_held_reason="Invoice 3 months late"
    )
    before = unchanged(svc)

    with pytest.raises(RuleViolation) as refused:
        service_credits_buy(service=svc, amount=Decimal("10"), user=legal.user, now=NOW)

    assert refused.value.rule == "ENF-4"
    assert refused.value.message.startswith("New orders and renewals are on hold because an invoice is unpaid")
    assert unchanged(svc) == before


def test_bil_9_use_4_the_daily_debit_of_a_usage_invoice_takes_the_credits_first() -> None:
    # given a usage Service with automatic debit, CHF 40 of credits and an open usage invoice of 108.10
    legal = customer()
    svc = service(legal, type_slug="jelastic-cloud", usage_based=True, anchor=None, expires=None, term=0)
    give_credits(legal, svc, "40")
    usage = InvoiceFactory(
        organization=legal.organization,
        service=svc,
        kind="usage",
        issue_date=dt.date(2026, 3, 1),
        due_date=dt.date(2026, 3, 11),
    )

    # when the daily debit runs (twice: REN-8)
    live_twice(dt.date(2026, 3, 2))

    # then the credits paid first, the card the rest, in one attempt
    usage.refresh_from_db()
    assert usage.status == "paid"
    assert dict(paid_by(usage)) == {"credits": Decimal("40.00"), "card": Decimal("68.10")}
    assert attempts(svc) == [(0, dt.date(2026, 3, 2), "succeeded", Decimal("0.00"), Decimal("68.10"))]
    assert balance(svc) == Decimal("0.00")


def test_bil_9_use_4_credits_that_cover_a_usage_invoice_pay_it_with_no_attempt() -> None:
    legal = customer()
    svc = service(legal, type_slug="jelastic-cloud", usage_based=True, anchor=None, expires=None, term=0)
    give_credits(legal, svc, "200")
    usage = InvoiceFactory(
        organization=legal.organization,
        service=svc,
        kind="usage",
        issue_date=dt.date(2026, 3, 1),
        due_date=dt.date(2026, 3, 11),
    )

    live_twice(dt.date(2026, 3, 2))

    usage.refresh_from_db()
    assert (usage.status, paid_by(usage)) == ("paid", [("credits", Decimal("108.10"))])
    assert attempts(svc) == []
    assert balance(svc) == Decimal("91.90")
