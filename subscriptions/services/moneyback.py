"""The money-back guarantee (SPEC MB-1, MB-2, MB-3; TCU Art. 7): cancel a Service within 30 days
of its activation and get the purchase amount back the way it was paid.

Decisions (MB-2):
- "Within 30 days": Zurich calendar days (TIME-1) from the day of the activation e-mail
  (`Service.activated_at`); that day is day 0 and day 30 is still inside, day 31 is not.
- "First order of each service type": no other Service of the same type of the Organization was
  paid (has a first term) before this one. A trial is no order (it is free): the trial converted
  to paid is the first order, its first paid invoice (the order invoice, or the term-1 renewal
  invoice when the T - 14 debit converted it) is the purchase, and its activation time is when it
  became paid.
- "The purchase amount" is what was paid on that first invoice only: a renewal already paid for a
  later term is not refunded (BIL-13: no refund after an automatic renewal).

Refund (MB-3): a card payment goes back to that card through the gateway (by the charge's
idempotency key); what was paid from the Prepaid Account, or by a means that cannot take a refund
(bank transfer, PostCard, PayPal, or a card refund the gateway refuses) is credited to the Prepaid
Account (PRE-2). Then the Service is terminated, its data deleted (SC 8.3).

Exactly once: one request holds the Prepaid Account's lock until its first transaction commits, so
a second one waits and then finds the Service terminated; the one-to-one MoneyBackRefund row is the
database's guarantee should anything else let two through. The refund row and each card part to
give back (MoneyBackCardRefund, SENDING) are committed before the gateway is asked, with no lock
held (REN-8); the answers are booked in a second transaction. A card refund left SENDING by a
stopped request is never sent again (the gateway's refund carries no key of its own): the daily
look-up flags it to staff.

Lock order (as everywhere in billing): the Prepaid Account, then the invoices, then the Service.
"""

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from accounts.models import Organization, User
from audit.services import Actor, audit_record
from billing.gateway import RefundResult, get_gateway
from billing.models import Invoice, LedgerEntry, MeansKind, Payment
from billing.services.posting import Effects
from billing.services.prepaid import prepaid_account_lock, prepaid_credit
from core import clock, figures
from core.errors import RuleViolation
from notifications.services import notify
from subscriptions.models import MoneyBackCardRefund, MoneyBackRefund, Service
from subscriptions.services.lifecycle import invoices_credit_in_full, require_service_manager, services_terminate

Status = Service.Status
REFUNDABLE_STATUSES = (Status.ACTIVE, Status.SUSPENDED)


def money_back_last_day(service: Service) -> dt.date | None:
    """MB-2: the last day a money-back request is accepted (day 30 after the activation day)."""
    if service.activated_at is None:
        return None
    return clock.business_date(service.activated_at) + dt.timedelta(days=settings.MONEY_BACK_DAYS)


def first_paid_invoice(service: Service) -> Invoice | None:
    """The purchase: the Service's order invoice, or the term-1 renewal invoice of a trial the
    automatic debit converted (REN-6), paid."""
    return (
        Invoice.objects.filter(service=service, status=Invoice.Status.PAID)
        .filter(Q(kind=Invoice.Kind.ORDER) | Q(kind=Invoice.Kind.RENEWAL, term=1))
        .order_by("pk")
        .first()
    )


def money_back_eligible(service: Service, today: dt.date) -> bool:
    """MB-1, MB-2, MB-3 as `service_money_back` checks them, read without a lock: whether a request
    for this Service would be accepted today (the forms offer only those)."""
    try:
        _check_eligible(service, today)
    except RuleViolation:
        return False
    return True


def _check_eligible(service: Service, today: dt.date) -> Invoice:
    """MB-1, MB-2 on the locked Service; the refusal names the reason and the rule."""
    service_type = service.plan.service_type
    if MoneyBackRefund.objects.filter(service=service).exists():
        raise RuleViolation(_("This Service was already refunded under the money-back guarantee."), rule="MB-2")
    if service.status not in REFUNDABLE_STATUSES or service.activated_at is None or (
        service.anchor_date is None and not service.usage_based
    ):
        raise RuleViolation(_("Only a paid Service that is running can be refunded."), rule="MB-2")
    if service.status == Status.SUSPENDED and service.suspension_reason == Service.SuspensionReason.STAFF:
        raise RuleViolation(_("This Service was suspended by our staff: please contact support."), rule="TCU 13.1")
    if not service_type.money_back_eligible:
        raise RuleViolation(
            _("%(type)s is not covered by the money-back guarantee.") % {"type": service_type.name}, rule="MB-1"
        )
    last_day = money_back_last_day(service)
    assert last_day is not None
    if today > last_day:
        raise RuleViolation(
            _("The money-back guarantee applies within %(days)s days of activation; it ended on %(date)s.")
            % {"days": settings.MONEY_BACK_DAYS, "date": figures.day(last_day)},
            rule="MB-2",
        )
    activated_at = service.activated_at
    earlier = (
        Service.objects.filter(organization_id=service.organization_id, plan__service_type=service_type)
        .exclude(pk=service.pk)
        .filter(Q(anchor_date__isnull=False) | Q(usage_based=True, activated_at__isnull=False))
        .filter(Q(activated_at__lt=activated_at) | Q(activated_at__isnull=True, pk__lt=service.pk))
    )
    if earlier.exists():
        raise RuleViolation(
            _("The money-back guarantee covers only the first order of %(type)s.") % {"type": service_type.name},
            rule="MB-2",
        )
    invoice = usage_invoices_refunded(service, last_day)[0] if service.usage_based else first_paid_invoice(service)
    if invoice is None or invoice.amount_paid <= 0:
        raise RuleViolation(_("Nothing was paid for this Service."), rule="MB-3")
    return invoice


