"""The Prepaid Account's three doors: the portal page (balance, keyset-paged ledger, top-up, cash-out),
the API, and the staff site (transfers received, adjustments, cash-outs, defaulted invoices) —
tenancy and constant query counts included."""

import datetime as dt
import re
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient
from stdnum.ch import esr

from accounts.models import Organization
from audit.models import AuditEvent
from audit.services import Actor
from billing.models import CashOutRequest, Invoice, LedgerEntry, Payment, PaymentMeans, PrepaidAccount
from billing.services.means import means_add_card
from billing.services.prepaid import prepaid_account_for, prepaid_credit
from billing.services.topup import prepaid_top_up_by_transfer
from sandbox.models import GatewayCharge
from tests.billing.factories import InvoiceFactory
from tests.factories import UserFactory, member

pytestmark = pytest.mark.django_db

# 11:00 in Zurich; the factory's invoices (due 2026-03-31) are overdue on that day.
NOW = dt.datetime(2026, 4, 10, 9, 0, tzinfo=dt.UTC)
JOB = Actor.system("tests.prepaid_doors")


@pytest.fixture(autouse=True)
def _fixed_time():  # noqa: ANN202
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def legal():  # noqa: ANN201
    return member()


@pytest.fixture
def staff():  # noqa: ANN201
    return UserFactory(email="staff@example.com", is_staff=True, is_superuser=True)


@pytest.fixture
def verified(staff) -> Client:
    """A staff client past the TOTP second factor (as in tests/accounts/test_admin.py)."""
    device = TOTPDevice.objects.create(user=staff, name="phone", confirmed=True)
    client = Client()
    client.force_login(staff)
    token = f"{TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift).token():06d}"
    response = client.post(reverse("accounts:staff_otp"), {"token": token, "next": "/admin/"})
    assert response.status_code == 302
    return client


def logged_in(user) -> Client:  # noqa: ANN001
    client = Client()
    client.force_login(user)
    return client


def api(user) -> APIClient:  # noqa: ANN001
    client = APIClient()
    client.force_authenticate(user)
    return client


def _card(membership, number: str = "4242424242424242") -> PaymentMeans:  # noqa: ANN001
    return means_add_card(
        organization=membership.organization,
        user=membership.user,
        number=number,
        exp_month=12,
        exp_year=2030,
        cvc="123",
        make_default=False,
        now=NOW,
    )


def _fund(organization: Organization, count: int, amount: str = "1.00") -> list[LedgerEntry]:
    return [
        prepaid_credit(
            organization=organization,
            kind=LedgerEntry.Kind.SLA_PENALTY,
            amount=Decimal(amount),
            now=NOW,
            actor=JOB,
            rule="SLA-4",
            claim_reference=f"claim-{organization.pk}-{n}",
        )
        for n in range(count)
    ]


def _balance(organization: Organization) -> Decimal:
    return prepaid_account_for(organization).balance


def _entry_ids(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'id="entry-(\d+)"', html)]


def _state() -> tuple[list[dict], ...]:
    return (
        list(Payment.objects.order_by("pk").values()),
        list(LedgerEntry.objects.order_by("pk").values()),
        list(PrepaidAccount.objects.order_by("pk").values()),
        list(CashOutRequest.objects.order_by("pk").values()),
        list(GatewayCharge.objects.order_by("pk").values()),
    )


# --- portal ------------------------------------------------------------------------------------


def test_the_page_shows_the_balance_and_pages_the_ledger_by_keyset(legal) -> None:
    entries = _fund(legal.organization, 30)
    newest_first = [entry.pk for entry in reversed(entries)]
    client = logged_in(legal.user)
    url = reverse("billing:prepaid", args=[legal.organization_id])

    first = client.get(url)
    html = first.content.decode()
    older_link = re.search(r'href="([^"]*\?before=(\d+))" rel="next"', html)
    assert older_link is not None
    second = client.get(older_link.group(1).replace("&amp;", "&"))

    assert first.status_code == 200
    assert "CHF 30.00" in html
    assert _entry_ids(html) == newest_first[:25]
    assert int(older_link.group(2)) == newest_first[24]
    assert _entry_ids(second.content.decode()) == newest_first[25:]
    assert 'rel="next"' not in second.content.decode()  # the last page has no older link
    assert f'href="{url}">Newest</a>' in second.content.decode()
    assert 'class="active">Prepaid account' in html


