"""SPEC SLA-1, SLA-2, SLA-3, SLA-7, SLA-8, SLA-9: incidents recorded (idempotent for the monitoring)
and told to the contact persons, maintenance notice in business hours, monthly availability,
force-majeure terminations."""

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.core import mail

from audit.models import AuditEvent
from core.clock import ZURICH
from core.errors import RuleViolation
from notifications.models import Notification
from sla import selectors, services
from sla.models import Incident
from subscriptions.models import MembershipServiceScope, Service
from tests.factories import UserFactory, member
from tests.sla.helpers import at, incident, maintenance, paid_service, schedule, snapshot, staff_user

pytestmark = pytest.mark.django_db

D = Decimal
START = at(2026, 3, 10, 8, 0)
NOW = at(2026, 3, 10, 9, 0)


@pytest.fixture(autouse=True)
def _schedule() -> None:
    schedule()


def record(user, *service_list: Service, **fields) -> tuple[Incident, bool]:  # noqa: ANN001
    values = {"incident_class": "A", "title": "Region down", "started_at": START} | fields
    return services.incident_record(user=user, service_ids=[s.pk for s in service_list], now=NOW, **values)


def emails_to(template: str) -> list[tuple[str, int]]:
    return sorted(Notification.objects.filter(template=template, channel="email").values_list("address", "related_id"))


# --- SLA-8: incidents and their notices --------------------------------------------------------


def test_sla8_an_incident_affects_many_services_and_their_contact_persons_are_told(
    django_capture_on_commit_callbacks,  # noqa: ANN001
) -> None:
    # given two Organizations' Services, with a technical contact, a billing member (no contact role)
    # and a technical member limited to another Service (ORG-6)
    legal = member(email="legal@one.example")
    tech = member("technical", legal.organization, email="tech@one.example")
    member("billing", legal.organization, email="billing@one.example")
    service, _ = paid_service(legal)
    elsewhere, _ = paid_service(legal)
    limited = member("technical", legal.organization, email="limited@one.example")
    MembershipServiceScope.objects.create(membership=limited, service=elsewhere)
    other_legal = member(email="legal@two.example")
    other, _ = paid_service(other_legal)
    # when staff record one incident affecting both Services
    with django_capture_on_commit_callbacks(execute=True):
        found, created = record(staff_user(), service, other, description="Storage failure in the region.")
    # then each contact person is e-mailed once about their own Service
    assert created is True
    assert set(found.services.all()) == {service, other}
    assert emails_to("sla_incident_detected") == sorted(
        [
            ("legal@one.example", str(service.pk)),
            ("tech@one.example", str(service.pk)),
            ("legal@two.example", str(other.pk)),
        ]
    )
    assert tech.user.email in {m.to[0] for m in mail.outbox}
    event = AuditEvent.objects.get(action="sla.incident_recorded")
    assert (event.rule, event.after["services"]) == ("SLA-8", sorted([service.pk, other.pk]))


def test_sla8_the_monitoring_records_once_by_its_external_id(django_capture_on_commit_callbacks) -> None:  # noqa: ANN001
    # given the monitoring system's account, holding the permission to record incidents
    monitoring = UserFactory(email="monitoring@provider.example")
    monitoring.user_permissions.add(Permission.objects.get(codename="add_incident"))
    service, _ = paid_service()
    # when it sends the same event twice
    with django_capture_on_commit_callbacks(execute=True):
        first, created = record(monitoring, service, external_id="mon-42")
    with django_capture_on_commit_callbacks(execute=True):
        second, again = record(monitoring, service, external_id="mon-42", title="Changed")
    # then one incident, told once
    assert (created, again, first.pk, second.title) == (True, False, second.pk, "Region down")
    assert Incident.objects.count() == 1
    assert len(emails_to("sla_incident_detected")) == 1
    # and the notice task delivered twice sends nothing more
    assert services.incident_notify(incident_id=first.pk, event="detected", now=NOW) == 0


def test_sla8_only_staff_and_the_monitoring_record_incidents() -> None:
    legal = member()
    service, _ = paid_service(legal)
    before = snapshot()
    with pytest.raises(RuleViolation) as refused:
        record(legal.user, service)
    assert (refused.value.rule, refused.value.status) == ("SLA-8", 403)
    assert snapshot() == before


