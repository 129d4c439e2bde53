"""A Service's timeline: what happened to it and what the daily run will do to it, by date.

Coming events are worked out with the same dates and settings the daily jobs select by
(`subscriptions.jobs`, `subscriptions.services.renewals`, `subscriptions.services.lifecycle`): the first debit
attempt on E - 14 and daily retries up to E (REN-1, REN-2; T for a trial, REN-6), the Renewal
Warranty's renewal on E - 2 and its working period (RW-3), the manual-renewal invoice and reminders
(REN-5), suspension on E (REN-3) and termination after the grace days (REN-4), "do not renew"
ending at E. They say what happens *if nothing is paid before*: a payment moves E and with it every
coming date.

Past events come from the audit trail of the Service and its debit attempts: one query each.
"""

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from audit.models import AuditEvent
from billing.models import Invoice
from core import clock, figures
from subscriptions import hooks
from subscriptions.models import RenewalAttempt, Service
from subscriptions.services.renewal_invoices import due_date, open_renewal_invoices

Status = Service.Status
Reason = Service.SuspensionReason
Outcome = RenewalAttempt.Outcome
DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class TimelineEvent:
    day: dt.date
    kind: str
    label: str  # translated in the active language
    rule: str  # the SPEC rule that makes (or made) it happen
    past: bool
    detail: str = ""


def service_attempts(service: Service) -> list[RenewalAttempt]:
    """The Service's debit attempts, oldest first (the timeline's, and the Service page's table)."""
    return list(service.renewal_attempts.select_related("forced_by", "invoice").order_by("day", "pk"))


def service_timeline(
    service: Service, *, today: dt.date, attempts: list[RenewalAttempt] | None = None
) -> list[TimelineEvent]:
    """Past and coming events of `service` on `today` (a Zurich date, TIME-1), oldest first; on one
    day, what happened comes before what is still to come. `attempts`: service_attempts(service),
    when the caller has read them already."""
    if attempts is None:
        attempts = service_attempts(service)
    events = _past_events(service, attempts) + _coming_events(service, today=today, attempts=attempts)
    return sorted(events, key=lambda event: (event.day, not event.past))


# --- what happened -----------------------------------------------------------------------------

# The audit trail names a Service by its model's label: "billing.service" for the events recorded
# before the model moved to this app. The chain is sealed (EVD-1), so those are read, not rewritten.
SERVICE_OBJECT_TYPES = (Service._meta.label_lower, "billing.service")


def _past_events(service: Service, attempts: list[RenewalAttempt]) -> list[TimelineEvent]:
    events = [
        _audit_event(event)
        for event in AuditEvent.objects.filter(object_type__in=SERVICE_OBJECT_TYPES, object_id=str(service.pk))
        .exclude(action__startswith="staff.")  # staff looking at the record (EVD-2), not a change
        .order_by("id")
    ]
    events += [_attempt_event(attempt) for attempt in attempts]
    return events


def _audit_label(action: str, after: dict[str, Any]) -> str:
    if action == "service.auto_renew_changed":
        return _("Automatic renewal switched on") if after.get("auto_renew") else _("Automatic renewal switched off")
    if action == "service.warranty_changed":
        if after.get("renewal_warranty"):
            return _("Renewal Warranty switched on")
        return _("Renewal Warranty switched off")
    labels = {
        "service.ordered": _("Ordered"),
        "service.trial_started": _("Trial started"),
        "service.trial_ended": _("Trial ended: the Service goes on, billed by usage"),
        "service.trial_conversion_ordered": _("Switch to the paid version ordered"),
        "service.activated": pgettext("service event", "Activated"),
        "service.renewed": _("Renewed"),
        "service.reactivated": _("Reactivated"),
        "service.warranty_renewed": _("Renewed under the Renewal Warranty"),
        "service.suspended": _("Suspended"),
        "service.renewal_declined": _("Asked not to renew"),
        "service.renewal_resumed": _("Renewal resumed"),
        "service.terminated": _("Terminated"),
        "service.data_deleted": _("Data deleted"),
    }
    return labels.get(action, action)


def _audit_event(event: AuditEvent) -> TimelineEvent:
    after = event.after if isinstance(event.after, dict) else {}
    detail = ""
    if after.get("expires_on") and event.action in ("service.renewed", "service.reactivated"):
        detail = _("Paid until %(date)s.") % {"date": after["expires_on"]}
    elif after.get("terminates_on") and event.action == "service.suspended":
        detail = _("Terminated on %(date)s if still unpaid.") % {"date": after["terminates_on"]}
    elif after.get("warranty_until") and event.action == "service.warranty_renewed":
        detail = _("Works until %(date)s while the invoice is unpaid.") % {"date": after["warranty_until"]}
    elif after.get("reason"):
        detail = str(after["reason"])
    return TimelineEvent(
        day=clock.business_date(event.occurred_at),
        kind=event.action.removeprefix("service."),
        label=_audit_label(event.action, after),
        rule=event.rule,
        past=True,
        detail=detail,
    )


