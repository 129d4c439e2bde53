"""Orders, trials and the start of a Service (SPEC BIL-1, BIL-3, BIL-12, REN-7, ORG-4, ORG-6, ORG-7)."""

import datetime as dt
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from accounts import selectors as account_selectors
from accounts.document_services import document_accept
from accounts.models import DocumentVersion, Organization, User
from accounts.permissions import require_billing_member, require_orders_accepted
from audit.services import Actor, audit_record
from billing import selectors
from billing.models import Invoice, PaymentMeans, Plan
from billing.periods import term_end
from billing.services.invoices import LineSpec, invoice_issue
from billing.services.posting import Effects, of_kind, on_invoices_paid
from core import clock
from core.errors import RuleViolation
from notifications.services import notify
from subscriptions import hooks
from subscriptions.models import Service, TrialFlag


def _lock_orderable_organization(organization: Organization, user: User, today: dt.date) -> Organization:
    """The checks every order and trial makes (ORG-2, ORG-4, ORG-5, ENF-4), with the Organization locked."""
    locked = Organization.objects.select_for_update(no_key=True).get(pk=organization.pk)
    require_billing_member(
        locked, user, refusal=_("Only a Legal Responsible, an administrator or a billing member can order.")
    )
    if locked.status == Organization.Status.BLOCKED:
        raise RuleViolation(_("This organization is blocked: it cannot order. Please contact support."), rule="ORG-2")
    if locked.status == Organization.Status.TERMINATED:
        raise RuleViolation(_("This organization's contract is terminated."), rule="ORG-9")
    require_orders_accepted(locked)  # ENF-4: orders, trials and switching a trial to paid
    if account_selectors.unauthorised_minors(locked, today):
        raise RuleViolation(
            _(
                "Ordering needs the authorization of the Legal Responsible's legal representative, verified by our "
                "staff."
            ),
            rule="ORG-4",
        )
    return locked


def _ensure_accepted(
    *,
    organization: Organization,
    user: User,
    document: Any,
    accepted: DocumentVersion | None,
    today: dt.date,
    client_address: str | None,
    now: dt.datetime,
) -> None:
    """ORG-7: the version in force of the document must be accepted — already, or now in the order form."""
    if document is None:
        return
    current = account_selectors.current_version(document, today)
    if current is None or organization.acceptances.filter(version=current).exists():
        return
    if accepted is None or accepted.pk != current.pk:
        raise RuleViolation(
            _("Please accept the %(title)s in force (version %(label)s).")
            % {"title": document.title, "label": current.label},
            rule="ORG-7",
            status=400,
            field=f"accept_{document.kind}",
        )
    document_accept(organization=organization, version=current, user=user, client_address=client_address, now=now)


def _require_rate_card(plan: Plan, currency: str, today: dt.date) -> None:
    """USE-1: a usage plan is on sale in a currency when a rate card prices this month in it."""
    if not plan.is_active or not hooks.usage_plan_on_sale(plan, currency, today):
        raise RuleViolation(
            _("This plan is not available in %(currency)s.") % {"currency": currency}, rule="BIL-1", status=400
        )


def _price_line(plan: Plan, currency: str, today: dt.date) -> LineSpec:
    price = selectors.price_in_force(plan, currency, today)
    if price is None or not plan.is_active:
        raise RuleViolation(
            _("This plan is not available in %(currency)s.") % {"currency": currency}, rule="BIL-1", status=400
        )
    return LineSpec(
        description=f"{plan.service_type.name} · {plan.name} ({plan.get_period_display()})",
        unit_price_excl_vat=price.amount,
        period_start=today,
        period_end=term_end(today, plan.period, 1),
    )


def _documents(
    *,
    organization: Organization,
    user: User,
    plan: Plan,
    accept_tcu: DocumentVersion | None,
    accept_special_conditions: DocumentVersion | None,
    today: dt.date,
    client_address: str | None,
    now: dt.datetime,
) -> None:
    tcu = account_selectors.current_tcu(today)
    _ensure_accepted(
        organization=organization,
        user=user,
        document=tcu.document if tcu else None,
        accepted=accept_tcu,
        today=today,
        client_address=client_address,
        now=now,
    )
    _ensure_accepted(
        organization=organization,
        user=user,
        document=plan.service_type.special_conditions,
        accepted=accept_special_conditions,
        today=today,
        client_address=client_address,
        now=now,
    )


