"""The coming events of a usage Service's timeline (SPEC USE-3, USE-4, USE-8), worked out with the
dates the daily jobs select by (`usage.services.invoicing`, `subscriptions.services.usage_collection`):
the next month's invoice on the 1st, due 10 days later; for each open usage invoice, the daily
debit attempts up to its due date (automatic debit on), the suspension on that date if it is still
unpaid and the termination the type's grace days later. They say what happens *if nothing is paid
before*. Registered in subscriptions.hooks: `subscriptions.timeline` asks it for a usage Service."""

import datetime as dt

from django.utils import formats
from django.utils.translation import gettext as _

from billing.models import Invoice
from core import figures
from subscriptions.models import RenewalAttempt, Service
from subscriptions.timeline import DAY, TimelineEvent, coming_event, termination_event, termination_of_suspended
from usage.engine import month_of, next_month
from usage.services.invoicing import USAGE_PAYMENT_DAYS

Status = Service.Status


def usage_coming_events(service: Service, *, today: dt.date, attempts: list[RenewalAttempt]) -> list[TimelineEvent]:
    if service.status == Status.SUSPENDED:
        return termination_of_suspended(service)
    if service.status not in (Status.ACTIVE, Status.TRIAL):
        return []
    grace = dt.timedelta(days=service.plan.service_type.grace_days)
    events = []
    if service.status == Status.TRIAL and service.trial_ends_on is not None:
        events.append(
            coming_event(
                max(today, service.trial_ends_on),
                "trial_end",
                _("Trial ends: the Service goes on, billed by usage"),
                "USE-8",
                _(
                    "It needs a means of payment that allows automatic debit, or a Prepaid Account balance; "
                    "without either it is suspended that day. Usage during the trial is never invoiced."
                ),
            )
        )
    invoice_day = next_month(month_of(today))
    month = formats.date_format(month_of(today), "YEAR_MONTH_FORMAT")
    due = invoice_day + dt.timedelta(days=USAGE_PAYMENT_DAYS)
    events.append(
        coming_event(
            invoice_day,
            "usage_invoice",
            _("Usage invoice for %(month)s") % {"month": month},
            "USE-3",
            _("Due on %(due)s. Unpaid on that day, the Service is suspended; %(days)s days later, terminated.")
            % {"due": figures.day(due), "days": grace.days},
        )
    )
    open_invoices = Invoice.objects.filter(
        service=service, kind=Invoice.Kind.USAGE, status=Invoice.Status.OPEN
    ).order_by("due_date", "pk")
    for invoice in open_invoices:
        events += _collection(service, invoice, today=today, attempts=attempts, grace=grace)
    return events


def _collection(
    service: Service, invoice: Invoice, *, today: dt.date, attempts: list[RenewalAttempt], grace: dt.timedelta
) -> list[TimelineEvent]:
    """USE-4: attempts every day to the due date (automatic debit on), then the suspension and the
    termination if the invoice is still unpaid."""
    events = []
    number = invoice.display_number
    if service.auto_renew and service.status == Status.ACTIVE:
        made = {a.day for a in attempts if a.invoice_id == invoice.pk and a.forced_by_id is None}
        day = max(today, invoice.issue_date)
        while day in made and day <= invoice.due_date:
            day += DAY
        if day <= invoice.due_date:
            events.append(
                coming_event(
                    day,
                    "debit_attempt",
                    _("Next debit attempt of invoice %(number)s") % {"number": number},
                    "USE-4",
                    _("From your Prepaid Account first, the rest from your default card."),
                )
            )
        if day < invoice.due_date:
            events.append(
                coming_event(
                    invoice.due_date,
                    "debit_retries",
                    _("Last debit attempt of invoice %(number)s") % {"number": number},
                    "USE-4",
                    _("If an attempt fails, a new one is made every day until this day."),
                )
            )
    events.append(
        coming_event(
            max(today, invoice.due_date),
            "suspension",
            _("Suspended if invoice %(number)s is still unpaid") % {"number": number},
            "USE-4",
            _("The data is kept while suspended; paying the invoice makes the Service work again at once."),
        )
    )
    events.append(termination_event(max(today, invoice.due_date + grace), "USE-4"))
    return events
