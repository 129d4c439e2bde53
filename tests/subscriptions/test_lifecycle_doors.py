"""The renewal lifecycle's doors for customers: the Service page (timeline, attempts, open invoices,
actions with their confirmation pages) and the API — each happy path, each refusal with its rule
and nothing changed, and tenancy (another Organization's Service, ORG-6 scopes, ORG-5 roles)."""

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import Membership
from audit.models import AuditEvent
from billing.models import CreditNote, Invoice, Payment, PaymentMeans
from billing.services.payments import invoice_pay
from subscriptions.models import MembershipServiceScope, MoneyBackRefund, RenewalAttempt, Service
from subscriptions.services.orders import service_order
from tests.billing.factories import InvoiceFactory, PlanFactory, PriceFactory, service_type
from tests.factories import member
from tests.subscriptions.lifecycle.helpers import at, customer, service

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 2, 20)  # the helper's Services expire on E = 28 Feb 2026 (term 1 from 31 Jan)
NOW = at(TODAY, 10)
ORDERED = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)  # activation day of the money-back cases


@pytest.fixture(autouse=True)
def frozen():  # noqa: ANN201
    with time_machine.travel(NOW, tick=False):
        yield


def browser(membership: Membership) -> Client:
    client = Client()
    client.force_login(membership.user)
    return client


def api(membership: Membership) -> APIClient:
    client = APIClient()
    client.force_authenticate(membership.user)
    return client


def page(svc: Service, name: str = "service") -> str:
    return reverse(f"subscriptions:{name}", args=[svc.organization_id, svc.pk])


def endpoint(svc: Service, suffix: str, org_id: int | None = None) -> str:
    return f"/api/v1/organizations/{org_id or svc.organization_id}/services/{svc.pk}/{suffix}/"


def card(legal: Membership) -> PaymentMeans:
    return PaymentMeans.objects.get(organization=legal.organization, kind="card")


def snapshot(svc: Service) -> dict[str, Any]:
    """What a refused action must leave as it was: this Service and the rows about it."""
    svc.refresh_from_db()
    return {
        "service": (
            svc.status,
            svc.term,
            svc.expires_on,
            svc.auto_renew,
            svc.renewal_warranty,
            svc.renewal_declined_at,
            svc.terminated_at,
            svc.data_deleted_at,
        ),
        "invoices": list(Invoice.objects.filter(service=svc).order_by("pk").values_list("pk", "status", "amount_paid")),
        "payments": Payment.objects.filter(invoice__service=svc).count(),
        "credit_notes": CreditNote.objects.filter(invoice__service=svc).count(),
        "refunds": MoneyBackRefund.objects.filter(service=svc).count(),
        "attempts": RenewalAttempt.objects.filter(service=svc).count(),
        "service_events": AuditEvent.objects.filter(object_type="subscriptions.service", object_id=str(svc.pk)).count(),
    }


def messages_of(response: Any) -> list[str]:
    return [str(message) for message in response.context["messages"]]


# --- the Service page --------------------------------------------------------------------------