def service_order(
    *,
    organization: Organization,
    user: User,
    plan: Plan,
    accept_tcu: DocumentVersion | None = None,
    accept_special_conditions: DocumentVersion | None = None,
    client_address: str | None = None,
    now: dt.datetime,
) -> tuple[Service, Invoice]:
    """Order a plan: the Service waits for its order invoice to be paid in full (BIL-3). Auto-renewal is
    on unless the default means cannot be debited automatically (BIL-12). A usage plan has no order
    invoice: it is ordered with `usage_order` (`plan_order` picks the one that applies)."""
    if plan.usage_based:
        raise ValueError("a usage plan is ordered with usage_order")
    today = clock.business_date(now)
    actor = Actor.for_user(user, client_address=client_address)
    with transaction.atomic():
        locked = _lock_orderable_organization(organization, user, today)
        line = _price_line(plan, locked.currency, today)
        _documents(
            organization=locked,
            user=user,
            plan=plan,
            accept_tcu=accept_tcu,
            accept_special_conditions=accept_special_conditions,
            today=today,
            client_address=client_address,
            now=now,
        )
        service = Service.objects.create(
            organization=locked,
            plan=plan,
            currency=locked.currency,
            status=Service.Status.AWAITING_PAYMENT,
            auto_renew=selectors.default_auto_debit_means(locked) is not None,
            created_at=now,
        )
        audit_record(
            actor=actor,
            action="service.ordered",
            rule="BIL-3",
            obj=service,
            organization=locked,
            after={"plan": str(plan), "auto_renew": service.auto_renew},
            at=now,
        )
        invoice = invoice_issue(
            organization=locked,
            kind=Invoice.Kind.ORDER,
            service_type=plan.service_type,
            lines=[line],
            actor=actor,
            rule="BIL-3",
            now=now,
            service=service,
        )
    return service, invoice


def plan_order(
    *,
    organization: Organization,
    user: User,
    plan: Plan,
    accept_tcu: DocumentVersion | None = None,
    accept_special_conditions: DocumentVersion | None = None,
    client_address: str | None = None,
    now: dt.datetime,
) -> tuple[Service, Invoice | None]:
    """Order any plan (the order page and the API): `service_order`, or `usage_order` for a usage
    plan — which has no order invoice (None)."""
    if plan.usage_based:
        service = usage_order(
            organization=organization,
            user=user,
            plan=plan,
            accept_tcu=accept_tcu,
            accept_special_conditions=accept_special_conditions,
            client_address=client_address,
            now=now,
        )
        return service, None
    return service_order(
        organization=organization,
        user=user,
        plan=plan,
        accept_tcu=accept_tcu,
        accept_special_conditions=accept_special_conditions,
        client_address=client_address,
        now=now,
    )


def usage_order(
    *,
    organization: Organization,
    user: User,
    plan: Plan,
    accept_tcu: DocumentVersion | None = None,
    accept_special_conditions: DocumentVersion | None = None,
    client_address: str | None = None,
    now: dt.datetime,
) -> Service:
    """USE-1 (Decision): ordering a usage plan creates the Service at once, with no order invoice —
    nothing is due in advance; its usage is invoiced each month (USE-3). It starts as the type's trial
    (USE-8) when the Organization may have one (REN-7: no earlier Service of the type, nothing shared
    with another Organization that used it), else active at once. Needs nothing more than any order."""
    today = clock.business_date(now)
    actor = Actor.for_user(user, client_address=client_address)
    if not plan.usage_based:
        raise ValueError("a plan with prices is ordered with service_order")
    with transaction.atomic():
        locked = _lock_orderable_organization(organization, user, today)
        _require_rate_card(plan, locked.currency, today)
        _documents(
            organization=locked,
            user=user,
            plan=plan,
            accept_tcu=accept_tcu,
            accept_special_conditions=accept_special_conditions,
            today=today,
            client_address=client_address,
            now=now,
        )
        service_type = plan.service_type
        trial_days = service_type.trial_days
        trial = (
            trial_days is not None
            and not Service.objects.filter(organization=locked, plan__service_type=service_type).exists()
            and _trial_circumvention(locked, service_type) is None
        )
        service = Service.objects.create(
            organization=locked,
            plan=plan,
            currency=locked.currency,
            usage_based=True,
            status=Service.Status.TRIAL if trial else Service.Status.ACTIVE,
            trial_ends_on=today + dt.timedelta(days=trial_days) if trial and trial_days else None,
            activated_at=None if trial else now,  # MB-2: the activation e-mail's time
            auto_renew=selectors.default_auto_debit_means(locked) is not None,
            created_at=now,
        )
        audit_record(
            actor=actor,
            action="service.ordered",
            rule="USE-1",
            obj=service,
            organization=locked,
            after={"plan": str(plan), "status": service.status, "usage_based": True, "auto_renew": service.auto_renew},
            at=now,
        )
        notify(
            organization=locked,
            template="trial_started" if trial else "service_activated",
            context={"service": service},
            related=service,
            now=now,
        )
    return service