def _attempt_event(attempt: RenewalAttempt) -> TimelineEvent:
    if attempt.outcome in (Outcome.UNKNOWN, Outcome.AWAITING_LOOKUP, Outcome.RECONCILED):
        rule = "REN-8"
    elif attempt.outcome == Outcome.DECLINED:
        rule = "REN-2"
    else:
        rule = "REN-1"
    if attempt.term == 0 and attempt.invoice is not None:  # USE-4: a usage invoice's attempt
        rule = "USE-4" if rule != "REN-8" else rule
        parts = [_("Invoice %(number)s") % {"number": attempt.invoice.display_number}]
    else:
        parts = [_("Term %(term)s") % {"term": attempt.term}]
    if attempt.amount:
        parts.append(figures.amount(attempt.amount, attempt.service.currency))
    if attempt.reason:
        parts.append(_(attempt.reason))
    if attempt.forced_by_id:
        parts.append(_("made by our staff"))
    return TimelineEvent(
        day=attempt.day,
        kind="debit_attempt",
        label=_("Debit attempt: %(outcome)s") % {"outcome": attempt.get_outcome_display()},
        rule=rule,
        past=True,
        detail=" · ".join(parts),
    )


# --- what is coming ------------------------------------------------------------------------------


def coming_event(day: dt.date, kind: str, label: str, rule: str, detail: str = "") -> TimelineEvent:
    return TimelineEvent(day=day, kind=kind, label=label, rule=rule, past=False, detail=detail)


def _coming_events(service: Service, *, today: dt.date, attempts: list[RenewalAttempt]) -> list[TimelineEvent]:
    if service.usage_based:
        return hooks.usage_coming_events(service, today=today, attempts=attempts)  # usage.timeline
    if service.status == Status.SUSPENDED:
        return termination_of_suspended(service)
    if service.status not in (Status.ACTIVE, Status.TRIAL):
        return []
    due = due_date(service)
    if due is None:
        return []
    if service.status == Status.ACTIVE and service.renewal_declined_at is not None:
        return [
            coming_event(
                max(today, due),
                "end",
                _("Ends as you asked: terminated, its data deleted for good"),
                "REN-5",
                _("The data is deleted on termination and cannot be recovered."),
            )
        ]
    events = []
    warranty_running = (
        service.status == Status.ACTIVE and service.warranty_invoice_id is not None and service.warranty_until
    )
    if service.auto_renew and warranty_running:
        events += _warranty_debit_attempts(service, today=today, attempts=attempts)
    elif service.auto_renew:
        events += _debit_attempts(service, due=due, today=today, attempts=attempts)
    elif service.status == Status.ACTIVE and service.warranty_invoice_id is None:
        events += _manual_renewal(service, due=due, today=today)
    if warranty_running:
        return events + _warranty_running(service, today=today)
    if service.status == Status.ACTIVE and _warranty_protects(service):
        return events + _warranty_renewal(service, due=due, today=today)
    return events + _suspension_and_termination(service, due=due, today=today)


def _debit_attempts(
    service: Service,
    *,
    due: dt.date,
    today: dt.date,
    attempts: list[RenewalAttempt],
    term: int | None = None,
    until: dt.date | None = None,
) -> list[TimelineEvent]:
    """REN-1, REN-2, REN-6 (`renewals.debit_due`): one attempt a day from E - 14 (T - 14) to E (T),
    today's only if the daily run has not made it yet. `term`: the term they pay (the next one
    unless said); `until`: the last day the Service is still debited (RW-3: its warranty's end)."""
    first = due - dt.timedelta(days=settings.RENEWAL_FIRST_ATTEMPT_DAYS)
    term = service.term + 1 if term is None else term
    made = {a.day for a in attempts if a.term == term and a.forced_by_id is None}
    day = max(today, first)
    while day in made and day <= due:
        day += DAY
    if until is not None:
        due = min(due, until)
    if day > due:
        return []
    rule = "REN-6" if service.status == Status.TRIAL else ("REN-1" if day == first else "REN-2")
    label = _("First debit attempt") if day == first else _("Next debit attempt")
    events = [
        coming_event(
            day,
            "debit_attempt",
            label,
            rule,
            _("From your Prepaid Account first, the rest from your default card."),
        )
    ]
    if day < due:
        events.append(
            coming_event(
                due,
                "debit_retries",
                _("Last debit attempt"),
                "REN-2",
                _("If an attempt fails, a new one is made every day until this day."),
            )
        )
    return events