@pytest.mark.parametrize(
    ("fields", "rule", "field"),
    [
        ({"started_at": NOW + dt.timedelta(minutes=1)}, "SLA-2", "started_at"),
        ({"resolved_at": START}, "SLA-2", "resolved_at"),
        ({"resolved_at": NOW + dt.timedelta(minutes=1)}, "SLA-2", "resolved_at"),
        ({"incident_class": "F"}, "SLA-2", "incident_class"),
        ({"cause": "bad luck"}, "SLA-6", "cause"),
        ({"title": " "}, "SLA-8", "title"),
    ],
)
def test_sla2_an_incident_is_refused_when_its_data_does_not_hold(fields: dict, rule: str, field: str) -> None:
    service, _ = paid_service()
    before = snapshot()
    with pytest.raises(RuleViolation) as refused:
        record(staff_user(), service, **fields)
    assert (refused.value.rule, refused.value.field) == (rule, field)
    assert snapshot() == before


def test_sla8_an_incident_names_services_that_exist() -> None:
    before = snapshot()
    for ids in ([], [999999]):
        with pytest.raises(RuleViolation) as refused:
            services.incident_record(
                user=staff_user(), incident_class="A", title="x", started_at=START, service_ids=ids, now=NOW
            )
        assert (refused.value.rule, refused.value.field) == ("SLA-8", "services")
    assert snapshot() == before


def test_sla2_sla5_resolving_tells_the_contacts_they_may_claim(django_capture_on_commit_callbacks) -> None:  # noqa: ANN001
    legal = member(email="legal@one.example")
    service, _ = paid_service(legal)
    found, _ = record(staff_user(), service)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.incident_resolve(
            incident=found, user=staff_user(), resolved_at=START + dt.timedelta(minutes=12), now=NOW
        )
    found.refresh_from_db()
    assert found.resolved_at == START + dt.timedelta(minutes=12)
    [message] = mail.outbox
    assert message.to == ["legal@one.example"]
    assert "you may claim the SLA penalty until 10 May 2026" in message.body
    assert "end the contract" not in message.body
    assert AuditEvent.objects.get(action="sla.incident_resolved").rule == "SLA-2"
    # resolving twice is refused, nothing changed
    before = snapshot()
    with pytest.raises(RuleViolation):
        services.incident_resolve(incident=found, user=staff_user(), resolved_at=NOW, now=NOW)
    assert snapshot() == before


def test_sla3_the_4th_class_a_occurrence_of_the_year_lets_the_customer_end_the_contract(
    django_capture_on_commit_callbacks,  # noqa: ANN001
) -> None:
    legal = member(email="legal@one.example")
    service, _ = paid_service(legal)
    for day in (1, 2, 3):
        incident(service, start=at(2026, 3, day, 8), minutes=6)
    found, _ = record(staff_user(), service)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.incident_resolve(
            incident=found, user=staff_user(), resolved_at=START + dt.timedelta(minutes=6), now=NOW
        )
    [message] = mail.outbox
    assert "This was occurrence 4 of a class-A unavailability this year: you may end the contract" in message.body


def test_sla6_an_incident_of_an_excluded_cause_offers_no_claim(django_capture_on_commit_callbacks) -> None:  # noqa: ANN001
    service, _ = paid_service(member(email="legal@one.example"))
    found, _ = record(staff_user(), service, cause="beyond_control")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.incident_resolve(incident=found, user=staff_user(), resolved_at=NOW, now=NOW)
    [message] = mail.outbox
    assert "claim" not in message.body
    assert selectors.claimable_incidents(service, now=NOW) == []


# --- SLA-7: maintenance ------------------------------------------------------------------------

FRIDAY_10 = dt.datetime(2026, 12, 4, 10, 0, tzinfo=ZURICH)


def schedule_maintenance(starts_at: dt.datetime, *service_list: Service, **fields) -> object:  # noqa: ANN001
    return services.maintenance_schedule(
        user=fields.pop("user", None) or staff_user(),
        title="Storage upgrade",
        starts_at=starts_at,
        ends_at=starts_at + dt.timedelta(hours=1),
        service_ids=[s.pk for s in service_list],
        now=FRIDAY_10,
        **fields,
    )


