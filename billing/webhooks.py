"""Gateways' webhooks: POST /webhooks/stripe/ (REN-8, BIL-4).

No session, no CSRF token: Stripe proves the request with the Stripe-Signature header, verified with
STRIPE_WEBHOOK_SECRET before anything is read from the body. A bad signature answers 400 and changes
nothing; an event already received answers 200 and changes nothing (billing.services.gateway_events).
Without STRIPE_WEBHOOK_SECRET (the sandbox) the endpoint does not exist (404).
"""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from billing.gateways.base import GatewayError
from billing.services.gateway_events import gateway_event_receive
from core import clock


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    if not settings.STRIPE_WEBHOOK_SECRET:
        return HttpResponse(status=404)
    from billing.gateways.stripe import KEY_FIELD, construct_event  # the stripe library, only when used

    try:
        event = construct_event(request.body, request.headers.get("Stripe-Signature", ""))
    except GatewayError:
        return HttpResponse("signature verification failed", status=400, content_type="text/plain")
    key = ""
    if event.type.startswith("payment_intent."):
        metadata = getattr(event.data.object, "metadata", None)
        key = str(metadata.to_dict().get(KEY_FIELD, "")) if metadata else ""
    gateway_event_receive(
        gateway="stripe", event_id=event.id, event_type=event.type, idempotency_key=key, now=clock.now()
    )
    return HttpResponse(status=200)
