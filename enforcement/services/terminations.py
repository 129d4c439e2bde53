"""Terminations carried out by staff (SPEC ENF-3, ENF-2, ORG-9; TCU 14.3, 14.4, 9.5; BIL-13; SC 8.3).

- ENF-3: for cause (fraud, insolvency proceedings, authority request, abusive conduct), a Service or
  the whole Organization, with immediate effect;
- ENF-2: for default, when a breach was not remedied;
- ORG-9: a customer's termination request (a support ticket), carried out from that ticket.

Every Service goes through the one termination path (`services_terminate`: data deleted at once and
recorded, SC 8.3; the Renewal Warranty ended, RW-6). For cause and for default, every open invoice
stays due (no credit note) and nothing is refunded (BIL-13); the Organization, when it ends, takes
ORG-9's terminated state and every member is told.
"""

import datetime as dt
from collections.abc import Sequence

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import Membership, Organization, User
from accounts.permissions import require_staff
from accounts.services.organizations import lock_organization
from audit.services import Actor, AuditSpec
from billing.models import Invoice
from billing.services.posting import Effects
from core.errors import RuleViolation
from enforcement.models import Breach, CauseTermination
from enforcement.services.breaches import require_reason
from notifications.models import Notification
from notifications.services import NoticeSpec
from subscriptions.batch import locked_services
from subscriptions.models import Service
from subscriptions.services.lifecycle import services_terminate
from support.models import Ticket

Cause = CauseTermination.Cause
Channel = Notification.Channel


