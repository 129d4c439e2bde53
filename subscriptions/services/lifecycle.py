"""The rest of a Service's life after its order: Renewal Warranty, manual renewal, suspension,
termination, and what customers and staff may do about them (SPEC REN-3, REN-4, REN-5, REN-6,
RW-1…RW-6, BIL-12, BIL-13, TCU 13.1, SC 8.3).

The daily jobs call the `*_run` functions with batches of Service ids; each batch is one
transaction that locks its rows (Prepaid Accounts, invoices, Services, in that order), re-checks
that each Service is still due, and writes its changes, evidence and notices in bulk. The
customer and staff actions below go through the same functions with one Service.
"""

import datetime as dt
from collections.abc import Collection, Sequence
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext as _

from accounts.models import Membership, Organization, User
from accounts.permissions import SERVICE_MANAGER_ROLES, TERMINATING_ROLES, require_orders_accepted, require_role
from audit.services import Actor, AuditSpec
from billing import selectors
from billing.models import CreditNote, Invoice
from billing.services.invoices import next_invoice_numbers
from billing.services.means import card_is_valid_on
from billing.services.payments import invoice_pay
from billing.services.posting import Effects
from billing.services.prepaid import prepaid_account_lock
from core import clock
from core.bulk import bulk_update
from core.errors import RuleViolation
from notifications.models import Notification
from notifications.selectors import unsent
from notifications.services import NoticeSpec
from subscriptions import hooks as subscription_hooks
from subscriptions import selectors as subscription_selectors
from subscriptions.batch import locked_services
from subscriptions.models import RenewalAttempt, Service, ServiceAddOn
from subscriptions.services import credit_ledger
from subscriptions.services import usage_collection as usage
from subscriptions.services.order_expiry import order_invoices_cancel_for
from subscriptions.services.renewal_invoices import (
    next_term_invoices,
    open_renewal_invoices,
    renewal_invoices_issue,
)

Status = Service.Status
Reason = Service.SuspensionReason
Channel = Notification.Channel
ALL_CHANNELS = (Channel.EMAIL, Channel.SMS, Channel.PHONE, Channel.LETTER, Channel.INBOX)  # RW-5

JOB_REMINDERS = "billing.renewal_reminders"
JOB_SUSPENSION = "billing.suspension"
JOB_TERMINATION = "billing.termination"

SERVICE_LIFECYCLE_FIELDS = [
    "status",
    "term",
    "expires_on",
    "auto_renew",
    "renewal_warranty",
    "warranty_invoice",
    "warranty_until",
    "suspended_at",
    "suspension_reason",
    "terminates_on",
    "terminated_at",
    "termination_reason",
    "data_deleted_at",
    "renewal_declined_at",
]


def _lock_open_invoices(service_ids: Sequence[int]) -> list[Invoice]:
    """The lock order: invoices before their Services. Returns the open invoices, locked."""
    return list(
        Invoice.objects.select_for_update()
        .filter(service_id__in=service_ids, status=Invoice.Status.OPEN)
        .order_by("pk")
    )


def _unpaid_invoices(services: Sequence[Service], open_invoices: Sequence[Invoice]) -> dict[int, Invoice]:
    """The renewal invoice each Service is unpaid for (RW-3: a termination names the invoice actually
    unpaid): the one of the term renewed under the Renewal Warranty while it is open, else the
    next term's."""
    by_pk = {invoice.pk: invoice for invoice in open_invoices if invoice.kind == Invoice.Kind.RENEWAL}
    by_term = {(invoice.service_id, invoice.term): invoice for invoice in by_pk.values()}
    unpaid = {}
    for service in services:
        if service.usage_based:  # USE-4: the oldest usage invoice still open
            overdue = sorted(
                (i for i in open_invoices if i.service_id == service.pk and i.kind == Invoice.Kind.USAGE),
                key=lambda i: (i.due_date, i.pk),
            )
            if overdue:
                unpaid[service.pk] = overdue[0]
            continue
        warranty = by_pk.get(service.warranty_invoice_id) if service.warranty_invoice_id is not None else None
        invoice = warranty or by_term.get((service.pk, service.term + 1))
        if invoice is not None:
            unpaid[service.pk] = invoice
    return unpaid


