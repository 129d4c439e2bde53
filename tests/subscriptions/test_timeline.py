"""subscriptions.timeline: a Service's coming events on the dates the daily jobs act, and its past events
from the audit trail and its debit attempts (Zurich dates, TIME-1), with exact dates for each case."""

import datetime as dt
from decimal import Decimal

import pytest

from audit.services import Actor, audit_record
from billing.models import Invoice
from subscriptions.models import RenewalAttempt, Service
from subscriptions.timeline import service_timeline
from tests.billing.factories import InvoiceFactory, PlanFactory, PriceFactory, ServiceFactory, service_type
from tests.factories import FIXED_TIME, UserFactory

pytestmark = pytest.mark.django_db

D = dt.date


def make(type_slug: str = "jelastic-cloud", period: str = "monthly", **fields: object) -> Service:
    plan = PlanFactory(service_type=service_type(type_slug), period=period)
    PriceFactory(plan=plan, amount=Decimal("10.00"), valid_from=D(2025, 1, 1))
    return ServiceFactory(plan=plan, **fields)


def coming(service: Service, today: dt.date) -> list[tuple[dt.date, str, str]]:
    return [(e.day, e.kind, e.rule) for e in service_timeline(service, today=today) if not e.past]


def test_auto_renewal_first_attempt_on_e_minus_14_daily_retries_then_suspension_and_termination() -> None:
    # given an active monthly Service expiring on 28 Feb 2026 (Jelastic: 14 grace days, no warranty)
    service = make()

    # when / then
    assert coming(service, D(2026, 2, 1)) == [
        (D(2026, 2, 14), "debit_attempt", "REN-1"),
        (D(2026, 2, 28), "debit_retries", "REN-2"),
        (D(2026, 2, 28), "suspension", "REN-3"),
        (D(2026, 3, 14), "termination", "REN-4"),
    ]
    labels = [e.label for e in service_timeline(service, today=D(2026, 2, 1))]
    assert labels[:2] == ["First debit attempt", "Last debit attempt"]


def test_after_todays_failed_attempt_the_next_is_tomorrow_and_the_failure_is_a_past_event() -> None:
    # given a declined attempt on 20 Feb for term 2
    service = make()
    RenewalAttempt.objects.create(
        service=service,
        term=2,
        day=D(2026, 2, 20),
        outcome=RenewalAttempt.Outcome.DECLINED,
        amount=Decimal("10.81"),
        reason="card declined",
        created_at=FIXED_TIME,
    )

    # when
    events = service_timeline(service, today=D(2026, 2, 20))

    # then
    assert [(e.day, e.kind, e.rule, e.past) for e in events] == [
        (D(2026, 2, 20), "debit_attempt", "REN-2", True),
        (D(2026, 2, 21), "debit_attempt", "REN-2", False),
        (D(2026, 2, 28), "debit_retries", "REN-2", False),
        (D(2026, 2, 28), "suspension", "REN-3", False),
        (D(2026, 3, 14), "termination", "REN-4", False),
    ]
    assert events[0].label == "Debit attempt: declined"
    assert events[0].detail == "Term 2 · CHF 10.81 · card declined"
    assert events[1].label == "Next debit attempt"


def test_on_e_after_the_last_attempt_only_suspension_and_termination_remain() -> None:
    service = make()
    RenewalAttempt.objects.create(
        service=service, term=2, day=D(2026, 2, 28), outcome="no_means", created_at=FIXED_TIME
    )

    assert coming(service, D(2026, 2, 28)) == [
        (D(2026, 2, 28), "suspension", "REN-3"),
        (D(2026, 3, 14), "termination", "REN-4"),
    ]


def test_a_forced_attempt_does_not_replace_the_days_own() -> None:
    service = make()
    RenewalAttempt.objects.create(
        service=service,
        term=2,
        day=D(2026, 2, 10),
        outcome="declined",
        forced_by=UserFactory(is_staff=True),
        created_at=FIXED_TIME,
    )

    events = service_timeline(service, today=D(2026, 2, 10))

    assert (events[0].day, events[0].past, events[0].detail) == (D(2026, 2, 10), True, "Term 2 · made by our staff")
    assert coming(service, D(2026, 2, 10))[0] == (D(2026, 2, 14), "debit_attempt", "REN-1")