def test_sla7_a_planned_maintenance_needs_48_business_hours_of_notice(django_capture_on_commit_callbacks) -> None:  # noqa: ANN001
    service, _ = paid_service(member(email="legal@one.example"))
    before = snapshot()
    # announced on Friday 10:00 for Monday 10:00: 24 business hours, the weekend does not count
    with pytest.raises(RuleViolation) as refused:
        schedule_maintenance(FRIDAY_10 + dt.timedelta(days=3), service)
    assert (refused.value.rule, refused.value.field) == ("SLA-7", "starts_at")
    assert "this one would have 24.0" in refused.value.message
    assert snapshot() == before
    # for Tuesday 10:00: 48 business hours, announced to the contact persons
    with django_capture_on_commit_callbacks(execute=True):
        planned = schedule_maintenance(FRIDAY_10 + dt.timedelta(days=4), service)
    assert (planned.urgent, planned.announced_at, list(planned.services.all())) == (False, FRIDAY_10, [service])
    assert emails_to("sla_maintenance_announced") == [("legal@one.example", str(service.pk))]
    assert AuditEvent.objects.get(action="sla.maintenance_announced").rule == "SLA-7"


def test_sla7_a_shorter_notice_is_urgent_with_a_reason() -> None:
    service, _ = paid_service()
    soon = FRIDAY_10 + dt.timedelta(hours=2)
    before = snapshot()
    with pytest.raises(RuleViolation) as refused:
        schedule_maintenance(soon, service, urgent=True, urgent_reason=" ")
    assert refused.value.field == "urgent_reason"
    with pytest.raises(RuleViolation) as refused:
        schedule_maintenance(FRIDAY_10 - dt.timedelta(hours=1), service)
    assert refused.value.field == "starts_at"
    with pytest.raises(RuleViolation) as refused:
        schedule_maintenance(soon, service, user=member().user)
    assert refused.value.status == 403
    assert snapshot() == before
    urgent = schedule_maintenance(soon, service, urgent=True, urgent_reason="Security fix of the hypervisor")
    assert (urgent.urgent, urgent.urgent_reason) == (True, "Security fix of the hypervisor")


def test_sla7_a_window_planned_or_urgent_is_recorded_before_it_starts(django_capture_on_commit_callbacks) -> None:  # noqa: ANN001
    # given a Service whose outage started an hour ago
    service, _ = paid_service()
    before = snapshot()
    # when staff record an urgent window, with its reason, that started then (or a second ago)
    for started in (FRIDAY_10 - dt.timedelta(hours=1), FRIDAY_10 - dt.timedelta(seconds=1)):
        with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuleViolation) as refused:
            schedule_maintenance(started, service, urgent=True, urgent_reason="Security fix of the hypervisor")
        # then it is refused with SLA-7 and a clear message, and nothing is recorded or announced
        assert (refused.value.rule, refused.value.field, refused.value.status, refused.value.message) == (
            "SLA-7",
            "starts_at",
            400,
            "A maintenance window, planned or urgent, is recorded before it starts: this one has already started.",
        )
    assert snapshot() == before
    # and one starting as it is recorded is still an urgent window
    urgent = schedule_maintenance(FRIDAY_10, service, urgent=True, urgent_reason="Security fix of the hypervisor")
    assert (urgent.starts_at, urgent.announced_at, urgent.urgent) == (FRIDAY_10, FRIDAY_10, True)


def test_sla7_a_window_recorded_after_it_started_excludes_nothing() -> None:
    # given a 12-minute class-A failure and a window over it recorded only once it had started
    service, _ = paid_service()
    found = incident(service, start=at(2026, 3, 10, 8), minutes=12)
    maintenance(service, start=at(2026, 3, 10, 7, 55), minutes=30, urgent=True, announced=at(2026, 3, 10, 8, 20))
    now = at(2026, 3, 20, 8)
    # then the failure counts in full: an occurrence, claimable, and in the month's unavailability
    schedule_ = schedule()
    occurrence = selectors.occurrence_of(found, service, schedule=schedule_, now=now)
    assert occurrence is not None and occurrence.counted_seconds == 12 * 60
    assert [c.incident for c in selectors.claimable_incidents(service, now=now)] == [found]
    assert selectors.monthly_reports(service, now=now)[-1].unavailable_seconds == 12 * 60


# --- SLA-1: monthly availability ---------------------------------------------------------------