def test_the_page_shows_term_timeline_attempts_and_both_open_invoices_under_the_warranty() -> None:
    # given a web-hosting Service renewed under the Renewal Warranty for term 2 (unpaid), whose term 3
    # is billed as usual (RW-4), after a declined attempt
    legal = customer()
    svc = service(legal, type_slug="web-hosting", renewal_warranty=True, term=2, expires=dt.date(2026, 3, 31))
    warranty = InvoiceFactory(
        organization=legal.organization, service=svc, kind="renewal", term=2, due_date=dt.date(2026, 2, 28)
    )
    next_term = InvoiceFactory(organization=legal.organization, service=svc, kind="renewal", term=3)
    svc.warranty_invoice, svc.warranty_until = warranty, dt.date(2026, 4, 18)
    svc.save()
    RenewalAttempt.objects.create(
        service=svc, term=3, day=dt.date(2026, 2, 19), outcome="declined", reason="insufficient funds", created_at=NOW
    )

    # when
    response = browser(legal).get(page(svc))

    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert warranty.display_number in html and next_term.display_number in html
    assert "two invoices can be open at once" in html
    coming = [(e.day, e.kind) for e in response.context["coming"]]
    assert coming == [
        (TODAY, "debit_attempt"),  # RW-3, REN-2: the warranty term's invoice, debited up to its E
        (dt.date(2026, 2, 28), "debit_retries"),
        (dt.date(2026, 3, 17), "debit_attempt"),
        (dt.date(2026, 3, 31), "debit_retries"),
        (dt.date(2026, 4, 18), "suspension"),
        (dt.date(2026, 4, 29), "termination"),
    ]
    assert [(e.day, e.label) for e in response.context["past"]] == [
        (dt.date(2026, 2, 19), "Debit attempt: declined")
    ]
    assert "18 April 2026" in html
    assert "insufficient funds" in html
    assert "Switch the Renewal Warranty off" in html


def test_a_technical_member_sees_the_page_without_actions() -> None:
    legal = customer()
    svc = service(legal)
    technical = member(role=Membership.Role.TECHNICAL, organization=legal.organization)

    html = browser(technical).get(page(svc)).content.decode()

    assert "Paid until" in html
    assert page(svc, "service_auto_renew") not in html
    assert page(svc, "service_terminate") not in html


# --- automatic renewal (BIL-12) and the Renewal Warranty (RW-1, RW-6) -------------------------


def test_auto_renewal_off_and_on_in_the_portal() -> None:
    legal = customer()
    svc = service(legal)
    client = browser(legal)

    off = client.post(page(svc, "service_auto_renew"), {"enabled": "false"}, follow=True)
    svc.refresh_from_db()
    assert (svc.auto_renew, messages_of(off)) == (False, ["Automatic renewal is off."])
    on = client.post(page(svc, "service_auto_renew"), {"enabled": "true"}, follow=True)
    svc.refresh_from_db()
    assert (svc.auto_renew, messages_of(on)) == (True, ["Automatic renewal is on."])
    assert list(
        AuditEvent.objects.filter(action="service.auto_renew_changed").values_list("rule", "after__auto_renew")
    ) == [("BIL-12", False), ("BIL-12", True)]


def test_bil12_auto_renewal_without_a_card_is_refused_with_its_reason() -> None:
    legal = customer(card=None)
    svc = service(legal, auto_renew=False)
    before = snapshot(svc)

    response = browser(legal).post(page(svc, "service_auto_renew"), {"enabled": "true"}, follow=True)

    assert messages_of(response) == [
        "Automatic renewal needs a default card that can be debited automatically: add one or make a valid card "
        "your default means of payment."
    ]
    assert snapshot(svc) == before


def test_renewal_warranty_on_for_an_eligible_type() -> None:
    legal = customer()
    svc = service(legal, type_slug="web-hosting")

    response = browser(legal).post(page(svc, "service_warranty"), {"enabled": "true"}, follow=True)

    svc.refresh_from_db()
    assert (svc.renewal_warranty, messages_of(response)) == (True, ["The Renewal Warranty is on."])
    assert AuditEvent.objects.filter(action="service.warranty_changed", rule="RW-1").count() == 1


def test_rw1_jelastic_hides_the_warranty_button_and_refuses_it_with_the_reason() -> None:
    legal = customer()
    svc = service(legal)
    before = snapshot(svc)
    client = browser(legal)

    html = client.get(page(svc)).content.decode()
    response = client.post(page(svc, "service_warranty"), {"enabled": "true"}, follow=True)

    assert "Jelastic Cloud is not eligible for the Renewal Warranty." in html
    assert page(svc, "service_warranty") not in html
    assert messages_of(response) == ["Jelastic Cloud is not eligible for the Renewal Warranty."]
    assert snapshot(svc) == before