def test_a_card_top_up_in_the_portal_credits_exactly(legal) -> None:
    card = _card(legal)
    url = reverse("billing:prepaid", args=[legal.organization_id])

    response = logged_in(legal.user).post(url, {"amount": "125.50", "pay_with": f"card:{card.pk}"}, follow=True)

    assert response.redirect_chain == [(url, 302)]
    html = response.content.decode()
    assert "CHF 125.50 is credited to your Prepaid Account." in html
    assert _balance(legal.organization) == Decimal("125.50")
    (entry,) = LedgerEntry.objects.all()
    assert (entry.kind, entry.amount, entry.payment.status) == ("top_up", Decimal("125.50"), "succeeded")
    assert _entry_ids(html) == [entry.pk]


def test_a_declined_card_in_the_portal_shows_why_and_changes_nothing(legal) -> None:
    card = _card(legal, "4000000000000002")
    prepaid_account_for(legal.organization)
    before = _state()

    response = logged_in(legal.user).post(
        reverse("billing:prepaid", args=[legal.organization_id]), {"amount": "50.00", "pay_with": f"card:{card.pk}"}
    )

    assert response.status_code == 200
    assert "Your bank declined the card. Nothing was charged." in response.content.decode()
    payments, ledger, accounts, requests, charges = _state()
    assert (ledger, accounts, requests) == before[1:4]  # nothing credited
    # the declined charge stays on record (REN-8: it was sent outside any transaction)
    assert [(p["status"], p["failure_reason"]) for p in payments] == [("failed", "card_declined")]
    assert [c["outcome"] for c in charges] == ["declined"]


def test_a_transfer_top_up_shows_its_reference_and_is_credited_once_staff_record_it(legal, verified) -> None:
    url = reverse("billing:prepaid", args=[legal.organization_id])
    client = logged_in(legal.user)

    response = client.post(url, {"amount": "200.00", "pay_with": "bank_transfer"}, follow=True)

    payment = Payment.objects.get()
    html = response.content.decode()
    assert response.redirect_chain == [
        (reverse("billing:prepaid_transfer", args=[legal.organization_id, payment.pk]), 302)
    ]  # its payment slip (tests/billing/test_topup_slip.py)
    assert (
        f"Please transfer CHF 200.00 quoting the reference {payment.reference}. A bank transfer can take up to "
        "10 working days to reach us: the balance is credited when it does."
    ) in html
    assert f"quote the reference <strong>{payment.reference}</strong>" in client.get(url).content.decode()
    assert (payment.status, _balance(legal.organization), LedgerEntry.objects.count()) == (
        "pending",
        Decimal("0.00"),
        0,
    )

    recorded = verified.post(
        reverse("admin:billing_payment_changelist"),
        {"action": "record_top_up_transfer", "_selected_action": [payment.pk]},
        follow=True,
    )
    again = verified.post(
        reverse("admin:billing_payment_changelist"),
        {"action": "record_top_up_transfer", "_selected_action": [payment.pk]},
        follow=True,
    )

    assert "1 done." in recorded.content.decode()
    assert "This top-up is not pending: it is succeeded." in again.content.decode()
    payment.refresh_from_db()
    assert (payment.status, payment.recorded_by.email) == ("succeeded", "staff@example.com")
    assert _balance(legal.organization) == Decimal("200.00")
    assert LedgerEntry.objects.get().amount == Decimal("200.00")
    assert f"quote the reference <strong>{payment.reference}</strong>" not in client.get(url).content.decode()


def test_pre4_cash_out_is_refused_while_an_invoice_is_open_then_accepted(legal) -> None:
    _fund(legal.organization, 1, "60.00")
    invoice = InvoiceFactory(organization=legal.organization)
    client = logged_in(legal.user)
    url = reverse("billing:prepaid_cash_out", args=[legal.organization_id])
    before = _state()

    refused = client.post(url, follow=True)

    assert (
        "The balance can be paid out only once no invoice is open: please pay the open invoices first."
        in refused.content.decode()
    )
    assert _state() == before

    Invoice.objects.filter(pk=invoice.pk).update(status="paid")
    accepted = client.post(url, follow=True)

    html = accepted.content.decode()
    assert "Your request to pay out CHF 60.00 is sent to our staff." in html
    assert "for CHF 60.00 to be paid out: our staff are handling the request." in html
    request = CashOutRequest.objects.get()
    assert (request.amount, request.status, request.requested_by_id) == (Decimal("60.00"), "requested", legal.user_id)
    assert _balance(legal.organization) == Decimal("60.00")  # paid out by staff, not on request