def _trial_circumvention(organization: Organization, service_type: Any) -> tuple[Organization, str] | None:
    """REN-7: another Organization that used this service type (trial or paid) and shares the contact
    e-mail, the mobile number or a card with this one."""
    others = Organization.objects.exclude(pk=organization.pk).filter(services__plan__service_type=service_type)
    checks = [
        ("contact e-mail", Q(contact_email__iexact=organization.contact_email)),
        ("mobile", Q(mobile=organization.mobile)),
    ]
    fingerprints = list(
        PaymentMeans.objects.filter(organization=organization)
        .exclude(card_fingerprint="")
        .values_list("card_fingerprint", flat=True)
    )
    if fingerprints:
        checks.append(("card", Q(means__card_fingerprint__in=fingerprints)))
    for matched_on, condition in checks:
        match = others.filter(condition).order_by("pk").first()
        if match is not None:
            return match, matched_on
    return None


def trial_start(
    *,
    organization: Organization,
    user: User,
    plan: Plan,
    accept_tcu: DocumentVersion | None = None,
    accept_special_conditions: DocumentVersion | None = None,
    client_address: str | None = None,
    now: dt.datetime,
) -> Service:
    """REN-7: one trial per Organization and service type, none once a paying user of the type, and
    none that looks like a way around that (then staff are told)."""
    today = clock.business_date(now)
    actor = Actor.for_user(user, client_address=client_address)
    service_type = plan.service_type
    if service_type.trial_days is None:
        raise RuleViolation(_("%(type)s has no trial.") % {"type": service_type.name}, rule="REN-7", status=400)
    with transaction.atomic():
        locked = _lock_orderable_organization(organization, user, today)
        of_type = Service.objects.filter(organization=locked, plan__service_type=service_type)
        if of_type.filter(anchor_date__isnull=False).exists():
            raise RuleViolation(
                _("A trial is not possible once you have paid for %(type)s.") % {"type": service_type.name},
                rule="REN-7",
            )
        if of_type.filter(trial_ends_on__isnull=False).exists():
            raise RuleViolation(
                _("Your organization has already had its trial of %(type)s.") % {"type": service_type.name},
                rule="REN-7",
            )
        suspect = _trial_circumvention(locked, service_type)
    if suspect is not None:
        _flag_trial(organization=organization, service_type=service_type, suspect=suspect, actor=actor, now=now)
        raise RuleViolation(
            _("A trial cannot be started for this organization. Our staff will review the request."), rule="REN-7"
        )
    with transaction.atomic():
        locked = _lock_orderable_organization(organization, user, today)
        if plan.usage_based:  # a trial leads to a plan sold in the currency
            _require_rate_card(plan, locked.currency, today)
        else:
            _price_line(plan, locked.currency, today)
        _documents(
            organization=locked,
            user=user,
            plan=plan,
            accept_tcu=accept_tcu,
            accept_special_conditions=accept_special_conditions,
            today=today,
            client_address=client_address,
            now=now,
        )
        service = Service.objects.create(
            organization=locked,
            plan=plan,
            currency=locked.currency,
            status=Service.Status.TRIAL,
            usage_based=plan.usage_based,
            trial_ends_on=today + dt.timedelta(days=service_type.trial_days),
            auto_renew=selectors.default_auto_debit_means(locked) is not None,
            created_at=now,
        )
        audit_record(
            actor=actor,
            action="service.trial_started",
            rule="REN-7",
            obj=service,
            organization=locked,
            after={"plan": str(plan), "trial_ends_on": str(service.trial_ends_on)},
            at=now,
        )
        notify(organization=locked, template="trial_started", context={"service": service}, related=service, now=now)
    return service


def _flag_trial(
    *, organization: Organization, service_type: Any, suspect: tuple[Organization, str], actor: Actor, now: dt.datetime
) -> None:
    matched, matched_on = suspect
    with transaction.atomic():
        flag = TrialFlag.objects.create(
            organization=organization,
            service_type=service_type,
            matched_organization=matched,
            matched_on=matched_on,
            created_at=now,
        )
        audit_record(
            actor=actor,
            action="trial.flagged",
            rule="REN-7",
            obj=flag,
            organization=organization,
            after={"matched_organization": matched.pk, "matched_on": matched_on},
            at=now,
        )