# --- renew now (PRE-5, REN-3) ---------------------------------------------------------------------


def test_renew_now_by_card_pays_the_next_term() -> None:
    legal = customer()
    svc = service(legal)

    response = browser(legal).post(page(svc), {"prepaid_amount": "0", "means": card(legal).pk}, follow=True)

    svc.refresh_from_db()
    invoice = Invoice.objects.get(service=svc)
    assert (svc.term, svc.expires_on) == (2, dt.date(2026, 3, 31))
    assert (invoice.kind, invoice.term, invoice.status) == ("renewal", 2, "paid")
    assert invoice.amount_paid == Decimal("108.10")
    assert messages_of(response) == [f"Thank you: invoice {invoice.display_number} is paid."]


def test_renew_now_refused_when_the_customer_asked_not_to_renew() -> None:
    legal = customer()
    svc = service(legal, renewal_declined_at=NOW, auto_renew=False)
    before = snapshot(svc)

    response = browser(legal).post(page(svc), {"prepaid_amount": "0", "means": card(legal).pk})

    assert response.status_code == 200
    assert response.context["renew_form"].non_field_errors() == [
        "You asked not to renew this Service: resume its renewal first."
    ]
    assert snapshot(svc) == before


# --- do not renew / resume (REN-5) --------------------------------------------------------------


def test_do_not_renew_then_resume() -> None:
    legal = customer()
    svc = service(legal)
    client = browser(legal)

    declined = client.post(page(svc, "service_decline"), follow=True)
    svc.refresh_from_db()
    assert (svc.renewal_declined_at, svc.auto_renew) == (NOW, False)
    assert messages_of(declined) == [
        "This Service will not be renewed: it ends on 28 February 2026 and its data is deleted then."
    ]
    assert [(e.day, e.kind) for e in declined.context["coming"]] == [(dt.date(2026, 2, 28), "end")]

    resumed = client.post(page(svc, "service_resume"), follow=True)
    svc.refresh_from_db()
    assert (svc.renewal_declined_at, svc.auto_renew) == (None, False)
    assert messages_of(resumed) == [
        "This Service will be renewed again. Automatic renewal stays off until you switch it on."
    ]


def test_do_not_renew_refused_for_a_trial() -> None:
    legal = customer()
    svc = service(legal, status="trial", anchor=None, expires=None, term=0, trial_ends_on=dt.date(2026, 3, 1))
    before = snapshot(svc)

    response = browser(legal).post(page(svc, "service_decline"), follow=True)

    assert messages_of(response) == ["Only an active paid Service can be left to end at its expiry."]
    assert snapshot(svc) == before


def test_actions_are_post_only() -> None:
    legal = customer()
    svc = service(legal)
    client = browser(legal)

    for name in ("service_auto_renew", "service_warranty", "service_decline", "service_resume"):
        assert client.get(page(svc, name)).status_code == 405


# --- terminate now (SC 8.3, BIL-13) ---------------------------------------------------------------


def test_terminate_now_after_the_confirmation_page() -> None:
    legal = customer()
    svc = service(legal)
    client = browser(legal)

    confirmation = client.get(page(svc, "service_terminate")).content.decode()
    unconfirmed = client.post(page(svc, "service_terminate"), {})
    svc.refresh_from_db()
    assert svc.status == "active"
    done = client.post(page(svc, "service_terminate"), {"confirm": "on"}, follow=True)

    assert "The Service's data will be deleted at once and for good: it cannot be recovered." in confirmation
    assert "No pro-rata refund is made for the rest of the term already paid." in confirmation
    assert unconfirmed.context["form"].errors == {
        "confirm": ["Please confirm that the data will be deleted for good and that no pro-rata refund is made."]
    }
    svc.refresh_from_db()
    assert (svc.status, svc.terminated_at, svc.data_deleted_at) == ("terminated", NOW, NOW)
    assert messages_of(done) == ["The Service is terminated and its data deleted."]
    assert list(
        AuditEvent.objects.filter(object_id=str(svc.pk), action__in=["service.terminated", "service.data_deleted"])
        .order_by("id")
        .values_list("action", "rule")
    ) == [("service.terminated", "BIL-13"), ("service.data_deleted", "SC 8.3")]