def test_sla1_monthly_availability_counts_class_a_failures_less_maintenance_and_exclusions() -> None:
    # given, on one Service, in March 2026 (Zurich: 2,674,800 s, the clocks go forward on the 29th)
    service, _ = paid_service()
    incident(service, start=at(2026, 3, 10, 8), minutes=3)
    incident(service, start=at(2026, 3, 10, 8, 2), minutes=3)  # overlaps the first by one minute
    incident(service, start=at(2026, 3, 12, 8), minutes=30)
    maintenance(service, start=at(2026, 3, 12, 8), minutes=28)  # 2 of those 30 minutes count
    incident(service, incident_class="B", start=at(2026, 3, 14, 8), minutes=90)  # a slowdown is not unavailability
    incident(service, start=at(2026, 3, 15, 8), minutes=90, cause="force_majeure")  # excluded (SLA-6)
    incident(service, start=at(2026, 3, 31, 21, 58), minutes=4)  # 2 minutes in March, 2 in April (Zurich)
    other, _ = paid_service()
    incident(other, start=at(2026, 3, 20, 8), minutes=600)  # another Service's failure
    # when the reports are read in mid-April
    reports = selectors.monthly_reports(service, now=at(2026, 4, 15, 8))
    # then
    assert [(r.year, r.month) for r in reports][-3:] == [(2026, 2), (2026, 3), (2026, 4)]
    assert len(reports) == 12
    march, april = reports[-2], reports[-1]
    assert (march.total_seconds, march.unavailable_seconds, march.unavailable_minutes) == (2674800, 540, D("9.00"))
    assert (march.availability, march.meets_commitment, march.limit_exceeded) == (D("99.980"), True, True)
    # the month in progress is measured from its start up to now (15 April, 10:00 in Zurich)
    assert (april.total_seconds, april.unavailable_seconds, april.availability, april.limit_exceeded) == (
        14 * 86400 + 10 * 3600,
        120,
        D("99.990"),
        False,
    )
    assert reports[-3].availability == D("100.000")


def test_sla1_the_monthly_limit_is_five_minutes() -> None:
    service, _ = paid_service()
    incident(service, start=at(2026, 3, 10, 8), seconds=300)
    assert selectors.monthly_reports(service, now=at(2026, 3, 20, 8))[-1].limit_exceeded is False
    incident(service, start=at(2026, 3, 11, 8), seconds=1)
    assert selectors.monthly_reports(service, now=at(2026, 3, 20, 8))[-1].limit_exceeded is True


def test_sla1_sla2_half_a_second_over_the_monthly_limit_exceeds_it() -> None:
    # given 5 min 0.5 s of class-A unavailability in March (compared exactly, SLA-2)
    service, _ = paid_service()
    incident(service, start=at(2026, 3, 10, 8), seconds=300.5)
    # then the month's report says the limit of 5 minutes was exceeded
    report = selectors.monthly_reports(service, now=at(2026, 3, 20, 8))[-1]
    assert (report.unavailable_seconds, report.unavailable_minutes, report.limit_exceeded) == (
        D("300.5"),
        D("5.01"),
        True,
    )


def test_sla1_an_open_incident_counts_until_now_and_the_reports_cost_three_queries(django_assert_num_queries) -> None:  # noqa: ANN001
    service, _ = paid_service()
    incident(service, start=at(2026, 3, 10, 8))
    for day in range(1, 9):
        incident(service, start=at(2026, 2, day, 8), minutes=1)
    with django_assert_num_queries(3):
        reports = selectors.monthly_reports(service, now=at(2026, 3, 10, 9))
    assert reports[-1].unavailable_seconds == 3600
    assert reports[-2].unavailable_seconds == 8 * 60


# --- SLA-9: force majeure ----------------------------------------------------------------------


def test_sla9_during_force_majeure_the_customer_may_terminate_at_once() -> None:
    legal = member()
    service, _ = paid_service(legal)
    tech = member("technical", legal.organization)
    provider_failure = incident(service, start=START)
    flood = incident(service, start=START, cause="force_majeure")
    before = snapshot()
    refusals = [
        ({"incident": provider_failure, "user": legal.user, "confirmed": True}, "SLA-9"),
        ({"incident": flood, "user": legal.user, "confirmed": False}, "SC 8.3"),
        ({"incident": flood, "user": tech.user, "confirmed": True}, "ORG-5"),
        ({"incident": flood, "user": member().user, "confirmed": True}, "ORG-6"),
    ]
    for kwargs, rule in refusals:
        with pytest.raises(RuleViolation) as refused:
            services.service_terminate_force_majeure(service=service, now=NOW, **kwargs)
        assert refused.value.rule == rule
    assert snapshot() == before
    # when a Legal Responsible confirms
    services.service_terminate_force_majeure(service=service, incident=flood, user=legal.user, confirmed=True, now=NOW)
    # then the Service is terminated at once under SLA-9, its data deleted (SC 8.3)
    service.refresh_from_db()
    assert (service.status, service.terminated_at, service.data_deleted_at) == ("terminated", NOW, NOW)
    assert AuditEvent.objects.get(action="service.terminated").rule == "SLA-9"