def _lock_for_termination(organization: Organization, service_ids: Sequence[int]) -> tuple[Organization, list[Service]]:
    """The lock order: the Organization, the open invoices of its Services, the Services."""
    locked = lock_organization(organization)
    list(
        Invoice.objects.select_for_update()
        .filter(service_id__in=list(service_ids), status=Invoice.Status.OPEN)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return locked, locked_services(service_ids)


def _terminate(
    *,
    organization: Organization,
    services: list[Service],
    whole: bool,
    cause: str,
    rule: str,
    reason: str,
    staff_user: User,
    now: dt.datetime,
    breach: Breach | None = None,
    ticket: Ticket | None = None,
    effects: Effects,
) -> CauseTermination:
    """Inside the caller's transaction, with the Organization and the Services locked."""
    actor = Actor.for_user(staff_user)
    by_customer = cause == Cause.CUSTOMER_REQUEST
    live = [s for s in services if s.status != Service.Status.TERMINATED]
    label = str(Cause(cause).label)
    customer_reason = (
        _("Terminated at your request") if by_customer else _("Terminated by us: %(cause)s") % {"cause": label}
    )
    services_terminate(
        live,
        reason=customer_reason,
        rule=rule,
        actor=actor,
        now=now,
        effects=effects,
        cancel_open_invoices=by_customer,  # ENF-3: for cause, every open invoice stays due
    )
    left_due = list(
        Invoice.objects.filter(organization=organization, status=Invoice.Status.OPEN)
        .order_by("number")
        .values_list("number", flat=True)
    )
    if whole:
        before = {"status": organization.status}
        organization.status = Organization.Status.TERMINATED
        organization.terminated_at = now
        organization.status_reason = customer_reason
        organization.save(update_fields=["status", "terminated_at", "status_reason"])
        effects.audit.append(
            AuditSpec(
                actor=actor,
                action="organization.terminated",
                rule=rule,
                obj=organization,
                organization=organization,
                before=before,
                after={"status": Organization.Status.TERMINATED, "cause": cause, "reason": reason},
            )
        )
    record = CauseTermination.objects.create(
        organization=organization,
        service=None if whole else services[0],
        cause=cause,
        rule=rule,
        reason=reason,
        breach=breach,
        ticket=ticket,
        services_terminated=len(live),
        open_invoices=[str(number) for number in left_due],
        terminated_by=staff_user,
        terminated_at=now,
    )
    effects.audit.append(
        AuditSpec(
            actor=actor,
            action="contract.terminated_by_staff",
            rule=rule,
            obj=record,
            organization=organization,
            after={
                "cause": cause,
                "reason": reason,
                "whole_organization": whole,
                "services": [s.pk for s in live],
                "open_invoices_stay_due": record.open_invoices,
                "refund": "none (BIL-13)",
                "breach": breach.pk if breach else None,
                "ticket": ticket.pk if ticket else None,
            },
        )
    )
    if whole:
        effects.notices.append(
            NoticeSpec(
                organization=organization,
                template="terminated_by_staff",
                context={"cause": label, "by_customer": by_customer, "open_invoices": record.open_invoices},
                related=record,
                dedupe_key=f"terminated-by-staff:{record.pk}",
            )
        )
        # ENF-3: every member told, at their own login e-mail.
        told = {organization.contact_email.lower()}
        for membership in Membership.objects.filter(organization=organization).select_related("user").order_by("pk"):
            email = membership.user.email
            if email.lower() in told:
                continue
            told.add(email.lower())
            effects.notices.append(
                NoticeSpec(
                    organization=organization,
                    template="terminated_by_staff",
                    context={"cause": label, "by_customer": by_customer, "open_invoices": record.open_invoices},
                    related=record,
                    channels=(Channel.EMAIL,),
                    email_to=email,
                    dedupe_key=f"terminated-by-staff:{record.pk}",
                )
            )
    return record


def _require_cause(cause: str) -> None:
    if cause not in CauseTermination.FOR_CAUSE:
        raise RuleViolation(_("Choose the cause of the termination."), rule="ENF-3", status=400, field="cause")


def organization_terminate_for_cause(
    *, organization: Organization, staff_user: User, cause: str, reason: str, now: dt.datetime
) -> CauseTermination:
    """ENF-3: end the whole contract at once: every Service terminated, the Organization ended."""
    require_staff(staff_user, rule="ENF-3")
    reason = require_reason(reason, rule="ENF-3")
    _require_cause(cause)
    ids = list(Service.objects.filter(organization=organization).order_by("pk").values_list("pk", flat=True))
    with transaction.atomic():
        locked, services = _lock_for_termination(organization, ids)
        if locked.status == Organization.Status.TERMINATED:
            raise RuleViolation(_("This organization's contract is terminated already."), rule="ENF-3")
        effects = Effects()
        record = _terminate(
            organization=locked,
            services=services,
            whole=True,
            cause=cause,
            rule="ENF-3",
            reason=reason,
            staff_user=staff_user,
            now=now,
            effects=effects,
        )
        effects.flush(now)
    return record


def service_terminate_for_cause(
    *, organization: Organization, service: Service, staff_user: User, cause: str, reason: str, now: dt.datetime
) -> CauseTermination:
    """ENF-3: terminate one Service of the Organization at once, for cause."""
    require_staff(staff_user, rule="ENF-3")
    reason = require_reason(reason, rule="ENF-3")
    _require_cause(cause)
    if service.organization_id != organization.pk:
        raise RuleViolation(
            _("This Service is not one of this organization's."), rule="ENF-3", status=400, field="service"
        )
    with transaction.atomic():
        locked, services = _lock_for_termination(organization, [service.pk])
        if services[0].status == Service.Status.TERMINATED:
            raise RuleViolation(_("This Service is terminated already."), rule="ENF-3")
        effects = Effects()
        record = _terminate(
            organization=locked,
            services=services,
            whole=False,
            cause=cause,
            rule="ENF-3",
            reason=reason,
            staff_user=staff_user,
            now=now,
            effects=effects,
        )
        effects.flush(now)
    return record


def terminate_for_default(*, breach: Breach, staff_user: User, reason: str, now: dt.datetime) -> CauseTermination:
    """ENF-2 (TCU 14.3): a breach not remedied: the contract is terminated for default — the whole
    Organization when the breach concerned it, else the breach's Services."""
    require_staff(staff_user, rule="ENF-2")
    reason = require_reason(reason, rule="ENF-2")
    ids = list(breach.services.order_by("pk").values_list("pk", flat=True))
    if breach.whole_organization:
        ids = list(
            Service.objects.filter(organization_id=breach.organization_id).order_by("pk").values_list("pk", flat=True)
        )
    with transaction.atomic():
        organization, services = _lock_for_termination(breach.organization, ids)
        locked = Breach.objects.select_for_update().get(pk=breach.pk)
        if locked.status != Breach.Status.OPEN:
            raise RuleViolation(_("This breach is decided already."), rule="ENF-2")
        if organization.status == Organization.Status.TERMINATED:
            raise RuleViolation(_("This organization's contract is terminated already."), rule="ENF-2")
        whole = locked.whole_organization
        if not whole:
            services = [s for s in services if s.status != Service.Status.TERMINATED]
            if not services:
                raise RuleViolation(_("The Services of this breach are terminated already."), rule="ENF-2")
        effects = Effects()
        locked.status = Breach.Status.TERMINATED
        locked.decided_by, locked.decided_at, locked.decision_reason = staff_user, now, reason
        locked.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
        effects.audit.append(
            AuditSpec(
                actor=Actor.for_user(staff_user),
                action="breach.not_remedied",
                rule="ENF-2",
                obj=locked,
                organization=organization,
                before={"status": Breach.Status.OPEN},
                after={"status": Breach.Status.TERMINATED, "reason": reason},
            )
        )
        record = None
        targets = [services] if whole else [[s] for s in services]
        for group in targets:
            record = _terminate(
                organization=organization,
                services=group,
                whole=whole,
                cause=Cause.DEFAULT,
                rule="ENF-2",
                reason=reason,
                staff_user=staff_user,
                now=now,
                breach=locked,
                effects=effects,
            )
        effects.flush(now)
    assert record is not None
    return record


def termination_request_execute(*, ticket: Ticket, staff_user: User, answer: str, now: dt.datetime) -> CauseTermination:
    """ORG-9: carry out a customer's termination request from its ticket: the ticket's Service, or
    (a request about no Service) every Service and then the Organization. Executed only when the
    Organization is in good standing (no open invoice) and the request came from a Legal Responsible
    (who opened it logged in to the portal, and still is one). The answer is posted to the ticket
    (e-mailed to the contact persons) and the ticket closed."""
    from support.services import message_post, ticket_set_status

    require_staff(staff_user, rule="ORG-9")
    answer = require_reason(answer, rule="ORG-9")
    if ticket.kind != Ticket.Kind.TERMINATION:
        raise RuleViolation(_("Only a termination request is carried out this way."), rule="ORG-9", status=400)
    if ticket.status == Ticket.Status.CLOSED:
        raise RuleViolation(_("This ticket is closed."), rule="ORG-9")
    requester = Membership.objects.filter(organization_id=ticket.organization_id, user_id=ticket.opened_by_id).first()
    if ticket.opened_by_staff or requester is None or requester.role != Membership.Role.LEGAL_RESPONSIBLE:
        raise RuleViolation(_("The request was not made by a Legal Responsible of the organization."), rule="ORG-9")
    whole = ticket.service_id is None
    ids = (
        list(Service.objects.filter(organization_id=ticket.organization_id).order_by("pk").values_list("pk", flat=True))
        if whole
        else [ticket.service_id or 0]
    )
    with transaction.atomic():
        organization, services = _lock_for_termination(ticket.organization, ids)
        if organization.status == Organization.Status.TERMINATED:
            raise RuleViolation(_("This organization's contract is terminated already."), rule="ORG-9")
        if not whole and services[0].status == Service.Status.TERMINATED:
            raise RuleViolation(_("This Service is terminated already."), rule="ORG-9")
        open_numbers = list(
            Invoice.objects.filter(organization=organization, status=Invoice.Status.OPEN)
            .order_by("number")
            .values_list("number", flat=True)
        )
        if open_numbers:
            raise RuleViolation(
                _("The organization is not in good standing: invoices %(numbers)s are open.")
                % {"numbers": ", ".join(str(n) for n in open_numbers)},
                rule="ORG-9",
            )
        effects = Effects()
        record = _terminate(
            organization=organization,
            services=services,
            whole=whole,
            cause=Cause.CUSTOMER_REQUEST,
            rule="ORG-9",
            reason=answer,
            staff_user=staff_user,
            now=now,
            ticket=ticket,
            effects=effects,
        )
        effects.flush(now)
        message_post(ticket=ticket, user=staff_user, body=answer, as_staff=True, now=now)
        ticket_set_status(ticket=ticket, staff_user=staff_user, status=Ticket.Status.CLOSED, now=now)
    return record