def usage_invoices_refunded(service: Service, last_day: dt.date) -> tuple[Invoice | None, list[Invoice], list[Invoice]]:
    """USE-8: a usage Service's purchase is its usage invoices issued in its first 30 days: those
    paid (in part or in full) are refunded, those still open cancelled by a credit note. Returns
    (the first paid, the paid ones, the open ones)."""
    first_day = clock.business_date(service.activated_at) if service.activated_at else last_day
    window = Invoice.objects.filter(
        service=service, kind=Invoice.Kind.USAGE, issue_date__gte=first_day, issue_date__lte=last_day
    ).order_by("pk")
    paid = [invoice for invoice in window if invoice.amount_paid > 0]
    still_open = [invoice for invoice in window if invoice.status == Invoice.Status.OPEN and invoice.amount_due > 0]
    return (paid[0] if paid else None), paid, still_open


def service_money_back(
    *, service: Service, user: User, client_address: str | None = None, now: dt.datetime
) -> MoneyBackRefund:
    """MB-1…MB-3: cancel the Service and refund its purchase, in one action (see the module's
    docstring for the decisions). Refusals raise RuleViolation and change nothing.

    Transaction 1 decides, records the refund and the card parts to send (SENDING), credits what
    goes to the Prepaid Account and terminates the Service; the card refunds then go to the gateway
    with no lock held; transaction 2 books their answers (a refused one is credited too)."""
    actor = Actor.for_user(user, client_address=client_address)
    today = clock.business_date(now)
    require_service_manager(  # ORG-5 roles, ORG-6 scope: 404 / 403, before anything is locked or created
        service,
        user,
        refusal=_("Only a Legal Responsible, an administrator or a billing member can ask for a money-back refund."),
    )
    organization = Organization.objects.get(pk=service.organization_id)
    if organization.status == Organization.Status.BLOCKED:
        raise RuleViolation(_("This organization is blocked. Please contact support."), rule="ORG-2")
    with transaction.atomic():
        account = prepaid_account_lock(organization)
        list(
            Invoice.objects.select_for_update()
            .filter(service_id=service.pk)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        locked = (
            Service.objects.select_for_update(of=("self",))
            .select_related("plan__service_type", "organization")
            .get(pk=service.pk)
        )
        invoice = _check_eligible(locked, today)
        if invoice.currency != account.currency:  # MONEY-1: nothing here converts
            raise RuleViolation(_("This invoice is not in your Prepaid Account's currency."), rule="MONEY-1")
        # The refund row first: a second request that got this far fails here, before money moves.
        usage_paid: list[Invoice] = []
        usage_open: list[Invoice] = []
        if locked.usage_based:  # USE-8: every usage invoice of the first 30 days
            last_day = money_back_last_day(locked)
            assert last_day is not None
            _first, usage_paid, usage_open = usage_invoices_refunded(locked, last_day)
        refund = MoneyBackRefund.objects.create(
            service=locked,
            invoice=invoice,
            amount=sum((i.amount_paid for i in usage_paid), Decimal("0.00")) if usage_paid else invoice.amount_paid,
            currency=invoice.currency,
            destination=MoneyBackRefund.Destination.PREPAID,
            requested_by=user,
            created_at=now,
        )
        to_send: list[MoneyBackCardRefund] = []
        for paid in usage_paid or [invoice]:
            cards, credited = _refund_plan(paid, refund=refund, now=now)
            to_send += cards
            if credited:
                _credit(paid, credited, actor=actor, now=now)
                refund.prepaid_amount += credited
        MoneyBackCardRefund.objects.bulk_create(to_send)
        refund.save(update_fields=["prepaid_amount"])
        effects = Effects()
        if usage_open:  # USE-8: nothing more is invoiced for the first 30 days
            invoices_credit_in_full(
                usage_open, reason=_("Cancelled under the money-back guarantee"), actor=actor, now=now, effects=effects
            )
        services_terminate(
            [locked],
            reason=_("Cancelled under the money-back guarantee"),
            rule="MB-2",
            actor=actor,
            now=now,
            effects=effects,
            usage_invoice=False,  # USE-8: the month's usage up to now is closed without an invoice
        )
        effects.flush(now)
    answers = _send(to_send)  # no lock held while the gateway answers
    with transaction.atomic():
        prepaid_account_lock(organization)
        refund = MoneyBackRefund.objects.select_for_update().get(pk=refund.pk)
        _book_card_refunds(refund, answers, actor=actor, now=now)
        audit_record(
            actor=actor,
            action="service.money_back",
            rule="MB-3",
            obj=refund,
            organization=organization,
            after={
                "service": locked.pk,
                "invoice": invoice.number,
                **({"usage_invoices": [i.number for i in usage_paid]} if usage_paid else {}),
                "amount": str(refund.amount),
                "currency": refund.currency,
                "card": str(refund.card_amount),
                "prepaid": str(refund.prepaid_amount),
            },
            at=now,
        )
        notify(
            organization=organization,
            template="money_back_refunded",
            context={"service": locked, "refund": refund},
            related=locked,
            now=now,
        )
    return refund


def _refund_plan(
    invoice: Invoice, *, refund: MoneyBackRefund, now: dt.datetime
) -> tuple[list[MoneyBackCardRefund], Decimal]:
    """MB-3: each succeeded payment of the invoice back the way it came, up to what the invoice
    counts as paid: the card payments to send back (not saved yet), and the rest to credit to the
    Prepaid Account (the balance, a transfer, PostCard, PayPal, or paid without a payment row)."""
    remaining = invoice.amount_paid
    credited = Decimal("0.00")
    cards: list[MoneyBackCardRefund] = []
    payments = Payment.objects.filter(invoice=invoice, status=Payment.Status.SUCCEEDED).order_by("pk")
    for payment in payments:
        amount = min(payment.amount, remaining)
        if amount <= 0:
            break
        remaining -= amount
        if payment.kind == MeansKind.CARD and payment.idempotency_key:
            cards.append(
                MoneyBackCardRefund(
                    refund=refund,
                    payment=payment,
                    amount=amount,
                    outcome=MoneyBackCardRefund.Outcome.SENDING,
                    created_at=now,
                )
            )
        else:
            credited += amount
    return cards, credited + max(remaining, Decimal("0.00"))


def _credit(invoice: Invoice, amount: Decimal, *, actor: Actor, now: dt.datetime) -> None:
    prepaid_credit(
        organization=invoice.organization,
        kind=LedgerEntry.Kind.MONEY_BACK,
        amount=amount,
        invoice=invoice,
        currency=invoice.currency,
        now=now,
        actor=actor,
        rule="MB-3",
    )


def _send(card_refunds: list[MoneyBackCardRefund]) -> dict[int, RefundResult]:
    """The card refunds, each by its charge's key, with no transaction open."""
    gateway = get_gateway()
    answers = {}
    for card_refund in card_refunds:
        key = card_refund.payment.idempotency_key
        assert key is not None
        answers[card_refund.pk] = gateway.refund(idempotency_key=key, amount=card_refund.amount)
    return answers


def _book_card_refunds(
    refund: MoneyBackRefund, answers: dict[int, RefundResult], *, actor: Actor, now: dt.datetime
) -> None:
    """Transaction 2: each answer on its card refund; one the gateway refused is credited to the
    Prepaid Account (MB-3). The refund's totals and destination follow."""
    pending = MoneyBackCardRefund.objects.select_for_update(of=("self",)).filter(
        refund=refund, outcome=MoneyBackCardRefund.Outcome.SENDING, pk__in=list(answers)
    )
    for card_refund in pending.select_related("payment__invoice").order_by("pk"):
        payment, result = card_refund.payment, answers[card_refund.pk]
        invoice = payment.invoice
        assert invoice is not None
        card_refund.settled_at = now
        refunded = result.status == "refunded"
        after = {"amount": str(card_refund.amount), "invoice": invoice.number}
        if refunded:
            card_refund.outcome = MoneyBackCardRefund.Outcome.REFUNDED
            refund.card_amount += card_refund.amount
            after["key"] = payment.idempotency_key
        else:
            card_refund.outcome, card_refund.reason = MoneyBackCardRefund.Outcome.REFUSED, result.reason
            refund.prepaid_amount += card_refund.amount
            after["reason"] = result.reason
        audit_record(
            actor=actor,
            action="payment.refunded" if refunded else "payment.refund_refused",
            rule="MB-3",
            obj=payment,
            organization=invoice.organization_id,
            after=after,
            at=now,
        )
        if not refunded:
            _credit(invoice, card_refund.amount, actor=actor, now=now)
        card_refund.save(update_fields=["outcome", "reason", "settled_at"])
    if refund.card_amount:
        refund.destination = MoneyBackRefund.Destination.CARD
    refund.save(update_fields=["card_amount", "prepaid_amount", "destination"])