def service_audit(
    effects: Effects,
    actor: Actor,
    service: Service,
    action: str,
    rule: str,
    before: dict[str, Any],
    extra: dict[str, Any] | None = None,
) -> None:
    effects.audit.append(
        AuditSpec(
            actor=actor,
            action=action,
            rule=rule,
            obj=service,
            organization=service.organization,
            before=before,
            after={field: getattr(service, field) for field in before} | {"status": service.status} | (extra or {}),
        )
    )


# --- manual renewal (REN-5) ------------------------------------------------------------------


def reminders_due(day: dt.date) -> QuerySet[Service]:
    """REN-5: Services renewed by hand whose E is within the first reminder's distance."""
    return Service.objects.filter(
        status=Status.ACTIVE,
        auto_renew=False,
        renewal_declined_at__isnull=True,
        warranty_invoice__isnull=True,
        expires_on__gt=day,
        expires_on__lte=day + dt.timedelta(days=max(settings.RENEWAL_REMINDER_DAYS)),
    ).order_by("pk")


def reminders_run(service_ids: Sequence[int], *, day: dt.date, now: dt.datetime) -> int:
    """REN-5: on E - 14 the renewal invoice is issued; on E - 30, E - 14, E - 7 and E - 1 the customer
    is reminded (each reminder once: its key is unique)."""
    actor = Actor.system(JOB_REMINDERS)
    with transaction.atomic():
        found = open_renewal_invoices(service_ids, lock=True)
        services = [
            s
            for s in locked_services(service_ids)
            if s.status == Status.ACTIVE
            and not s.auto_renew
            and s.renewal_declined_at is None
            and s.warranty_invoice_id is None
            and s.expires_on is not None
            and s.expires_on > day
        ]
        invoices = next_term_invoices(services, found)
        to_issue = [
            s
            for s in services
            if s.pk not in invoices and (s.expires_on - day).days <= settings.RENEWAL_INVOICE_DAYS  # type: ignore[operator]
        ]
        invoices.update(renewal_invoices_issue(to_issue, day=day, actor=actor, rule="REN-5", now=now))
        keys = {}
        for service in services:
            days_left = (service.expires_on - day).days  # type: ignore[operator]
            if days_left in settings.RENEWAL_REMINDER_DAYS:
                keys[service.pk] = f"renewal-reminder:{service.pk}:{service.term + 1}:{days_left}"
        keys = unsent(keys)
        effects = Effects()
        for service in services:
            key = keys.get(service.pk)
            if key is None:
                continue
            effects.notices.append(
                NoticeSpec(
                    organization=service.organization,
                    template="renewal_reminder",
                    context={
                        "service": service,
                        "invoice": invoices.get(service.pk),
                        "invoice_days": settings.RENEWAL_INVOICE_DAYS,
                    },
                    related=service,
                    dedupe_key=key,
                )
            )
        count = len(effects.notices) + len(to_issue)
        effects.flush(now)
    return count


# --- suspension (REN-3, REN-6, RW-3) ---------------------------------------------------------


def _unknown_attempt() -> Exists:
    """REN-8: a charge of the next term, or of the invoice of a term renewed under the Renewal
    Warranty (RW-3), whose outcome is still unknown."""
    return Exists(
        RenewalAttempt.objects.filter(
            Q(term=OuterRef("term") + 1) | Q(invoice=OuterRef("warranty_invoice")) | Q(term=usage.USAGE_TERM),
            service=OuterRef("pk"),
            # a charge still being sent is in doubt too, until the debit run books its answer
            outcome__in=(RenewalAttempt.Outcome.UNKNOWN, RenewalAttempt.Outcome.CHARGING),
        )
    )


def suspension_due(day: dt.date) -> QuerySet[Service]:
    """Unpaid at E (REN-3), trials unpaid at T (REN-6), warranty renewals unpaid at the end of their
    working period (RW-3). Not a Service whose payment is in doubt (an unknown charge: staff check
    it first, REN-8), nor one that ends at E as asked (terminated instead)."""
    return (
        Service.objects.filter(
            Q(status=Status.ACTIVE, warranty_until__isnull=True, expires_on__lte=day, renewal_declined_at__isnull=True)
            | Q(status=Status.ACTIVE, warranty_until__lte=day)
            | Q(status=Status.TRIAL, trial_ends_on__lte=day)
            | usage.usage_overdue_q(day)
        )
        .exclude(_unknown_attempt())
        .order_by("pk")
    )