@pytest.mark.parametrize("role", [Membership.Role.BILLING, Membership.Role.TECHNICAL])
def test_terminate_now_is_forbidden_to_roles_without_the_right(role: str) -> None:
    legal = customer()
    svc = service(legal)
    other = member(role=role, organization=legal.organization)
    before = snapshot(svc)

    response = browser(other).post(page(svc, "service_terminate"), {"confirm": "on"})

    assert response.status_code == 403
    assert snapshot(svc) == before


# --- money-back (MB-1…MB-3) ---------------------------------------------------------------------


def _ordered(legal: Membership, slug: str = "jelastic-cloud") -> Service:
    """An order of CHF 100.00 + 8.1% VAT = 108.10 paid by card on 10 March 2026 (activation day)."""
    plan = PlanFactory(service_type=service_type(slug), period="monthly")
    PriceFactory(plan=plan, amount=Decimal("100.00"), valid_from=dt.date(2025, 1, 1))
    svc, invoice = service_order(organization=legal.organization, user=legal.user, plan=plan, now=ORDERED)
    invoice_pay(invoice=invoice, user=legal.user, prepaid_amount=Decimal("0"), means=card(legal), now=ORDERED)
    svc.refresh_from_db()
    return svc


def test_money_back_after_its_confirmation_page() -> None:
    legal = customer()
    svc = _ordered(legal)

    with time_machine.travel(dt.datetime(2026, 3, 20, 9, 0, tzinfo=dt.UTC), tick=False):
        client = browser(legal)
        confirmation = client.get(page(svc, "service_money_back")).content.decode()
        unconfirmed = client.post(page(svc, "service_money_back"), {})
        assert MoneyBackRefund.objects.count() == 0
        done = client.post(page(svc, "service_money_back"), {"confirm": "on"}, follow=True)

    assert "The Service is cancelled at once and its data deleted for good" in confirmation
    assert "9 April 2026" in confirmation  # day 30 after the activation day
    assert unconfirmed.context["form"].errors == {
        "confirm": ["Please confirm that the Service is cancelled and its data deleted."]
    }
    refund = MoneyBackRefund.objects.get()
    svc.refresh_from_db()
    assert (refund.amount, refund.destination, refund.card_amount) == (Decimal("108.10"), "card", Decimal("108.10"))
    assert (svc.status, svc.data_deleted_at is not None) == ("terminated", True)
    assert messages_of(done) == [
        "The Service is cancelled and its data deleted. CHF 108.10 is refunded: 108.10 to your card, 0.00 to your "
        "Prepaid Account."
    ]


def test_mb1_money_back_refused_for_an_ineligible_type_with_its_reason() -> None:
    legal = customer()
    svc = _ordered(legal, slug="ksuite")
    before = snapshot(svc)

    with time_machine.travel(dt.datetime(2026, 3, 20, 9, 0, tzinfo=dt.UTC), tick=False):
        html = browser(legal).get(page(svc)).content.decode()
        response = browser(legal).post(page(svc, "service_money_back"), {"confirm": "on"})

    assert page(svc, "service_money_back") not in html
    assert response.context["form"].non_field_errors() == ["kSuite is not covered by the money-back guarantee."]
    assert snapshot(svc) == before


def test_mb2_money_back_refused_after_30_days() -> None:
    legal = customer()
    svc = _ordered(legal)
    before = snapshot(svc)

    with time_machine.travel(dt.datetime(2026, 4, 10, 9, 0, tzinfo=dt.UTC), tick=False):
        response = browser(legal).post(page(svc, "service_money_back"), {"confirm": "on"})

    assert response.context["form"].non_field_errors() == [
        "The money-back guarantee applies within 30 days of activation; it ended on 9 April 2026."
    ]
    assert snapshot(svc) == before