def test_trial_with_auto_renewal_is_debited_from_t_minus_14_then_lapses_at_t() -> None:
    service = make(
        status=Service.Status.TRIAL,
        anchor_date=None,
        term=0,
        expires_on=None,
        activated_at=None,
        trial_ends_on=D(2026, 2, 4),
    )

    assert coming(service, D(2026, 1, 10)) == [
        (D(2026, 1, 21), "debit_attempt", "REN-6"),
        (D(2026, 2, 4), "debit_retries", "REN-2"),
        (D(2026, 2, 4), "suspension", "REN-6"),
        (D(2026, 2, 18), "termination", "REN-6"),
    ]


def test_trial_without_auto_renewal_only_lapses() -> None:
    service = make(
        status=Service.Status.TRIAL,
        anchor_date=None,
        term=0,
        expires_on=None,
        activated_at=None,
        trial_ends_on=D(2026, 2, 4),
        auto_renew=False,
    )

    assert coming(service, D(2026, 1, 10)) == [
        (D(2026, 2, 4), "suspension", "REN-6"),
        (D(2026, 2, 18), "termination", "REN-6"),
    ]


def test_renewal_warranty_monthly_renews_on_e_minus_2_and_works_until_e_plus_49() -> None:
    service = make("web-hosting", renewal_warranty=True)

    events = service_timeline(service, today=D(2026, 2, 1))

    assert [(e.day, e.kind, e.rule) for e in events] == [
        (D(2026, 2, 14), "debit_attempt", "REN-1"),
        (D(2026, 2, 26), "warranty_renewal", "RW-3"),
        (D(2026, 2, 28), "debit_retries", "REN-2"),
        (D(2026, 4, 18), "suspension", "RW-3"),
        (D(2026, 4, 29), "termination", "RW-3"),
    ]
    assert events[1].detail == "A renewal invoice is issued and the Service keeps working until 18 April 2026."


def test_renewal_warranty_annual_works_until_e_plus_220_then_30_days() -> None:
    service = make(
        "kdrive", period="annual", renewal_warranty=True, auto_renew=False, expires_on=D(2027, 1, 31)
    )
    InvoiceFactory(organization=service.organization, service=service, kind=Invoice.Kind.RENEWAL, term=2)

    assert coming(service, D(2027, 1, 28)) == [
        (D(2027, 1, 29), "warranty_renewal", "RW-3"),
        (D(2027, 1, 30), "renewal_reminder", "REN-5"),
        (D(2027, 9, 8), "suspension", "RW-3"),
        (D(2027, 10, 8), "termination", "RW-3"),
    ]


def test_warranty_on_an_ineligible_type_changes_nothing() -> None:
    service = make("jelastic-cloud", renewal_warranty=True)

    assert [kind for _day, kind, _rule in coming(service, D(2026, 2, 1))] == [
        "debit_attempt",
        "debit_retries",
        "suspension",
        "termination",
    ]


def test_manual_renewal_reminders_still_to_come_and_the_invoice_on_e_minus_14() -> None:
    service = make(auto_renew=False)

    assert coming(service, D(2026, 1, 29)) == [
        (D(2026, 1, 29), "renewal_reminder", "REN-5"),
        (D(2026, 2, 14), "renewal_invoice", "REN-5"),
        (D(2026, 2, 14), "renewal_reminder", "REN-5"),
        (D(2026, 2, 21), "renewal_reminder", "REN-5"),
        (D(2026, 2, 27), "renewal_reminder", "REN-5"),
        (D(2026, 2, 28), "suspension", "REN-3"),
        (D(2026, 3, 14), "termination", "REN-4"),
    ]
    assert coming(service, D(2026, 2, 22)) == [
        (D(2026, 2, 22), "renewal_invoice", "REN-5"),  # not issued yet: the next run issues it
        (D(2026, 2, 27), "renewal_reminder", "REN-5"),
        (D(2026, 2, 28), "suspension", "REN-3"),
        (D(2026, 3, 14), "termination", "REN-4"),
    ]


def test_manual_renewal_with_its_invoice_issued_shows_no_invoice_event() -> None:
    service = make(auto_renew=False)
    InvoiceFactory(organization=service.organization, service=service, kind=Invoice.Kind.RENEWAL, term=2)

    assert [kind for _day, kind, _rule in coming(service, D(2026, 2, 15))] == [
        "renewal_reminder",
        "renewal_reminder",
        "suspension",
        "termination",
    ]