def test_sla9_the_provider_may_terminate_after_30_days_of_force_majeure() -> None:
    service, _ = paid_service()
    flood = incident(service, start=START, cause="force_majeure")
    staff = staff_user()
    before = snapshot()
    with pytest.raises(RuleViolation) as refused:
        services.staff_terminate_force_majeure(
            service=service,
            incident=flood,
            staff_user=staff,
            reason="Data centre flooded",
            now=START + dt.timedelta(days=29, hours=23),
        )
    assert refused.value.message == "The provider may terminate only after 30 days of force majeure."
    assert snapshot() == before
    services.staff_terminate_force_majeure(
        service=service,
        incident=flood,
        staff_user=staff,
        reason="Data centre flooded",
        now=START + dt.timedelta(days=30),
    )
    service.refresh_from_db()
    assert (service.status, service.termination_reason) == ("terminated", "Data centre flooded")


# --- SLA-5: what the portal offers to claim ------------------------------------------------------


def test_sla5_claimable_incidents_are_resolved_occurrences_within_the_deadline_not_yet_claimed() -> None:
    from tests.sla.helpers import claim_ticket

    service, _ = paid_service()
    claimable = incident(service, start=at(2026, 3, 10, 8), minutes=12)
    incident(service, start=at(2026, 3, 11, 8), minutes=4)  # within the class-A allowance
    incident(service, start=at(2026, 3, 12, 8))  # still open
    incident(service, start=at(2026, 3, 13, 8), minutes=30, cause="tcu_block")  # excluded (SLA-6)
    incident(service, start=at(2026, 1, 5, 8), minutes=30)  # its deadline (5 March) has passed
    masked = incident(service, start=at(2026, 3, 14, 8), minutes=20)
    maintenance(service, start=at(2026, 3, 14, 8), minutes=18)  # 2 minutes left: no occurrence
    other, _ = paid_service()
    incident(other, start=at(2026, 3, 10, 8), minutes=30)  # another Service's
    now = at(2026, 3, 20, 8)

    found = selectors.claimable_incidents(service, now=now)

    assert [(c.incident, c.last_day) for c in found] == [(claimable, dt.date(2026, 5, 10))]
    assert masked not in [c.incident for c in found]
    # once a claim covers its time it is no longer offered
    claim_ticket(service, start=at(2026, 3, 10, 8), end=at(2026, 3, 10, 8, 12), filed=now)
    assert selectors.claimable_incidents(service, now=now) == []


def test_sla8_notices_whose_task_was_lost_are_sent_by_the_daily_run_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from sla import tasks
    from sla.jobs import tell_untold

    # given an incident and a maintenance window recorded while the broker was down
    monkeypatch.setattr(tasks, "queue", lambda *args: None)
    service, _ = paid_service(member(email="legal@one.example"))
    found, _ = record(staff_user(), service, resolved_at=START + dt.timedelta(minutes=12))
    services.maintenance_schedule(
        user=staff_user(),
        title="Storage upgrade",
        starts_at=NOW + dt.timedelta(hours=1),
        ends_at=NOW + dt.timedelta(hours=2),
        service_ids=[service.pk],
        urgent=True,
        urgent_reason="Security fix",
        now=NOW,
    )
    assert Notification.objects.count() == 0
    # when the daily run tells what is untold, twice
    assert tell_untold(day=dt.date(2026, 3, 11), now=NOW) == 3
    assert tell_untold(day=dt.date(2026, 3, 11), now=NOW) == 0
    # then each contact person was told once of each
    assert sorted(Notification.objects.values_list("template", flat=True)) == [
        "sla_incident_detected",
        "sla_incident_resolved",
        "sla_maintenance_announced",
    ]
    found.refresh_from_db()
    assert (found.detected_notified_at, found.resolved_notified_at) == (NOW, NOW)