# --- tenancy (ORG-5, ORG-6) -----------------------------------------------------------------------

ACTIONS = [
    ("service", {"prepaid_amount": "0"}),
    ("service_auto_renew", {"enabled": "false"}),
    ("service_warranty", {"enabled": "true"}),
    ("service_decline", {}),
    ("service_resume", {}),
    ("service_terminate", {"confirm": "on"}),
    ("service_money_back", {"confirm": "on"}),
]


@pytest.mark.parametrize(("name", "data"), ACTIONS)
def test_another_organizations_service_is_404_and_unchanged(name: str, data: dict[str, str]) -> None:
    mine = customer()
    theirs = customer()
    their_service = service(theirs, type_slug="web-hosting")
    before = snapshot(their_service)
    client = browser(mine)

    through_mine = client.post(reverse(f"subscriptions:{name}", args=[mine.organization_id, their_service.pk]), data)
    through_theirs = client.post(page(their_service, name), data)

    assert (through_mine.status_code, through_theirs.status_code) == (404, 404)
    assert snapshot(their_service) == before


@pytest.mark.parametrize(("name", "data"), ACTIONS)
def test_a_member_limited_to_other_services_gets_404_and_nothing_changes(name: str, data: dict[str, str]) -> None:
    legal = customer()
    svc = service(legal, type_slug="web-hosting")
    other_service = service(legal)
    limited = member(role=Membership.Role.ADMINISTRATOR, organization=legal.organization)
    MembershipServiceScope.objects.create(membership=limited, service=other_service)
    before = snapshot(svc)
    client = browser(limited)

    assert client.get(page(svc)).status_code == 404
    assert client.post(page(svc, name), data).status_code == 404
    assert snapshot(svc) == before


@pytest.mark.parametrize(("name", "data"), ACTIONS)
def test_a_technical_member_is_forbidden_to_act(name: str, data: dict[str, str]) -> None:
    legal = customer()
    svc = service(legal, type_slug="web-hosting")
    technical = member(role=Membership.Role.TECHNICAL, organization=legal.organization)
    before = snapshot(svc)

    body = {**data, "means": card(legal).pk} if name == "service" else data
    response = browser(technical).post(page(svc, name), body)

    assert response.status_code == 403
    assert snapshot(svc) == before


# --- the API ------------------------------------------------------------------------------------


def test_api_timeline_and_attempts() -> None:
    legal = customer()
    svc = service(legal)
    attempt = RenewalAttempt.objects.create(
        service=svc,
        term=2,
        day=dt.date(2026, 2, 19),
        outcome="declined",
        amount=Decimal("108.10"),
        reason="insufficient funds",
        created_at=NOW,
    )
    client = api(legal)

    timeline = client.get(endpoint(svc, "timeline"))
    attempts = client.get(endpoint(svc, "attempts"))

    assert timeline.status_code == 200
    assert timeline.json() == [
        {
            "day": "2026-02-19",
            "kind": "debit_attempt",
            "label": "Debit attempt: declined",
            "rule": "REN-2",
            "past": True,
            "detail": "Term 2 · CHF 108.10 · insufficient funds",
        },
        {
            "day": "2026-02-20",
            "kind": "debit_attempt",
            "label": "Next debit attempt",
            "rule": "REN-2",
            "past": False,
            "detail": "From your Prepaid Account first, the rest from your default card.",
        },
        {
            "day": "2026-02-28",
            "kind": "debit_retries",
            "label": "Last debit attempt",
            "rule": "REN-2",
            "past": False,
            "detail": "If an attempt fails, a new one is made every day until this day.",
        },
        {
            "day": "2026-02-28",
            "kind": "suspension",
            "label": "Suspended if still unpaid",
            "rule": "REN-3",
            "past": False,
            "detail": "The data is kept while suspended.",
        },
        {
            "day": "2026-03-14",
            "kind": "termination",
            "label": "Terminated if still unpaid, its data deleted for good",
            "rule": "REN-4",
            "past": False,
            "detail": "The data is deleted on termination and cannot be recovered.",
        },
    ]
    assert attempts.json() == [
        {
            "id": attempt.pk,
            "term": 2,
            "day": "2026-02-19",
            "outcome": "declined",
            "amount": "108.10",
            "prepaid_amount": "0.00",
            "card_amount": "0.00",
            "reason": "insufficient funds",
            "invoice": None,
            "forced_by_staff": False,
            "created_at": "2026-02-20T10:00:00+01:00",
        }
    ]