def trial_convert(*, service: Service, user: User, client_address: str | None = None, now: dt.datetime) -> Invoice:
    """REN-7: switch a trial to paid at any time: the order invoice is issued; once it is paid the trial
    ends and the first paid term starts that day."""
    today = clock.business_date(now)
    actor = Actor.for_user(user, client_address=client_address)
    with transaction.atomic():
        locked_org = _lock_orderable_organization(service.organization, user, today)
        locked = Service.objects.select_for_update().get(pk=service.pk, organization=locked_org)
        if locked.status != Service.Status.TRIAL:
            raise RuleViolation(_("Only a Service in trial can be switched to paid."), rule="REN-7")
        if locked.usage_based:
            raise RuleViolation(
                _("This trial becomes a paid Service by itself when it ends: nothing is paid in advance."),
                rule="USE-8",
            )
        # An order invoice, or the renewal invoice of the first paid term issued by the trial's
        # debit attempts (REN-6): paying that one switches the trial to paid as well.
        waiting = locked.invoices.filter(
            kind__in=(Invoice.Kind.ORDER, Invoice.Kind.RENEWAL), status=Invoice.Status.OPEN
        ).first()
        if waiting is not None:
            raise RuleViolation(
                _("Invoice %(number)s already waits for payment.") % {"number": waiting.display_number}, rule="REN-7"
            )
        line = _price_line(locked.plan, locked.currency, today)
        invoice = invoice_issue(
            organization=locked_org,
            kind=Invoice.Kind.ORDER,
            service_type=locked.plan.service_type,
            lines=[line],
            actor=actor,
            rule="REN-7",
            now=now,
            service=locked,
        )
        audit_record(
            actor=actor,
            action="service.trial_conversion_ordered",
            rule="REN-7",
            obj=locked,
            organization=locked_org,
            after={"invoice": invoice.number},
            at=now,
        )
    return invoice


@on_invoices_paid
def order_invoices_paid(
    *, invoices: list[Invoice], actor: Actor, now: dt.datetime, effects: Effects, services: dict[int, Service]
) -> None:
    """BIL-3: each order invoice paid in full starts its Service (orders are paid one at a time)."""
    for invoice in of_kind(invoices, Invoice.Kind.ORDER):
        service_activate(invoice=invoice, actor=actor, now=now)


def service_activate(*, invoice: Invoice, actor: Actor, now: dt.datetime) -> Service | None:
    """BIL-3: an order invoice paid in full starts its Service: the first term starts that day (the
    anchor, TIME-3), and the activation e-mail's time is kept as the money-back proof (MB-2)."""
    if invoice.kind != Invoice.Kind.ORDER or invoice.service_id is None:
        return None
    service = Service.objects.select_for_update(of=("self",)).select_related("plan").get(pk=invoice.service_id)
    if not service.can_become(Service.Status.ACTIVE) or service.status == Service.Status.SUSPENDED:
        return None  # a suspended Service is reactivated by the renewal run (issue 4), not by its order
    today = clock.business_date(now)
    before = {"status": service.status}
    service.status = Service.Status.ACTIVE
    service.anchor_date = today
    service.term = 1
    service.expires_on = term_end(today, service.plan.period, 1)
    service.activated_at = now
    service.save(update_fields=["status", "anchor_date", "term", "expires_on", "activated_at"])
    audit_record(
        actor=actor,
        action="service.activated",
        rule="BIL-3",
        obj=service,
        organization=invoice.organization,
        before=before,
        after={
            "status": "active",
            "anchor_date": today.isoformat(),
            "expires_on": service.expires_on.isoformat(),
            "invoice": invoice.number,
        },
        at=now,
    )
    notify(
        organization=invoice.organization,
        template="service_activated",
        context={"service": service},
        related=service,
        now=now,
    )
    return service


def trials_follow_default(*, organization: Any, means: PaymentMeans, actor: Actor, now: dt.datetime) -> list[Service]:
    """REN-6, BIL-12 (billing.hooks, when the default means allows automatic debit): the running
    trials that were started without one renew automatically — their debit attempts run from T - 14
    to T — unless the customer switched automatic renewal off themselves. The caller holds the
    Organization's lock (then the Services are locked, in id order). Returns the trials switched on."""
    today = clock.business_date(now)
    trials = list(
        Service.objects.select_for_update()
        .filter(
            organization=organization,
            status=Service.Status.TRIAL,
            auto_renew=False,
            auto_renew_off_by_customer=False,
            renewal_declined_at__isnull=True,
            trial_ends_on__gte=today,
        )
        .order_by("pk")
    )
    for trial in trials:
        trial.auto_renew = True
        trial.save(update_fields=["auto_renew"])
        audit_record(
            actor=actor,
            action="service.auto_renew_changed",
            rule="REN-6",
            obj=trial,
            organization=organization,
            before={"auto_renew": False},
            after={"auto_renew": True, "default_means": means.pk},
            at=now,
        )
    return trials