def _suspension_reason(service: Service, day: dt.date, overdue: Invoice | None = None) -> str | None:
    if service.usage_based and service.status == Status.ACTIVE:  # USE-4: a usage invoice past due
        return Reason.UNPAID if overdue is not None else None
    if service.status == Status.TRIAL and service.trial_ends_on and service.trial_ends_on <= day:
        return Reason.TRIAL_LAPSED
    if service.status != Status.ACTIVE:
        return None
    if service.warranty_until is not None:
        return Reason.WARRANTY_UNPAID if service.warranty_until <= day else None
    if service.renewal_declined_at is None and service.expires_on is not None and service.expires_on <= day:
        return Reason.UNPAID
    return None


def suspend_run(service_ids: Sequence[int], *, day: dt.date, now: dt.datetime) -> int:
    """Suspend the unpaid Services, data kept (TCU 13.5), and tell the customer with the date of
    termination: E + the type's grace days (REN-4), T + grace days for a trial (REN-6), or 11 / 30
    days after a warranty's working period (RW-3, which also ends the option, RW-6). A usage Service
    is suspended on its usage invoice's due date and terminated grace days after it (USE-4); a usage
    trial ends active at T when it can be collected from (USE-8, `_usage_trials_end`)."""
    actor = Actor.system(JOB_SUSPENSION)
    with transaction.atomic():
        effects = Effects()
        services = locked_services(service_ids)
        _unused, usage_open = usage.open_collected_invoices(s.pk for s in services if s.usage_based)
        changed = usage.usage_trials_end(services, day=day, now=now, actor=actor, effects=effects)
        for service in services:
            overdue = usage.overdue_usage_invoice(service, usage_open, day)
            reason = _suspension_reason(service, day, overdue) if service not in changed else None
            if reason is None:
                continue
            before = {"status": service.status, "terminates_on": None, "renewal_warranty": service.renewal_warranty}
            period = service.plan.period
            if reason == Reason.WARRANTY_UNPAID:
                base, grace = service.warranty_until, settings.RENEWAL_WARRANTY_GRACE_DAYS[period]
                service.renewal_warranty = False  # RW-6: ended after its cycle, its invoice unpaid
                rule = "RW-3"
            elif reason == Reason.TRIAL_LAPSED:
                base, grace, rule = service.trial_ends_on, service.plan.service_type.grace_days, "REN-6"
            elif overdue is not None:
                base, grace, rule = overdue.due_date, service.plan.service_type.grace_days, "USE-4"
            else:
                base, grace, rule = service.expires_on, service.plan.service_type.grace_days, "REN-3"
            assert base is not None
            service.status = Status.SUSPENDED
            service.suspension_reason = reason
            service.suspended_at = now
            service.terminates_on = base + dt.timedelta(days=grace)
            service_audit(effects, actor, service, "service.suspended", rule, before)
            effects.notices.append(
                NoticeSpec(
                    organization=service.organization,
                    template="service_suspended",
                    context={"service": service},
                    related=service,
                    channels=ALL_CHANNELS if reason == Reason.WARRANTY_UNPAID else (Channel.EMAIL, Channel.INBOX),
                    all_contacts=reason == Reason.WARRANTY_UNPAID,
                )
            )
            changed.append(service)
        bulk_update(changed, [*SERVICE_LIFECYCLE_FIELDS, "activated_at"])
        effects.flush(now)
    return len(changed)


# --- termination (REN-4, RW-3, RW-6, BIL-9, BIL-13, SC 8.3) ----------------------------------


def termination_due(day: dt.date) -> QuerySet[Service]:
    """Suspended unpaid Services whose termination date has come, and Services whose customer asked
    not to renew them, at E."""
    return Service.objects.filter(
        Q(status=Status.SUSPENDED, terminates_on__lte=day)
        | Q(status=Status.ACTIVE, renewal_declined_at__isnull=False, expires_on__lte=day)
    ).order_by("pk")