def test_api_auto_renew_and_its_bil12_refusal() -> None:
    with_card, without = customer(), customer(card=None)
    svc, bare = service(with_card), service(without, auto_renew=False)
    before = snapshot(bare)

    off = api(with_card).post(endpoint(svc, "auto-renew"), {"enabled": False}, format="json")
    refused = api(without).post(endpoint(bare, "auto-renew"), {"enabled": True}, format="json")
    missing = api(with_card).post(endpoint(svc, "auto-renew"), {}, format="json")

    assert (off.status_code, off.json()["auto_renew"]) == (200, False)
    assert (refused.status_code, refused.json()["rule"], refused.json()["field"]) == (409, "BIL-12", "auto_renew")
    assert refused.json()["detail"].startswith("Automatic renewal needs a default card")
    assert missing.status_code == 400
    assert snapshot(bare) == before


def test_api_renewal_warranty_and_its_rw1_refusal() -> None:
    legal = customer()
    hosting, jelastic = service(legal, type_slug="web-hosting"), service(legal)
    before = snapshot(jelastic)

    on = api(legal).post(endpoint(hosting, "renewal-warranty"), {"enabled": True}, format="json")
    refused = api(legal).post(endpoint(jelastic, "renewal-warranty"), {"enabled": True}, format="json")

    assert (on.status_code, on.json()["renewal_warranty"]) == (200, True)
    assert refused.status_code == 409
    assert refused.json() == {
        "detail": "Jelastic Cloud is not eligible for the Renewal Warranty.",
        "rule": "RW-1",
        "field": "renewal_warranty",
    }
    assert snapshot(jelastic) == before


def test_api_renew_now_and_its_ren5_refusal() -> None:
    legal = customer()
    svc = service(legal)
    declined = service(legal, renewal_declined_at=NOW, auto_renew=False)
    before = snapshot(declined)

    paid = api(legal).post(endpoint(svc, "renew"), {"prepaid_amount": "0", "means_id": card(legal).pk}, format="json")
    refused = api(legal).post(endpoint(declined, "renew"), {"means_id": card(legal).pk}, format="json")

    svc.refresh_from_db()
    assert paid.status_code == 200
    assert (paid.json()["kind"], paid.json()["status"], paid.json()["amount_paid"]) == ("renewal", "paid", "108.10")
    assert (svc.term, svc.expires_on) == (2, dt.date(2026, 3, 31))
    assert (refused.status_code, refused.json()["rule"]) == (409, "REN-5")
    assert snapshot(declined) == before


def test_api_decline_and_resume_renewal() -> None:
    legal = customer()
    svc = service(legal)

    declined = api(legal).post(endpoint(svc, "decline-renewal"))
    resumed = api(legal).post(endpoint(svc, "resume-renewal"))

    assert (declined.status_code, declined.json()["renewal_declined_at"], declined.json()["auto_renew"]) == (
        200,
        "2026-02-20T10:00:00+01:00",
        False,
    )
    assert (resumed.status_code, resumed.json()["renewal_declined_at"]) == (200, None)


