"""A gateway's notifications (Stripe webhooks), received once each (REN-8, BIL-4).

An event is only a trigger: what it says about a charge is not booked as such. A
`payment_intent.succeeded` or `payment_intent.payment_failed` event names the engine's idempotency key
(the PaymentIntent's metadata); the portal then asks the gateway itself, through the existing look-up
path (`payment_reconcile`), for a Payment whose outcome was unknown (or left processing by a stopped
request). A renewal attempt whose outcome is unknown is left to the daily look-up job
(subscriptions.services.debit_lookup), which owns its booking. Any other event is recorded and otherwise
ignored.

The event is recorded after the look-up: if that fails (the gateway does not answer), nothing is recorded,
the webhook answers an error and Stripe delivers the event again later. A second delivery of a recorded
event does nothing (a unique constraint on the event id backs it, also against two deliveries racing).
"""

import datetime as dt

from django.db import IntegrityError, transaction

from audit.services import Actor, audit_record
from billing.models import GatewayEvent, Payment
from billing.services.payments import payment_reconcile

# The events that name a charge whose outcome the portal may be waiting for.
CHARGE_EVENTS = frozenset({"payment_intent.succeeded", "payment_intent.payment_failed"})


def gateway_event_receive(
    *, gateway: str, event_id: str, event_type: str, idempotency_key: str, now: dt.datetime
) -> bool:
    """Act on one event once; False (and nothing done) if it was received before."""
    if GatewayEvent.objects.filter(gateway=gateway, event_id=event_id).exists():
        return False
    payment = None
    if event_type in CHARGE_EVENTS and idempotency_key:
        payment = Payment.objects.filter(idempotency_key=idempotency_key).select_related("organization").first()
        if payment is not None and payment.status in (Payment.Status.UNKNOWN, Payment.Status.PROCESSING):
            payment = payment_reconcile(payment=payment, now=now)  # looks up, then locks and books (REN-8)
    try:
        with transaction.atomic():
            event = GatewayEvent.objects.create(
                gateway=gateway, event_id=event_id, type=event_type, idempotency_key=idempotency_key, received_at=now
            )
            audit_record(
                actor=Actor.system(f"{gateway}.webhook"),
                action="gateway.event_received",
                rule="REN-8" if payment is not None else "BIL-4",
                obj=event,
                organization=payment.organization if payment is not None else None,
                after={
                    "event": event_id,
                    "type": event_type,
                    "key": idempotency_key,
                    "payment": payment.pk if payment is not None else None,
                    "payment_status": payment.status if payment is not None else None,
                },
                at=now,
            )
    except IntegrityError:  # the same event, delivered twice at once: the other delivery recorded it
        return False
    return True