def services_terminate(
    services: list[Service],
    *,
    reason: str,
    rule: str,
    actor: Actor,
    now: dt.datetime,
    effects: Effects,
    unpaid: dict[int, Invoice] | None = None,
    usage_invoice: bool = True,
    cancel_open_invoices: bool = True,
) -> None:
    """End the Services for good: data deleted at once (SC 8.3), the option ended (RW-6), add-ons
    ended, renewal invoices of terms never provided cancelled by a credit note (the warranty's
    invoice stays due: the Service worked during that period, RW-3). No pro-rata refund (BIL-13).
    `unpaid`: the invoice each Service is terminated for not paying, named in the evidence (RW-3).
    A usage Service's usage to date is invoiced now and its months closed (USE-3) — without an
    invoice when `usage_invoice` is off (money-back, USE-8). With `cancel_open_invoices` off (a
    termination for cause, ENF-3) no invoice is cancelled: every open invoice stays due."""
    if not services:
        return
    subscription_hooks.services_terminating(services, actor=actor, now=now, effects=effects, invoice=usage_invoice)
    ids = [s.pk for s in services]
    warranty_invoices = {s.warranty_invoice_id for s in services if s.warranty_invoice_id}
    to_cancel = [
        invoice
        for invoice in Invoice.objects.select_for_update()
        .filter(service_id__in=ids, kind=Invoice.Kind.RENEWAL, status=Invoice.Status.OPEN)
        .order_by("pk")
        if invoice.pk not in warranty_invoices and cancel_open_invoices
    ]
    invoices_credit_in_full(
        to_cancel, reason=_("Service terminated: this term is not provided."), actor=actor, now=now, effects=effects
    )
    # ENF-5: a Service terminated while it waits for its first payment: its order invoice is cancelled.
    order_invoices_cancel_for(
        ids if cancel_open_invoices else [],
        reason=_("Service terminated: the order is cancelled."),
        actor=actor,
        now=now,
        effects=effects,
    )
    ServiceAddOn.objects.filter(service_id__in=ids, deactivated_at__isnull=True).update(deactivated_at=now)
    credits_deleted = credit_ledger.services_credits_delete(services, actor=actor, now=now, effects=effects)  # BIL-9
    invoices_credit_in_full(
        credit_ledger.open_credit_purchases(ids),
        reason=_("Service terminated: its credits are deleted."),
        actor=actor,
        now=now,
        effects=effects,
    )
    for service in services:
        before = {"status": service.status, "renewal_warranty": service.renewal_warranty}
        service.status = Status.TERMINATED
        service.terminated_at = now
        service.termination_reason = reason
        service.data_deleted_at = now
        service.renewal_warranty = False
        service.auto_renew = False
        service.terminates_on = None
        invoice = (unpaid or {}).get(service.pk)
        extra: dict[str, Any] = {"unpaid_invoice": invoice.number} if invoice is not None else {}
        if service.pk in credits_deleted:  # BIL-9: deleted, not refunded
            extra["credits_deleted"] = str(credits_deleted[service.pk])
        service_audit(effects, actor, service, "service.terminated", rule, before, extra=extra)
        effects.audit.append(
            AuditSpec(
                actor=actor,
                action="service.data_deleted",
                rule="SC 8.3",
                obj=service,
                organization=service.organization,
                after={"deleted_at": now.isoformat()},
            )
        )
        effects.notices.append(
            NoticeSpec(
                organization=service.organization,
                template="service_terminated",
                context={"service": service, "reason": reason, "invoice": invoice},
                related=service,
            )
        )
    bulk_update(services, SERVICE_LIFECYCLE_FIELDS)


def invoices_credit_in_full(
    invoices: list[Invoice], *, reason: str, actor: Actor, now: dt.datetime, effects: Effects
) -> None:
    """Cancel what is due on locked open invoices with one credit note each (BIL-6)."""
    if not invoices:
        return
    notes = []
    for invoice, number in zip(invoices, next_invoice_numbers(len(invoices)), strict=True):
        amount = invoice.amount_due
        notes.append(CreditNote(number=number, invoice=invoice, amount=amount, reason=reason, issued_at=now))
        invoice.amount_credited += amount
        invoice.status = Invoice.Status.CANCELLED
    CreditNote.objects.bulk_create(notes)
    bulk_update(invoices, ["amount_credited", "status"])
    for note in notes:
        effects.audit.append(
            AuditSpec(
                actor=actor,
                action="credit_note.issued",
                rule="BIL-6",
                obj=note,
                organization=note.invoice.organization,
                after={
                    "invoice": note.invoice.number,
                    "number": note.number,
                    "amount": str(note.amount),
                    "reason": reason,
                    "invoice_status": "cancelled",
                },
            )
        )