# --- API ---------------------------------------------------------------------------------------


def test_api_account_and_entries(legal) -> None:
    (first, second) = _fund(legal.organization, 2, "7.25")
    invoice = InvoiceFactory(organization=legal.organization, number=42)
    reimbursement = prepaid_credit(
        organization=legal.organization,
        kind=LedgerEntry.Kind.PROVIDER_REIMBURSEMENT,
        amount=Decimal("10.00"),
        invoice=invoice,
        now=NOW,
        actor=JOB,
        rule="PRE-2",
    )
    base = f"/api/v1/organizations/{legal.organization_id}/prepaid"
    client = api(legal.user)

    account = client.get(f"{base}/")
    page = client.get(f"{base}/entries/")
    older = client.get(f"{base}/entries/", {"before": second.pk})
    bad = client.get(f"{base}/entries/", {"before": "x"})

    assert account.json() == {"balance": "24.50", "currency": "CHF", "cash_out_request": None, "pending_top_ups": []}
    assert page.json() == {
        "entries": [
            {
                "id": reimbursement.pk,
                "kind": "provider_reimbursement",
                "amount": "10.00",
                "balance_after": "24.50",
                "invoice": "00000042",
                "payment": None,
                "reason": "",
                "created_at": "2026-04-10T11:00:00+02:00",
            },
            {
                "id": second.pk,
                "kind": "sla_penalty",
                "amount": "7.25",
                "balance_after": "14.50",
                "invoice": None,
                "payment": None,
                "reason": "",
                "created_at": "2026-04-10T11:00:00+02:00",
            },
            {
                "id": first.pk,
                "kind": "sla_penalty",
                "amount": "7.25",
                "balance_after": "7.25",
                "invoice": None,
                "payment": None,
                "reason": "",
                "created_at": "2026-04-10T11:00:00+02:00",
            },
        ],
        "next_before": None,
    }
    assert [e["id"] for e in older.json()["entries"]] == [first.pk]
    assert older.json()["next_before"] is None
    assert (bad.status_code, bad.json()) == (
        400,
        {"detail": "Invalid input.", "rule": None, "errors": {"before": ["An entry id is expected."]}},
    )


def test_api_top_up_by_card_by_transfer_and_declined(legal) -> None:
    card, declined = _card(legal), _card(legal, "4000000000000002")
    url = f"/api/v1/organizations/{legal.organization_id}/prepaid/top-up/"
    client = api(legal.user)

    by_card = client.post(url, {"amount": "100.00", "method": "card", "means_id": card.pk}, format="json")
    by_transfer = client.post(url, {"amount": "40.00", "method": "bank_transfer"}, format="json")
    before = _state()
    refused = client.post(url, {"amount": "30.00", "method": "card", "means_id": declined.pk}, format="json")
    no_card = client.post(url, {"amount": "30.00", "method": "card"}, format="json")
    too_much = client.post(url, {"amount": "10000.01", "method": "bank_transfer"}, format="json")

    card_payment, transfer, failed = Payment.objects.order_by("pk")
    assert (failed.status, failed.failure_reason, failed.amount) == ("failed", "card_declined", Decimal("30.00"))
    assert (by_card.status_code, by_card.json()) == (
        201,
        {
            "payment": {
                "id": card_payment.pk,
                "kind": "card",
                "amount": "100.00",
                "currency": "CHF",
                "status": "succeeded",
                "reference": "",
                "created_at": "2026-04-10T11:00:00+02:00",
            },
            "balance": "100.00",
        },
    )
    assert (by_transfer.status_code, by_transfer.json()) == (
        201,
        {
            "payment": {
                "id": transfer.pk,
                "kind": "bank_transfer",
                "amount": "40.00",
                "currency": "CHF",
                "status": "pending",
                "reference": f"9{transfer.pk:025d}" + esr.calc_check_digit(f"9{transfer.pk:025d}"),
                "created_at": "2026-04-10T11:00:00+02:00",
            },
            "balance": "100.00",
        },
    )
    assert (refused.status_code, refused.json()) == (
        402,
        {"detail": "Your bank declined the card. Nothing was charged.", "rule": "BIL-4"},
    )
    assert (no_card.status_code, no_card.json()) == (
        400,
        {
            "detail": "Invalid input.",
            "rule": None,
            "errors": {"means_id": ["Choose one of your organization's cards."]},
        },
    )
    assert too_much.status_code == 400
    payments, *rest = _state()
    assert rest[:3] == list(before[1:4])  # nothing credited: ledger, balances, cash-out requests
    assert payments[:-1] == before[0] and payments[-1]["id"] == failed.pk  # only the failed charge's record
    pending = client.get(f"/api/v1/organizations/{legal.organization_id}/prepaid/").json()["pending_top_ups"]
    assert [p["reference"] for p in pending] == [transfer.reference]


