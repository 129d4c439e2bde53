"""The invoice page as the place to pay: a card entered there, the balance pre-filled, the locked
"payment being checked" state, plain sentences for declines, and the way back from the
payment-methods page."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from audit.services import Actor
from billing.models import Invoice, LedgerEntry, Payment, PaymentMeans, PrepaidAccount
from billing.services.means import means_add_card
from billing.services.payments import invoice_pay_with_new_card
from billing.services.prepaid import prepaid_account_for, prepaid_credit
from core.errors import RuleViolation
from sandbox.models import GatewayCharge
from tests.billing.factories import InvoiceFactory
from tests.factories import member

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 4, 10, 9, 0, tzinfo=dt.UTC)
JOB = Actor.system("tests.invoice_pay_page")


@pytest.fixture(autouse=True)
def _fixed_time():  # noqa: ANN202
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def legal():  # noqa: ANN201
    return member()


def logged_in(user) -> Client:  # noqa: ANN001
    client = Client()
    client.force_login(user)
    return client


def _url(invoice: Invoice) -> str:
    return reverse("billing:invoice", args=[invoice.organization_id, invoice.pk])


def _new_card(number: str = "4242424242424242", *, save: bool, prepaid: str = "0") -> dict[str, str]:
    data = {
        "prepaid_amount": prepaid,
        "means": "new",
        "card-number": number,
        "card-exp_month": "12",
        "card-exp_year": "2030",
        "card-cvc": "123",
    }
    return data | ({"card-save": "on"} if save else {})


def _fund(organization, amount: str) -> None:  # noqa: ANN001
    prepaid_credit(
        organization=organization,
        kind=LedgerEntry.Kind.SLA_PENALTY,
        amount=Decimal(amount),
        now=NOW,
        actor=JOB,
        rule="SLA-4",
        claim_reference=f"claim-{organization.pk}",
    )


def _state() -> tuple[list[dict], ...]:
    return (
        list(Invoice.objects.order_by("pk").values()),
        list(Payment.objects.order_by("pk").values()),
        list(PaymentMeans.objects.order_by("pk").values()),
        list(LedgerEntry.objects.order_by("pk").values()),
        list(PrepaidAccount.objects.order_by("pk").values()),
        list(GatewayCharge.objects.order_by("pk").values()),
    )


def test_a_card_entered_on_the_invoice_and_saved_pays_it_and_stays_on_file(legal) -> None:
    invoice = InvoiceFactory(organization=legal.organization)

    response = logged_in(legal.user).post(_url(invoice), _new_card(save=True), follow=True)

    assert "Thank you, the payment is received." in response.content.decode()
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid) == ("paid", Decimal("108.10"))
    card = PaymentMeans.objects.get()
    assert (card.card_last4, card.revoked_at, card.is_default) == ("4242", None, True)  # the first means
    payment = Payment.objects.get()
    assert (payment.means_id, payment.amount, payment.status) == (card.pk, Decimal("108.10"), "succeeded")


def test_a_card_entered_without_saving_pays_and_is_not_kept_as_a_means(legal) -> None:
    invoice = InvoiceFactory(organization=legal.organization)
    client = logged_in(legal.user)

    client.post(_url(invoice), _new_card(save=False))
    means_page = client.get(reverse("billing:means", args=[legal.organization_id])).content.decode()

    invoice.refresh_from_db()
    assert invoice.status == "paid"
    card = PaymentMeans.objects.get()  # the payment points to it; revoked, not listed
    assert (card.revoked_at, card.is_default) == (NOW, False)
    assert Payment.objects.get().means_id == card.pk
    assert "•••• 4242" not in means_page
    assert "No means of payment on file." in means_page


def test_a_card_already_on_file_entered_again_is_used_not_duplicated(legal) -> None:
    on_file = means_add_card(
        organization=legal.organization,
        user=legal.user,
        number="4242424242424242",
        exp_month=12,
        exp_year=2030,
        cvc="123",
        make_default=False,
        now=NOW,
    )
    invoice = InvoiceFactory(organization=legal.organization)

    logged_in(legal.user).post(_url(invoice), _new_card(save=False))

    assert list(PaymentMeans.objects.values_list("pk", "revoked_at")) == [(on_file.pk, None)]
    assert Payment.objects.get().means_id == on_file.pk
    invoice.refresh_from_db()
    assert invoice.status == "paid"


def test_a_declined_new_card_says_so_in_plain_words_and_is_not_kept(legal) -> None:
    invoice = InvoiceFactory(organization=legal.organization)

    response = logged_in(legal.user).post(_url(invoice), _new_card("4000000000000002", save=True))

    html = response.content.decode()
    assert response.status_code == 200
    assert "Your bank declined the card. Nothing was charged." in html
    assert "card_declined" not in html
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid) == ("open", Decimal("0.00"))
    assert PaymentMeans.objects.get().revoked_at == NOW  # a card that does not pay is not kept
    assert list(Payment.objects.values_list("status", "failure_reason")) == [("failed", "card_declined")]


def test_insufficient_funds_reads_as_a_sentence(legal) -> None:
    invoice = InvoiceFactory(organization=legal.organization)

    html = logged_in(legal.user).post(_url(invoice), _new_card("4000000000009995", save=False)).content.decode()

    assert "The card does not have enough funds. Nothing was charged." in html
    assert "insufficient_funds" not in html


def test_an_invalid_new_card_is_refused_on_its_field_and_nothing_changes(legal) -> None:
    invoice = InvoiceFactory(organization=legal.organization)
    logged_in(legal.user).get(_url(invoice))  # the page opens the Prepaid Account
    before = _state()

    missing = logged_in(legal.user).post(_url(invoice), _new_card(save=True) | {"card-number": ""})
    invalid = logged_in(legal.user).post(_url(invoice), _new_card("4242424242424241", save=True))

    assert "This field is required." in missing.content.decode()
    assert "This card number is not valid." in invalid.content.decode()
    assert _state() == before


def test_the_prepaid_amount_is_prefilled_with_what_the_balance_covers(legal) -> None:
    partly = InvoiceFactory(organization=legal.organization)
    _fund(legal.organization, "40.00")
    client = logged_in(legal.user)

    some = client.get(_url(partly)).content.decode()
    prepaid_credit(
        organization=legal.organization,
        kind=LedgerEntry.Kind.SLA_PENALTY,
        amount=Decimal("100.00"),
        now=NOW,
        actor=JOB,
        rule="SLA-4",
        claim_reference="claim-more",
    )
    all_of_it = client.get(_url(partly)).content.decode()

    assert 'name="prepaid_amount" value="40.00"' in some
    assert 'name="prepaid_amount" value="108.10"' in all_of_it
    assert prepaid_account_for(legal.organization).balance == Decimal("140.00")


def test_the_balance_and_a_new_card_pay_together(legal) -> None:
    invoice = InvoiceFactory(organization=legal.organization)
    _fund(legal.organization, "40.00")

    logged_in(legal.user).post(_url(invoice), _new_card(save=False, prepaid="40.00"))

    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid) == ("paid", Decimal("108.10"))
    assert list(Payment.objects.order_by("kind").values_list("kind", "amount")) == [
        ("card", Decimal("68.10")),
        ("prepaid", Decimal("40.00")),
    ]
    assert prepaid_account_for(legal.organization).balance == Decimal("0.00")


def test_the_balance_alone_pays_without_touching_the_card_fields(legal) -> None:
    invoice = InvoiceFactory(organization=legal.organization)
    _fund(legal.organization, "200.00")

    logged_in(legal.user).post(_url(invoice), {"prepaid_amount": "108.10", "means": "new"})

    invoice.refresh_from_db()
    assert invoice.status == "paid"
    assert PaymentMeans.objects.count() == 0
    assert list(Payment.objects.values_list("kind", "amount")) == [("prepaid", Decimal("108.10"))]


def test_an_unknown_outcome_locks_the_page_and_a_second_attempt_changes_nothing(legal) -> None:
    invoice = InvoiceFactory(organization=legal.organization)
    client = logged_in(legal.user)

    first = client.post(_url(invoice), _new_card("4000000000000119", save=True), follow=True)
    before = _state()
    again = client.post(_url(invoice), _new_card("4242424242424242", save=True))
    on_file = PaymentMeans.objects.get()
    with_saved = client.post(_url(invoice), {"prepaid_amount": "0", "means": str(on_file.pk)})

    page = first.content.decode()
    assert "Payment being checked" in page
    assert "The card payment&#x27;s outcome is not known yet" in page
    assert 'name="means"' not in page
    assert "Pay now" not in page
    message = "A card payment of this invoice is being checked with the payment provider. Please do not pay again."
    assert again.url == with_saved.url == _url(invoice)
    assert message in client.get(again.url).content.decode()
    assert _state() == before
    assert list(Payment.objects.values_list("status", flat=True)) == ["unknown"]


def test_a_paid_invoice_offers_no_payment(legal) -> None:
    invoice = InvoiceFactory(organization=legal.organization, status="paid", amount_paid=Decimal("108.10"))

    html = logged_in(legal.user).get(_url(invoice)).content.decode()

    assert "Pay now" not in html
    assert "Payment being checked" not in html


def test_tenancy_paying_their_invoice_with_a_new_card_is_404_and_adds_nothing(legal) -> None:
    theirs = member()
    their_invoice = InvoiceFactory(organization=theirs.organization)
    before = _state()
    client = logged_in(legal.user)

    codes = [
        client.post(_url(their_invoice), _new_card(save=True)).status_code,
        client.post(
            reverse("billing:invoice", args=[legal.organization_id, their_invoice.pk]), _new_card(save=True)
        ).status_code,
        client.get(_url(their_invoice)).status_code,
    ]

    assert codes == [404, 404, 404]
    assert _state() == before


CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123"}


def _pay_with_new_card(invoice: Invoice, user) -> None:  # noqa: ANN001
    invoice_pay_with_new_card(invoice=invoice, user=user, prepaid_amount=Decimal("0"), card=CARD, save=True, now=NOW)


@pytest.mark.parametrize(
    ("case", "rule", "message"),
    [
        ("paid invoice", "BIL-6", "This invoice is not open: there is nothing to pay."),
        ("technical member", "ORG-5", "Only a Legal Responsible, an administrator or a billing member can pay."),
        ("charge in doubt", "REN-8", "A card payment of this invoice is being checked with the payment provider."),
    ],
)
def test_bil4_a_new_card_refused_before_it_is_put_on_file_and_nothing_changes(
    legal, case: str, rule: str, message: str
) -> None:
    paid = case == "paid invoice"
    invoice = InvoiceFactory(
        organization=legal.organization,
        status="paid" if paid else "open",
        amount_paid=Decimal("108.10") if paid else Decimal("0.00"),
    )
    user = member("technical", organization=legal.organization).user if case == "technical member" else legal.user
    if case == "charge in doubt":
        Payment.objects.create(
            organization=legal.organization,
            invoice=invoice,
            kind="card",
            amount=Decimal("108.10"),
            currency="CHF",
            status=Payment.Status.UNKNOWN,
            created_at=NOW,
        )
    prepaid_account_for(legal.organization)
    before = _state()

    with pytest.raises(RuleViolation, match=message) as refused:
        _pay_with_new_card(invoice, user)

    assert refused.value.rule == rule
    assert _state() == before


# --- the way back from the payment-methods page -------------------------------------------------


def test_the_invoice_links_to_the_means_page_with_a_way_back(legal) -> None:
    invoice = InvoiceFactory(organization=legal.organization)

    html = logged_in(legal.user).get(_url(invoice)).content.decode()

    org = legal.organization_id
    assert f"/orgs/{org}/payment-methods/?next=%2Forgs%2F{org}%2Finvoices%2F{invoice.pk}%2F" in html


def test_a_card_added_elsewhere_comes_back_to_the_invoice(legal) -> None:
    invoice = InvoiceFactory(organization=legal.organization)
    means_url = reverse("billing:means", args=[legal.organization_id])
    client = logged_in(legal.user)

    page = client.get(means_url, {"next": _url(invoice)}).content.decode()
    added = client.post(
        means_url,
        {
            "form": "card",
            "next": _url(invoice),
            "card-number": "4242424242424242",
            "card-exp_month": "12",
            "card-exp_year": "2030",
            "card-cvc": "123",
        },
    )

    assert f'<input type="hidden" name="next" value="{_url(invoice)}">' in page
    assert (added.status_code, added.url) == (302, _url(invoice))
    assert PaymentMeans.objects.get().card_last4 == "4242"


@pytest.mark.parametrize(
    "unsafe", ["https://evil.example/", "//evil.example/x", "http://testserver/x", "javascript:alert(1)", "x/y"]
)
def test_a_next_to_another_site_is_ignored(legal, unsafe: str) -> None:
    means_url = reverse("billing:means", args=[legal.organization_id])

    added = logged_in(legal.user).post(
        means_url,
        {"form": "other", "next": unsafe, "other-kind": "postcard"},
    )

    assert (added.status_code, added.url) == (302, means_url)
    assert PaymentMeans.objects.get().kind == "postcard"


def test_the_default_card_is_chosen_else_a_new_card(legal) -> None:
    invoice = InvoiceFactory(organization=legal.organization)
    client = logged_in(legal.user)

    without = client.get(_url(invoice)).content.decode()
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
    with_card = client.get(_url(invoice)).content.decode()

    assert '<option value="new" selected>A new card (enter it below)</option>' in without
    assert f'<option value="{card.pk}" selected>' in with_card
    assert 'name="card-save" id="id_card-save" checked' in with_card