def terminate_run(service_ids: Sequence[int], *, day: dt.date, now: dt.datetime) -> int:
    actor = Actor.system(JOB_TERMINATION)
    with transaction.atomic():
        open_invoices = _lock_open_invoices(service_ids)
        services = locked_services(service_ids)
        unpaid = [s for s in services if s.status == Status.SUSPENDED and s.terminates_on and s.terminates_on <= day]
        declined = [
            s
            for s in services
            if s.status == Status.ACTIVE and s.renewal_declined_at and s.expires_on and s.expires_on <= day
        ]
        effects = Effects()
        # RW-3: the reason is the invoice actually unpaid, not how the Service came to be suspended
        invoices = _unpaid_invoices(unpaid, open_invoices)
        warranty = [s for s in unpaid if s.pk in invoices and invoices[s.pk].pk == s.warranty_invoice_id]
        services_terminate(
            warranty,
            reason=_("Renewal Warranty invoice unpaid"),
            rule="RW-3",
            actor=actor,
            now=now,
            effects=effects,
            unpaid=invoices,
        )
        metered = [s for s in unpaid if s not in warranty and s.usage_based]
        services_terminate(
            metered,
            reason=_("Usage invoice unpaid"),
            rule="USE-4",
            actor=actor,
            now=now,
            effects=effects,
            unpaid=invoices,
        )
        others = [s for s in unpaid if s not in warranty and not s.usage_based]
        services_terminate(
            others, reason=_("Renewal unpaid"), rule="REN-4", actor=actor, now=now, effects=effects, unpaid=invoices
        )
        services_terminate(
            declined,
            reason=_("Not renewed, as the customer asked"),
            rule="REN-5",
            actor=actor,
            now=now,
            effects=effects,
        )
        effects.flush(now)
    return len(unpaid) + len(declined)


# --- what customers do -----------------------------------------------------------------------


def require_service_manager(
    service: Service, user: User, roles: Collection[str] = SERVICE_MANAGER_ROLES, *, refusal: str | None = None
) -> Membership:
    """`user`'s membership if it may act on the Service (ORG-5 roles, ORG-6 scope); else 404 / 403.
    The roles are accounts.permissions'; the scope is the Services the member sees (billing.selectors)."""
    membership = Membership.objects.filter(organization_id=service.organization_id, user=user).first()
    if membership is None or not subscription_selectors.services_for_member(membership).filter(pk=service.pk).exists():
        raise RuleViolation(_("No such service."), rule="ORG-6", status=404)
    return require_role(membership, roles, refusal=refusal or _("Your role does not allow this action on the Service."))


def _lock_for_member(service: Service, user: User, roles: Collection[str] = SERVICE_MANAGER_ROLES) -> Service:
    """The Service locked, if `user` may manage it (`require_service_manager`)."""
    require_service_manager(service, user, roles)
    return locked_services([service.pk])[0]


def _require_live(service: Service) -> None:
    if service.status in (Status.TERMINATED, Status.AWAITING_PAYMENT):
        raise RuleViolation(_("This Service is not running."), rule="REN-4")


def service_set_auto_renew(
    *, service: Service, user: User, enabled: bool, client_address: str | None = None, now: dt.datetime
) -> Service:
    """BIL-12: switch automatic renewal on or off. On needs a default card that can be debited
    automatically today; a Prepaid balance alone is not enough (it counts as a means only on a day
    it covers the whole renewal, PRE-5)."""
    actor = Actor.for_user(user, client_address=client_address)
    today = clock.business_date(now)
    with transaction.atomic():
        locked = _lock_for_member(service, user)
        _require_live(locked)
        if locked.renewal_declined_at is not None and enabled:
            raise RuleViolation(
                _("You asked not to renew this Service: resume its renewal first."), rule="REN-5", field="auto_renew"
            )
        if enabled and not locked.auto_renew:
            require_orders_accepted(Organization.objects.get(pk=locked.organization_id))  # ENF-4
        if enabled:
            means = selectors.default_auto_debit_means(locked.organization)
            if means is None or not card_is_valid_on(means, today):
                raise RuleViolation(
                    _(
                        "Automatic renewal needs a default card that can be debited automatically: add one or "
                        "make a valid card your default means of payment."
                    ),
                    rule="BIL-12",
                    field="auto_renew",
                )
        if locked.auto_renew == enabled and locked.auto_renew_off_by_customer != enabled:
            return locked  # as asked already (off while off: kept off as the customer's choice, REN-6)
        before = {"auto_renew": locked.auto_renew}
        locked.auto_renew = enabled
        locked.auto_renew_off_by_customer = not enabled  # REN-6: a card added later leaves it off
        locked.save(update_fields=["auto_renew", "auto_renew_off_by_customer"])
        effects = Effects()
        service_audit(effects, actor, locked, "service.auto_renew_changed", "BIL-12", before)
        effects.flush(now)
    return locked