def _warranty_debit_attempts(
    service: Service, *, today: dt.date, attempts: list[RenewalAttempt]
) -> list[TimelineEvent]:
    """RW-3, REN-2 (`renewals.debit_due`): renewed under the Renewal Warranty, the warranty term's
    invoice is still debited every day up to its due date, the E it was renewed before; then the
    next term's attempts from its own E - 14, as long as the Service works (to its warranty's end:
    suspended after it, it is no longer debited)."""
    warranty = service.warranty_invoice
    assert warranty is not None
    events = []
    if warranty.status == Invoice.Status.OPEN and warranty.term is not None:
        events += _debit_attempts(service, due=warranty.due_date, today=today, attempts=attempts, term=warranty.term)
    if service.expires_on is not None:
        events += _debit_attempts(
            service, due=service.expires_on, today=today, attempts=attempts, until=service.warranty_until
        )
    return events


def _manual_renewal(service: Service, *, due: dt.date, today: dt.date) -> list[TimelineEvent]:
    """REN-5 (`lifecycle.reminders_run`): the renewal invoice on E - 14, reminders on the days of
    RENEWAL_REMINDER_DAYS before E."""
    events = []
    issued = (service.pk, service.term + 1) in open_renewal_invoices([service.pk])
    invoice_day = due - dt.timedelta(days=settings.RENEWAL_INVOICE_DAYS)
    if not issued and today < due:
        events.append(coming_event(max(today, invoice_day), "renewal_invoice", _("Renewal invoice issued"), "REN-5"))
    for days in sorted(settings.RENEWAL_REMINDER_DAYS, reverse=True):
        day = due - dt.timedelta(days=days)
        if today <= day:
            events.append(coming_event(day, "renewal_reminder", _("Renewal reminder"), "REN-5"))
    return events


def _warranty_protects(service: Service) -> bool:
    """RW-1, RW-3 (`warranty.warranty_due`): the option is on, on an eligible type, and no warranty
    renewal is unpaid."""
    return (
        service.renewal_warranty
        and service.plan.service_type.warranty_eligible
        and service.warranty_invoice_id is None
        and service.anchor_date is not None
    )


def _warranty_renewal(service: Service, *, due: dt.date, today: dt.date) -> list[TimelineEvent]:
    """RW-3: renewed by the provider on E - 2 if still unpaid; it works until E + 49 / E + 220 days,
    then is suspended, then terminated 11 / 30 days later."""
    if today >= due:
        return _suspension_and_termination(service, due=due, today=today)
    period = service.plan.period
    renew_on = max(today, due - dt.timedelta(days=settings.RENEWAL_WARRANTY_DAYS_BEFORE))
    works_until = due + dt.timedelta(days=settings.RENEWAL_WARRANTY_WORKING_DAYS[period])
    return [
        coming_event(
            renew_on,
            "warranty_renewal",
            _("Renewed under the Renewal Warranty if still unpaid"),
            "RW-3",
            _("A renewal invoice is issued and the Service keeps working until %(date)s.")
            % {"date": figures.day(works_until)},
        ),
        *_warranty_end(service, works_until),
    ]


def _warranty_running(service: Service, *, today: dt.date) -> list[TimelineEvent]:
    assert service.warranty_until is not None
    return _warranty_end(service, max(today, service.warranty_until))


def _warranty_end(service: Service, works_until: dt.date) -> list[TimelineEvent]:
    grace = settings.RENEWAL_WARRANTY_GRACE_DAYS[service.plan.period]
    return [
        coming_event(
            works_until,
            "suspension",
            _("Suspended if the Renewal Warranty invoice is still unpaid"),
            "RW-3",
            _("The data is kept while suspended."),
        ),
        termination_event(works_until + dt.timedelta(days=grace), "RW-3"),
    ]


def _suspension_and_termination(service: Service, *, due: dt.date, today: dt.date) -> list[TimelineEvent]:
    """REN-3, REN-4, REN-6 (`lifecycle.suspend_run`): suspended on E (T) if unpaid, terminated the
    service type's grace days after it."""
    trial = service.status == Status.TRIAL
    return [
        coming_event(
            max(today, due),
            "suspension",
            _("Trial ends: suspended unless paid") if trial else _("Suspended if still unpaid"),
            "REN-6" if trial else "REN-3",
            _("The data is kept while suspended."),
        ),
        termination_event(
            max(today, due + dt.timedelta(days=service.plan.service_type.grace_days)), "REN-6" if trial else "REN-4"
        ),
    ]


def termination_of_suspended(service: Service) -> list[TimelineEvent]:
    if service.terminates_on is None:  # suspended by staff: until they lift it (TCU 13.1)
        return []
    if service.usage_based and service.suspension_reason == Reason.UNPAID:
        rule = "USE-4"
    elif service.suspension_reason == Reason.WARRANTY_UNPAID:
        rule = "RW-3"
    elif service.suspension_reason == Reason.TRIAL_LAPSED:
        rule = "REN-6"
    else:
        rule = "REN-4"
    return [termination_event(service.terminates_on, rule)]


def termination_event(day: dt.date, rule: str) -> TimelineEvent:
    return coming_event(
        day,
        "termination",
        _("Terminated if still unpaid, its data deleted for good"),
        rule,
        _("The data is deleted on termination and cannot be recovered."),
    )