def test_api_terminate_needs_the_confirmation() -> None:
    legal = customer()
    svc = service(legal)
    before = snapshot(svc)

    refused = api(legal).post(endpoint(svc, "terminate"), {}, format="json")
    assert snapshot(svc) == before
    done = api(legal).post(endpoint(svc, "terminate"), {"confirm": True}, format="json")

    assert refused.status_code == 400
    assert refused.json() == {
        "detail": "Please confirm that the data will be deleted for good and that no pro-rata refund is made.",
        "rule": "SC 8.3",
        "field": "confirm",
    }
    assert (done.status_code, done.json()["status"], done.json()["data_deleted_at"]) == (
        200,
        "terminated",
        "2026-02-20T10:00:00+01:00",
    )


def test_api_money_back_and_its_mb1_refusal() -> None:
    legal = customer()
    svc, ksuite = _ordered(legal), _ordered(legal, slug="ksuite")
    before = snapshot(ksuite)

    with time_machine.travel(dt.datetime(2026, 3, 20, 9, 0, tzinfo=dt.UTC), tick=False):
        refused = api(legal).post(endpoint(ksuite, "money-back"))
        refunded = api(legal).post(endpoint(svc, "money-back"))

    assert (refused.status_code, refused.json()["rule"]) == (409, "MB-1")
    assert snapshot(ksuite) == before
    refund = MoneyBackRefund.objects.get()
    assert refunded.status_code == 201
    assert refunded.json() == {
        "id": refund.pk,
        "service": svc.pk,
        "amount": "108.10",
        "currency": "CHF",
        "destination": "card",
        "card_amount": "108.10",
        "prepaid_amount": "0.00",
        "created_at": "2026-03-20T10:00:00+01:00",
    }


API_ACTIONS = [
    ("get", "timeline", None),
    ("get", "attempts", None),
    ("post", "auto-renew", {"enabled": False}),
    ("post", "renewal-warranty", {"enabled": True}),
    ("post", "renew", {"prepaid_amount": "0"}),
    ("post", "decline-renewal", None),
    ("post", "resume-renewal", None),
    ("post", "terminate", {"confirm": True}),
    ("post", "money-back", None),
]


@pytest.mark.parametrize(("method", "suffix", "data"), API_ACTIONS)
def test_api_another_organizations_service_is_404_and_unchanged(method: str, suffix: str, data: Any) -> None:
    mine, theirs = customer(), customer()
    their_service = service(theirs, type_slug="web-hosting")
    before = snapshot(their_service)
    client = api(mine)

    through_mine = getattr(client, method)(endpoint(their_service, suffix, mine.organization_id), data, format="json")
    through_theirs = getattr(client, method)(endpoint(their_service, suffix), data, format="json")

    assert (through_mine.status_code, through_theirs.status_code) == (404, 404)
    assert snapshot(their_service) == before


@pytest.mark.parametrize(("method", "suffix", "data"), API_ACTIONS)
def test_api_a_member_limited_to_other_services_gets_404(method: str, suffix: str, data: Any) -> None:
    legal = customer()
    svc, other_service = service(legal, type_slug="web-hosting"), service(legal)
    limited = member(role=Membership.Role.ADMINISTRATOR, organization=legal.organization)
    MembershipServiceScope.objects.create(membership=limited, service=other_service)
    before = snapshot(svc)

    response = getattr(api(limited), method)(endpoint(svc, suffix), data, format="json")

    assert response.status_code == 404
    assert snapshot(svc) == before


@pytest.mark.parametrize(("method", "suffix", "data"), [a for a in API_ACTIONS if a[0] == "post"])
def test_api_a_technical_member_is_forbidden_to_act(method: str, suffix: str, data: Any) -> None:
    legal = customer()
    svc = service(legal, type_slug="web-hosting")
    technical = member(role=Membership.Role.TECHNICAL, organization=legal.organization)
    before = snapshot(svc)

    response = api(technical).post(endpoint(svc, suffix), data, format="json")

    assert (response.status_code, response.json()["rule"]) == (403, "ORG-5")
    assert snapshot(svc) == before