def service_set_warranty(
    *, service: Service, user: User, enabled: bool, client_address: str | None = None, now: dt.datetime
) -> Service:
    """RW-1: the Renewal Warranty only on eligible types (Jelastic Cloud is not one); RW-6: the
    customer disables it at any time. The 5% surcharge applies from the next renewal (RW-2)."""
    actor = Actor.for_user(user, client_address=client_address)
    with transaction.atomic():
        locked = _lock_for_member(service, user)
        _require_live(locked)
        service_type = locked.plan.service_type
        if enabled and not service_type.warranty_eligible:
            raise RuleViolation(
                _("%(type)s is not eligible for the Renewal Warranty.") % {"type": service_type.name},
                rule="RW-1",
                field="renewal_warranty",
            )
        if locked.renewal_warranty == enabled:
            return locked
        before = {"renewal_warranty": locked.renewal_warranty}
        locked.renewal_warranty = enabled
        locked.save(update_fields=["renewal_warranty"])
        effects = Effects()
        service_audit(effects, actor, locked, "service.warranty_changed", "RW-6" if not enabled else "RW-1", before)
        effects.flush(now)
    return locked


def renewal_invoice_for(service: Service, *, actor: Actor, now: dt.datetime) -> Invoice:
    """The open renewal invoice of the Service's next term, issued now (price in force today) if
    there is none yet — what "renew now" pays."""
    found = next_term_invoices([service], open_renewal_invoices([service.pk], lock=True))
    if service.pk in found:
        return found[service.pk]
    require_orders_accepted(Organization.objects.get(pk=service.organization_id))  # ENF-4: no new renewal
    issued = renewal_invoices_issue([service], day=clock.business_date(now), actor=actor, rule="REN-5", now=now)
    if service.pk not in issued:
        raise RuleViolation(_("This plan has no price in force: please contact support."), rule="BIL-1")
    return issued[service.pk]


def service_renew_now(
    *,
    service: Service,
    user: User,
    prepaid_amount: Any,
    means: Any,
    client_address: str | None = None,
    now: dt.datetime,
) -> Invoice:
    """Pay the next term now (or the open renewal invoice of a suspended Service, which reactivates
    it at once, REN-3): from the Prepaid Account and/or a card, both or neither (PRE-5)."""
    actor = Actor.for_user(user, client_address=client_address)
    # One transaction: a refused payment leaves no renewal invoice behind (BIL-1, BIL-6). Lock
    # order as everywhere: the Prepaid Account, the invoices, the Service.
    with transaction.atomic():
        prepaid_account_lock(service.organization)
        _lock_open_invoices([service.pk])
        locked = _lock_for_member(service, user)
        _require_live(locked)
        if locked.usage_based:
            raise RuleViolation(_("This Service is billed by usage each month: it has no term to renew."), rule="USE-1")
        if locked.status == Status.SUSPENDED and locked.suspension_reason == Reason.STAFF:
            raise RuleViolation(_("This Service was suspended by our staff: please contact support."), rule="TCU 13.1")
        if locked.renewal_declined_at is not None:
            raise RuleViolation(_("You asked not to renew this Service: resume its renewal first."), rule="REN-5")
        warranty_invoice = locked.warranty_invoice
        if warranty_invoice is not None and warranty_invoice.status == Invoice.Status.OPEN:
            invoice = warranty_invoice  # RW-4: the warranty's invoice first
        else:
            invoice = renewal_invoice_for(locked, actor=actor, now=now)
        effects = Effects()  # BIL-9: the Service's credits first, then the balance and the card (PRE-5)
        credit_ledger.credits_apply(
            {locked.pk: [invoice]}, services={locked.pk: locked}, actor=actor, now=now, effects=effects
        )
        effects.flush(now)
        if invoice.status == Invoice.Status.OPEN:
            invoice_pay(
                invoice=invoice,
                user=user,
                prepaid_amount=min(prepaid_amount, invoice.amount_due),
                means=means,
                client_address=client_address,
                now=now,
            )
    invoice.refresh_from_db()
    return invoice


