"""POST /webhooks/stripe/ (REN-8, BIL-4): Stripe's events, verified by their signature, acted on once.

The payloads are signed here as Stripe signs them (the Stripe-Signature header: `t=<unix time>,v1=<HMAC-SHA256
of "<t>.<body>" with the endpoint's secret>`). The event only triggers the look-up of the charge it names:
the tests run on the sandbox gateway, whose timeout card leaves a top-up's outcome unknown."""

import datetime as dt
import hashlib
import hmac
import json
import time
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from audit.models import AuditEvent
from billing.models import GatewayEvent, LedgerEntry, Payment
from billing.services.means import means_add_card
from billing.services.topup import prepaid_top_up_by_card
from tests.factories import member

pytestmark = pytest.mark.django_db

SECRET = "whsec_portal_tests"
URL = "/webhooks/stripe/"
NOW = dt.datetime(2026, 4, 10, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _webhook_secret(settings) -> None:  # noqa: ANN001
    settings.STRIPE_WEBHOOK_SECRET = SECRET


def _event(key: str, *, event_id: str = "evt_1", type: str = "payment_intent.succeeded") -> dict[str, Any]:
    intent = {"id": "pi_1", "object": "payment_intent", "status": "succeeded", "metadata": {"idempotency_key": key}}
    return {"id": event_id, "object": "event", "type": type, "created": int(time.time()), "data": {"object": intent}}


def _post(event: dict[str, Any], *, secret: str = SECRET, signature: str | None = None) -> int:
    body = json.dumps(event).encode()
    if signature is None:
        stamp = int(time.time())
        digest = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
        signature = f"t={stamp},v1={digest}"
    response = Client().post(URL, data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature)
    return response.status_code


@pytest.fixture
def unknown_top_up() -> Payment:
    """A card top-up whose charge timed out: unknown, nothing credited (REN-8)."""
    legal = member()
    card = means_add_card(
        organization=legal.organization,
        user=legal.user,
        number="4000000000000119",
        exp_month=12,
        exp_year=2030,
        cvc="123",
        make_default=False,
        now=NOW,
    )
    payment = prepaid_top_up_by_card(
        organization=legal.organization, user=legal.user, amount=Decimal("80.00"), means=card, now=NOW
    )
    assert payment.status == Payment.Status.UNKNOWN
    return payment


def _state() -> tuple[list[tuple[Any, ...]], int, int, int]:
    return (
        list(Payment.objects.order_by("pk").values_list("pk", "status")),
        LedgerEntry.objects.count(),
        GatewayEvent.objects.count(),
        AuditEvent.objects.count(),
    )


def test_ren8_a_signed_event_settles_the_unknown_charge_it_names(unknown_top_up: Payment) -> None:
    status = _post(_event(unknown_top_up.idempotency_key))

    assert status == 200
    unknown_top_up.refresh_from_db()
    assert unknown_top_up.status == Payment.Status.SUCCEEDED
    (entry,) = LedgerEntry.objects.all()
    assert (entry.kind, entry.amount, entry.payment_id) == ("top_up", Decimal("80.00"), unknown_top_up.pk)
    (event,) = GatewayEvent.objects.all()
    assert (event.gateway, event.event_id, event.type, event.idempotency_key) == (
        "stripe",
        "evt_1",
        "payment_intent.succeeded",
        unknown_top_up.idempotency_key,
    )
    (audit,) = AuditEvent.objects.filter(action="gateway.event_received")
    assert (audit.rule, audit.organization_id) == ("REN-8", unknown_top_up.organization_id)
    assert audit.after["payment"] == unknown_top_up.pk
    assert audit.after["payment_status"] == "succeeded"


def test_ren8_a_second_delivery_of_an_event_answers_200_and_changes_nothing(unknown_top_up: Payment) -> None:
    assert _post(_event(unknown_top_up.idempotency_key)) == 200
    before = _state()

    assert _post(_event(unknown_top_up.idempotency_key)) == 200

    assert _state() == before
    assert LedgerEntry.objects.count() == 1  # credited once


@pytest.mark.parametrize(
    "signature",
    [
        None,  # signed, but with another secret (below)
        "",
        "t=1,v1=00",
        "garbage",
    ],
)
def test_ren8_an_event_whose_signature_does_not_verify_is_refused_and_changes_nothing(
    unknown_top_up: Payment, signature: str | None
) -> None:
    before = _state()

    status = _post(_event(unknown_top_up.idempotency_key), secret="whsec_someone_else", signature=signature)

    assert status == 400
    assert _state() == before
    assert Payment.objects.get(pk=unknown_top_up.pk).status == Payment.Status.UNKNOWN


def test_ren8_a_replayed_old_signature_is_refused(unknown_top_up: Payment) -> None:
    body = json.dumps(_event(unknown_top_up.idempotency_key)).encode()
    stamp = int(time.time()) - 3600  # past Stripe's five minutes of tolerance
    digest = hmac.new(SECRET.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    before = _state()

    response = Client().post(
        URL, data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE=f"t={stamp},v1={digest}"
    )

    assert response.status_code == 400
    assert _state() == before


def test_bil4_an_event_about_no_waiting_charge_is_recorded_once_and_does_nothing_else(unknown_top_up: Payment) -> None:
    payments = list(Payment.objects.values_list("pk", "status"))

    assert _post(_event("renewal:nobody:1", event_id="evt_2", type="payment_intent.payment_failed")) == 200
    assert _post(_event("", event_id="evt_3", type="customer.created")) == 200

    assert list(Payment.objects.values_list("pk", "status")) == payments
    assert list(GatewayEvent.objects.order_by("event_id").values_list("event_id", "idempotency_key")) == [
        ("evt_2", "renewal:nobody:1"),
        ("evt_3", ""),
    ]
    assert list(AuditEvent.objects.filter(action="gateway.event_received").values_list("rule", "organization")) == [
        ("BIL-4", None),
        ("BIL-4", None),
    ]


def test_the_webhook_takes_posts_only_and_does_not_exist_without_a_secret(settings) -> None:  # noqa: ANN001
    assert Client().get(URL).status_code == 405

    settings.STRIPE_WEBHOOK_SECRET = ""

    assert _post(_event("renewal:1")) == 404
    assert GatewayEvent.objects.count() == 0