def test_api_cash_out_refused_with_an_open_invoice_then_accepted(legal) -> None:
    _fund(legal.organization, 1, "15.00")
    invoice = InvoiceFactory(organization=legal.organization)
    client = api(legal.user)
    url = f"/api/v1/organizations/{legal.organization_id}/prepaid/cash-out/"
    before = _state()

    refused = client.post(url)
    assert (refused.status_code, refused.json()["rule"]) == (409, "PRE-4")
    assert _state() == before

    Invoice.objects.filter(pk=invoice.pk).update(status="paid")
    accepted = client.post(url)
    account = client.get(f"/api/v1/organizations/{legal.organization_id}/prepaid/")

    request = CashOutRequest.objects.get()
    expected = {
        "id": request.pk,
        "amount": "15.00",
        "status": "requested",
        "requested_at": "2026-04-10T11:00:00+02:00",
        "decided_at": None,
    }
    assert (accepted.status_code, accepted.json()) == (201, expected)
    assert account.json()["cash_out_request"] == expected


def test_api_entries_cost_the_same_queries_for_1_and_25_entries(legal) -> None:
    url = f"/api/v1/organizations/{legal.organization_id}/prepaid/entries/"
    client = api(legal.user)

    def reimburse(count: int) -> None:
        for _ in range(count):
            prepaid_credit(
                organization=legal.organization,
                kind=LedgerEntry.Kind.PROVIDER_REIMBURSEMENT,
                amount=Decimal("1.00"),
                invoice=InvoiceFactory(organization=legal.organization),
                now=NOW,
                actor=JOB,
                rule="PRE-2",
            )

    reimburse(1)
    with CaptureQueriesContext(connection) as one:
        assert len(client.get(url).json()["entries"]) == 1
    reimburse(24)
    with CaptureQueriesContext(connection) as twenty_five:
        assert len(client.get(url).json()["entries"]) == 25

    assert len(twenty_five.captured_queries) == len(one.captured_queries)


# --- tenancy -----------------------------------------------------------------------------------


def test_tenancy_another_organizations_prepaid_account_answers_404_and_changes_nothing(legal) -> None:
    theirs = member()
    _fund(theirs.organization, 3, "20.00")
    their_card = _card(theirs)
    prepaid_account_for(legal.organization)
    client, api_client = logged_in(legal.user), api(legal.user)
    their_org, mine = theirs.organization_id, legal.organization_id
    before = _state()

    codes = [
        client.get(reverse("billing:prepaid", args=[their_org])).status_code,
        client.get(reverse("billing:prepaid", args=[their_org]) + "?before=999999").status_code,
        client.post(
            reverse("billing:prepaid", args=[their_org]), {"amount": "10.00", "pay_with": "bank_transfer"}
        ).status_code,
        client.post(reverse("billing:prepaid_cash_out", args=[their_org])).status_code,
        api_client.get(f"/api/v1/organizations/{their_org}/prepaid/").status_code,
        api_client.get(f"/api/v1/organizations/{their_org}/prepaid/entries/").status_code,
        api_client.post(
            f"/api/v1/organizations/{their_org}/prepaid/top-up/",
            {"amount": "10.00", "method": "bank_transfer"},
            format="json",
        ).status_code,
        api_client.post(f"/api/v1/organizations/{their_org}/prepaid/cash-out/").status_code,
        # my organization, their card
        api_client.post(
            f"/api/v1/organizations/{mine}/prepaid/top-up/",
            {"amount": "10.00", "method": "card", "means_id": their_card.pk},
            format="json",
        ).status_code,
    ]

    assert codes == [404] * len(codes)
    assert _state() == before
    assert "20.00" not in client.get(reverse("billing:prepaid", args=[mine])).content.decode()


# --- staff site --------------------------------------------------------------------------------