def service_decline_renewal(
    *, service: Service, user: User, client_address: str | None = None, now: dt.datetime
) -> Service:
    """ "Do not renew": the Service ends at E (its data deleted then, SC 8.3); automatic renewal is
    switched off and the next term's open renewal invoice, if any, is cancelled by a credit note."""
    actor = Actor.for_user(user, client_address=client_address)
    with transaction.atomic():
        found = open_renewal_invoices([service.pk], lock=True)
        locked = _lock_for_member(service, user)
        if locked.status != Status.ACTIVE or locked.anchor_date is None:
            raise RuleViolation(_("Only an active paid Service can be left to end at its expiry."), rule="REN-5")
        if locked.renewal_declined_at is not None:
            return locked
        if locked.warranty_invoice_id is not None:
            raise RuleViolation(
                _("This Service was renewed under the Renewal Warranty: terminate it instead."), rule="RW-3"
            )
        before = {"auto_renew": locked.auto_renew, "renewal_declined_at": None}
        locked.auto_renew, locked.auto_renew_off_by_customer = False, True
        locked.renewal_declined_at = now
        effects = Effects()
        invoice = next_term_invoices([locked], found).get(locked.pk)
        if invoice is not None:
            invoices_credit_in_full(
                [invoice], reason=_("Not renewed, as the customer asked."), actor=actor, now=now, effects=effects
            )
        locked.save(update_fields=["auto_renew", "auto_renew_off_by_customer", "renewal_declined_at"])
        service_audit(effects, actor, locked, "service.renewal_declined", "REN-5", before)
        effects.flush(now)
    return locked


def service_resume_renewal(
    *, service: Service, user: User, client_address: str | None = None, now: dt.datetime
) -> Service:
    """Undo "do not renew" before E: the Service renews by hand again (automatic renewal stays off
    until switched on, BIL-12)."""
    actor = Actor.for_user(user, client_address=client_address)
    with transaction.atomic():
        locked = _lock_for_member(service, user)
        if locked.renewal_declined_at is None:
            return locked
        if locked.status != Status.ACTIVE:
            raise RuleViolation(_("This Service is not running."), rule="REN-5")
        require_orders_accepted(Organization.objects.get(pk=locked.organization_id))  # ENF-4
        before = {"renewal_declined_at": locked.renewal_declined_at}
        locked.renewal_declined_at = None
        locked.save(update_fields=["renewal_declined_at"])
        effects = Effects()
        service_audit(effects, actor, locked, "service.renewal_resumed", "REN-5", before)
        effects.flush(now)
    return locked


def service_terminate_now(
    *, service: Service, user: User, confirmed: bool, client_address: str | None = None, now: dt.datetime
) -> Service:
    """Terminate at once, after the customer confirmed that the data is deleted for good (SC 8.3)
    and that nothing is refunded pro rata (BIL-13)."""
    actor = Actor.for_user(user, client_address=client_address)
    if not confirmed:
        raise RuleViolation(
            _("Please confirm that the data will be deleted for good and that no pro-rata refund is made."),
            rule="SC 8.3",
            status=400,
            field="confirm",
        )
    with transaction.atomic():
        _lock_open_invoices([service.pk])
        locked = _lock_for_member(service, user, roles=TERMINATING_ROLES)
        if locked.status == Status.TERMINATED:
            raise RuleViolation(_("This Service is already terminated."), rule="REN-4")
        effects = Effects()
        services_terminate(
            [locked], reason=_("Terminated by the customer"), rule="BIL-13", actor=actor, now=now, effects=effects
        )
        effects.flush(now)
    return locked


def service_terminate_for(*, service: Service, reason: str, rule: str, actor: Actor, now: dt.datetime) -> Service:
    """Terminate at once under another app's rule (SLA-9: force majeure), the caller having checked
    who acts and why: the same ending as every termination (SC 8.3 data deleted, BIL-13 no refund)."""
    with transaction.atomic():
        _lock_open_invoices([service.pk])
        locked = locked_services([service.pk])[0]
        if locked.status == Status.TERMINATED:
            raise RuleViolation(_("This Service is already terminated."), rule="REN-4")
        effects = Effects()
        services_terminate([locked], reason=reason, rule=rule, actor=actor, now=now, effects=effects)
        effects.flush(now)
    return locked