def test_do_not_renew_ends_at_e() -> None:
    service = make(auto_renew=False, renewal_declined_at=FIXED_TIME)

    events = [e for e in service_timeline(service, today=D(2026, 2, 1)) if not e.past]

    assert [(e.day, e.kind, e.rule) for e in events] == [(D(2026, 2, 28), "end", "REN-5")]
    assert events[0].label == "Ends as you asked: terminated, its data deleted for good"


@pytest.mark.parametrize(
    ("reason", "rule"),
    [("unpaid", "REN-4"), ("trial_lapsed", "REN-6"), ("warranty_unpaid", "RW-3")],
)
def test_suspended_is_terminated_on_its_termination_date(reason: str, rule: str) -> None:
    service = make(
        status=Service.Status.SUSPENDED,
        suspension_reason=reason,
        suspended_at=FIXED_TIME,
        terminates_on=D(2026, 3, 14),
    )

    assert coming(service, D(2026, 3, 2)) == [(D(2026, 3, 14), "termination", rule)]


def test_suspended_by_staff_has_no_coming_event() -> None:
    service = make(status=Service.Status.SUSPENDED, suspension_reason="staff", suspended_at=FIXED_TIME)

    assert coming(service, D(2026, 3, 2)) == []


def test_warranty_running_is_suspended_on_warranty_until() -> None:
    # given: renewed by the provider on E - 2 for term 2 (E was 28 Feb), unpaid, manual renewal
    service = make("web-hosting", term=2, expires_on=D(2026, 3, 31), auto_renew=False, renewal_warranty=True)
    invoice = InvoiceFactory(organization=service.organization, service=service, kind=Invoice.Kind.RENEWAL, term=2)
    service.warranty_invoice = invoice
    service.warranty_until = D(2026, 4, 18)
    service.save()

    assert coming(service, D(2026, 3, 5)) == [
        (D(2026, 4, 18), "suspension", "RW-3"),
        (D(2026, 4, 29), "termination", "RW-3"),
    ]


def test_terminated_and_awaiting_payment_have_no_coming_event() -> None:
    terminated = make(status=Service.Status.TERMINATED, terminated_at=FIXED_TIME)
    awaiting = make(status=Service.Status.AWAITING_PAYMENT, anchor_date=None, expires_on=None, term=0)

    assert coming(terminated, D(2026, 2, 1)) == coming(awaiting, D(2026, 2, 1)) == []


def test_past_events_from_the_audit_trail_in_zurich_dates_without_staff_views(
    django_assert_num_queries,  # noqa: ANN001
) -> None:
    # given events recorded at 23:30 UTC on 31 Jan (00:30 on 1 Feb in Zurich) and later
    service = make()
    staff = UserFactory(is_staff=True)
    job = Actor.system("test")
    audit_record(
        actor=job,
        action="service.activated",
        rule="BIL-3",
        obj=service,
        after={"status": "active"},
        at=dt.datetime(2026, 1, 31, 23, 30, tzinfo=dt.UTC),
    )
    audit_record(
        actor=Actor.for_user(staff),
        action="staff.viewed",
        rule="EVD-2",
        obj=service,
        at=dt.datetime(2026, 2, 2, 9, 0, tzinfo=dt.UTC),
    )
    audit_record(
        actor=job,
        action="service.auto_renew_changed",
        rule="BIL-12",
        obj=service,
        before={"auto_renew": True},
        after={"auto_renew": False},
        at=dt.datetime(2026, 2, 3, 9, 0, tzinfo=dt.UTC),
    )
    other = make()
    audit_record(actor=job, action="service.suspended", rule="REN-3", obj=other, at=FIXED_TIME)
    loaded = Service.objects.select_related("plan__service_type").get(pk=service.pk)

    # when
    with django_assert_num_queries(2):  # the audit events and the attempts
        events = service_timeline(loaded, today=D(2026, 2, 5))

    # then
    past = [(e.day, e.kind, e.label, e.rule) for e in events if e.past]
    assert past == [
        (D(2026, 2, 1), "activated", "Activated", "BIL-3"),
        (D(2026, 2, 3), "auto_renew_changed", "Automatic renewal switched off", "BIL-12"),
    ]
    assert events[2:] == [e for e in events if not e.past]  # sorted by date: past ones first here