def test_staff_adjust_a_balance_with_a_reason(legal, verified, staff) -> None:
    _fund(legal.organization, 1, "10.00")
    account = prepaid_account_for(legal.organization)
    url = reverse("admin:billing_prepaidaccount_adjust", args=[account.pk])

    form = verified.get(url)
    too_much = verified.post(url, {"amount": "-10.01", "reason": "Duplicate credit"})
    done = verified.post(url, {"amount": "-4.00", "reason": "Duplicate credit"})

    assert form.status_code == 200
    assert "The balance is CHF 10.00: it cannot go below zero." in too_much.content.decode()
    assert done.url == reverse("admin:billing_prepaidaccount_change", args=[account.pk])
    entry = LedgerEntry.objects.get(kind="staff_adjustment")
    assert (entry.amount, entry.balance_after, entry.reason, entry.staff_user_id) == (
        Decimal("-4.00"),
        Decimal("6.00"),
        "Duplicate credit",
        staff.pk,
    )
    assert _balance(legal.organization) == Decimal("6.00")


def test_staff_pay_or_refuse_cash_out_requests(legal, verified) -> None:
    other = member()
    _fund(legal.organization, 1, "30.00")
    _fund(other.organization, 1, "12.00")
    to_pay = api(legal.user).post(f"/api/v1/organizations/{legal.organization_id}/prepaid/cash-out/").json()["id"]
    to_refuse = api(other.user).post(f"/api/v1/organizations/{other.organization_id}/prepaid/cash-out/").json()["id"]
    url = reverse("admin:billing_cashoutrequest_changelist")

    paid = verified.post(url, {"action": "pay", "_selected_action": [to_pay]}, follow=True)
    asked = verified.post(url, {"action": "refuse", "_selected_action": [to_refuse]})
    verified.post(url, {"action": "refuse", "_selected_action": [to_refuse], "apply": "1", "reason": "Fraud check"})

    assert "1 done." in paid.content.decode()
    assert "Reason" in asked.content.decode()
    statuses = dict(CashOutRequest.objects.values_list("pk", "status"))
    assert statuses == {to_pay: "paid", to_refuse: "refused"}
    assert (_balance(legal.organization), _balance(other.organization)) == (Decimal("0.00"), Decimal("12.00"))
    assert AuditEvent.objects.get(action="cash_out.refused").after["reason"] == "Fraud check"


def test_staff_settle_a_defaulted_invoice_from_the_balance(legal, verified) -> None:
    _fund(legal.organization, 1, "50.00")
    invoice = InvoiceFactory(organization=legal.organization)  # 108.10, due 2026-03-31: overdue

    response = verified.post(
        reverse("admin:billing_invoice_changelist"),
        {"action": "settle_from_prepaid", "_selected_action": [invoice.pk]},
        follow=True,
    )

    assert "1 done." in response.content.decode()
    invoice.refresh_from_db()
    assert (invoice.amount_paid, invoice.status) == (Decimal("50.00"), "open")
    assert _balance(legal.organization) == Decimal("0.00")
    assert LedgerEntry.objects.get(kind="provider_debit").amount == Decimal("-50.00")


@pytest.mark.parametrize(
    "url_name",
    [
        "admin:billing_prepaidaccount_changelist",
        "admin:billing_ledgerentry_changelist",
        "admin:billing_cashoutrequest_changelist",
    ],
)
def test_staff_prepaid_pages_render_and_the_ledger_is_read_only(legal, verified, url_name: str) -> None:
    (entry,) = _fund(legal.organization, 1)
    prepaid_top_up_by_transfer(organization=legal.organization, user=legal.user, amount=Decimal("5.00"), now=NOW)
    account = prepaid_account_for(legal.organization)

    assert verified.get(reverse(url_name)).status_code == 200
    assert verified.get(reverse("admin:billing_prepaidaccount_change", args=[account.pk])).status_code == 200
    assert verified.get(reverse("admin:billing_ledgerentry_change", args=[entry.pk])).status_code == 200
    changed = verified.post(reverse("admin:billing_ledgerentry_change", args=[entry.pk]), {"amount": "99.00"})
    deleted = verified.post(reverse("admin:billing_ledgerentry_delete", args=[entry.pk]), {"post": "yes"})
    assert changed.status_code in (302, 403)
    assert deleted.status_code == 403
    assert LedgerEntry.objects.get().amount == Decimal("1.00")
    assert AuditEvent.objects.filter(action="staff.viewed", organization=legal.organization).count() == 2
