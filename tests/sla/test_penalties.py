"""SPEC SLA-2, SLA-3, SLA-4, SLA-5, SLA-6, SLA-7: the penalty schedule reproduced through claims that
staff accept — allowances, A2 minutes, occurrences in the Zurich calendar year, B–E counted together,
maintenance and excluded causes, the 50 % cap on one invoice, the two-month deadline."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit.models import AuditEvent
from core.errors import RuleViolation
from sla import selectors, services
from sla.models import Claim, Penalty
from subscriptions.models import Service
from support.models import Message, Ticket
from tests.factories import member
from tests.sla.helpers import at, claim_ticket, incident, maintenance, paid_service, schedule, snapshot, staff_user

pytestmark = pytest.mark.django_db

D = Decimal
START = at(2026, 3, 10, 8, 0)
FILED = at(2026, 3, 20, 8, 0)
DECIDED = at(2026, 3, 21, 8, 0)


@pytest.fixture(autouse=True)
def _schedule() -> None:
    schedule()


def accept(service, found, *, filed=FILED, decided=DECIDED) -> Penalty:  # noqa: ANN001
    assert found.resolved_at is not None
    claim = claim_ticket(service, start=found.started_at, end=found.resolved_at, filed=filed)
    return services.claim_accept(claim=claim, incident=found, staff_user=staff_user(), now=decided)


def refused_accept(rule: str, service, found, **kwargs) -> RuleViolation:  # noqa: ANN001
    assert found.resolved_at is not None
    claim = claim_ticket(service, start=found.started_at, end=found.resolved_at, filed=kwargs.pop("filed", FILED))
    before = snapshot()
    with pytest.raises(RuleViolation) as refused:
        services.claim_accept(claim=claim, incident=found, staff_user=staff_user(), now=DECIDED)
    assert refused.value.rule == rule
    assert snapshot() == before
    assert Claim.objects.get(pk=claim.pk).status == "pending"
    assert Penalty.objects.count() == 0
    return refused.value


# --- SLA-2: allowances -------------------------------------------------------------------------


@pytest.mark.parametrize(("cls", "seconds"), [("A", 300), ("B", 3600), ("C", 3600), ("D", 7200), ("E", 7200)])
def test_sla2_an_incident_within_its_allowance_is_no_occurrence(cls: str, seconds: int) -> None:
    # given an incident that lasted exactly its class's allowance
    service, _invoice = paid_service()
    found = incident(service, incident_class=cls, start=START, seconds=seconds)
    # then accepting its claim is refused: no occurrence, no penalty
    refused_accept("SLA-2", service, found)


@pytest.mark.parametrize(
    ("cls", "seconds", "percent", "amount"),
    [
        ("A", 301, "10.00", "10.81"),  # 5 min 1 s: 1st class-A occurrence, no complete further minute
        ("A", 360, "11.00", "11.89"),  # one A2 minute
        ("A", 12 * 60, "17.00", "18.38"),  # seven A2 minutes
        ("B", 3601, "0.00", "0.00"),  # the 1st B–E occurrence earns nothing
        ("C", 3601, "0.00", "0.00"),
        ("D", 7201, "0.00", "0.00"),
        ("E", 7201, "0.00", "0.00"),
    ],
)
def test_sla2_sla3_one_second_over_the_allowance_is_an_occurrence(
    cls: str, seconds: int, percent: str, amount: str
) -> None:
    # given a Service whose invoice of CHF 108.10 covers March, and an incident one second or more over
    service, invoice = paid_service()
    found = incident(service, incident_class=cls, start=START, seconds=seconds)
    # when staff accept the claim
    penalty = accept(service, found)
    # then
    assert (penalty.occurrence, penalty.percent, penalty.amount, penalty.invoice) == (1, D(percent), D(amount), invoice)
    assert penalty.counted_seconds == seconds
    assert penalty.base_amount == D("108.10")


def test_sla2_five_minutes_and_half_a_second_of_class_a_is_an_occurrence_claimable_and_accepted() -> None:
    # given a class-A failure of 5 min 0.5 s (the durations are compared exactly, not cut to seconds)
    service, invoice = paid_service()
    found = incident(service, start=START, seconds=300.5)
    # then the portal offers it to claim
    assert [c.incident for c in selectors.claimable_incidents(service, now=FILED)] == [found]
    # and staff accept the claim: the 1st class-A occurrence, 10 % and no complete A2 minute
    penalty = accept(service, found)
    assert (penalty.occurrence, penalty.a2_minutes, penalty.percent, penalty.amount, penalty.invoice) == (
        1,
        0,
        D("10.00"),
        D("10.81"),
        invoice,
    )
    penalty.refresh_from_db()
    assert penalty.counted_seconds == D("300.5")


# --- SLA-3: occurrences in the year ------------------------------------------------------------


def test_sla3_class_a_occurrences_rank_10_20_30_50_and_the_4th_lets_the_customer_end() -> None:
    # given four class-A failures of 5 min 1 s in 2026 on one Service, each covered by its own invoice
    legal = member()
    service, _ = paid_service(
        legal,
        period_start=dt.date(2026, 1, 1),
        period_end=dt.date(2027, 1, 1),
        total=D("1000.00"),
        plan__period="annual",
    )
    starts = [at(2026, 2, 1, 8), at(2026, 3, 1, 8), at(2026, 4, 1, 8), at(2026, 5, 1, 8)]
    found = [incident(service, start=s, seconds=301) for s in starts]
    # a class-A incident within its allowance does not count as an occurrence
    incident(service, start=at(2026, 2, 15, 8), seconds=300)
    # when the claims are accepted (cap aside: each penalty lands on the yearly invoice)
    ranks = []
    for item in found:
        penalty = accept(
            service, item, filed=item.started_at + dt.timedelta(days=1), decided=item.started_at + dt.timedelta(days=2)
        )
        ranks.append((penalty.occurrence, penalty.percent, penalty.computed_amount, penalty.amount))
    # then: 10, 20, 30, 50 % — the last capped by what the first three already took (500 - 600 < 0)
    assert ranks == [
        (1, D("10.00"), D("100.00"), D("100.00")),
        (2, D("20.00"), D("200.00"), D("200.00")),
        (3, D("30.00"), D("300.00"), D("200.00")),
        (4, D("50.00"), D("500.00"), D("0.00")),
    ]


def test_sla3_occurrences_are_counted_in_the_zurich_calendar_year() -> None:
    # given a class-A occurrence at 23:30 UTC on 31 December 2026 — already 1 January 2027 in Zurich —
    service, _ = paid_service(period_start=dt.date(2026, 12, 1), period_end=dt.date(2027, 2, 1))
    incident(service, start=at(2026, 12, 10, 8), seconds=301)  # 1st of 2026
    new_year = incident(service, start=at(2026, 12, 31, 23, 30), seconds=301)
    # when its claim is accepted
    penalty = accept(service, new_year, filed=at(2027, 1, 5, 8), decided=at(2027, 1, 6, 8))
    # then it is the 1st occurrence of 2027, not the 2nd of 2026
    assert (penalty.occurrence, penalty.step_percent) == (1, D("10.00"))


def test_sla3_the_year_before_does_not_count() -> None:
    service, _ = paid_service(period_start=dt.date(2026, 12, 1), period_end=dt.date(2027, 2, 1))
    incident(service, start=at(2026, 12, 31, 22, 30), seconds=301)  # 23:30 in Zurich: still 2026
    second = incident(service, start=at(2026, 12, 31, 22, 50), seconds=301)
    penalty = accept(service, second, filed=at(2027, 1, 5, 8), decided=at(2027, 1, 6, 8))
    assert (penalty.occurrence, penalty.step_percent) == (2, D("20.00"))


def test_sla3_classes_b_to_e_are_counted_together() -> None:
    # given one occurrence each of B, C, D and E in the same year
    service, _ = paid_service(
        period_start=dt.date(2026, 1, 1), period_end=dt.date(2027, 1, 1), total=D("1000.00"), plan__period="annual"
    )
    made = [
        incident(service, incident_class="B", start=at(2026, 2, 1, 8), seconds=3601),
        incident(service, incident_class="C", start=at(2026, 3, 1, 8), seconds=3601),
        incident(service, incident_class="D", start=at(2026, 4, 1, 8), seconds=7201),
        incident(service, incident_class="E", start=at(2026, 5, 1, 8), seconds=7201),
    ]
    # a class-A occurrence does not count with them
    incident(service, incident_class="A", start=at(2026, 2, 10, 8), seconds=400)
    # when their claims are accepted
    results = [
        (p.occurrence, p.percent, p.amount)
        for p in (
            accept(service, m, filed=m.started_at + dt.timedelta(days=1), decided=m.started_at + dt.timedelta(days=2))
            for m in made
        )
    ]
    # then the 1st earns nothing, the 2nd and 3rd 5 %, the 4th 10 %
    assert results == [
        (1, D("0.00"), D("0.00")),
        (2, D("5.00"), D("50.00")),
        (3, D("5.00"), D("50.00")),
        (4, D("10.00"), D("100.00")),
    ]


# --- SLA-7 and SLA-6: maintenance and excluded causes -------------------------------------------


def test_sla7_maintenance_time_is_not_counted() -> None:
    # given a 20-minute failure of which 16 minutes fell in a maintenance window of the Service
    service, _ = paid_service()
    found = incident(service, start=START, minutes=20)
    maintenance(service, start=START - dt.timedelta(minutes=10), minutes=26)
    # then the 4 minutes left are within the class-A allowance
    refused_accept("SLA-2", service, found)


def test_sla7_maintenance_lowers_the_a2_minutes() -> None:
    service, _ = paid_service()
    found = incident(service, start=START, minutes=20)
    maintenance(service, start=START + dt.timedelta(minutes=15), minutes=60)  # the last 5 minutes
    penalty = accept(service, found)
    assert (penalty.counted_seconds, penalty.a2_minutes, penalty.percent) == (900, 10, D("20.00"))


def test_sla7_another_services_maintenance_does_not_count() -> None:
    service, _ = paid_service()
    other, _ = paid_service()
    found = incident(service, other, start=START, minutes=20)
    maintenance(other, start=START, minutes=20)
    assert accept(service, found).counted_seconds == 1200


@pytest.mark.parametrize(
    "cause", ["beyond_control", "customer_misuse", "planned_maintenance", "tcu_block", "force_majeure"]
)
def test_sla6_excluded_causes_earn_no_penalty(cause: str) -> None:
    service, _ = paid_service()
    found = incident(service, start=START, minutes=30, cause=cause)
    refused_accept("SLA-6", service, found)


def test_sla6_incidents_of_excluded_causes_are_no_occurrences() -> None:
    service, _ = paid_service()
    incident(service, start=at(2026, 3, 2, 8), minutes=30, cause="force_majeure")
    found = incident(service, start=START, seconds=301)
    assert accept(service, found).occurrence == 1


# --- SLA-4: the cap on one invoice --------------------------------------------------------------


def test_sla4_penalties_on_one_invoice_never_exceed_half_of_it() -> None:
    # given three class-A occurrences in March, all on the March invoice of CHF 108.10
    service, invoice = paid_service()
    first = incident(service, start=at(2026, 3, 2, 8), minutes=20)  # 10 % + 15 % = 25 % → 27.03
    second = incident(service, start=at(2026, 3, 3, 8), minutes=20)  # 20 % + 15 % = 35 % → 37.84, capped to 27.02
    third = incident(service, start=at(2026, 3, 4, 8), seconds=301)  # 30 % → nothing left
    # when staff accept the three claims
    amounts = [(p.computed_amount, p.amount, p.capped) for p in (accept(service, i) for i in (first, second, third))]
    # then the total is half of the invoice: 54.05
    assert amounts == [(D("27.03"), D("27.03"), False), (D("37.84"), D("27.02"), True), (D("32.43"), D("0.00"), True)]
    assert sum(p.amount for p in Penalty.objects.filter(invoice=invoice)) == D("54.05")
    capped = AuditEvent.objects.filter(action="sla.claim_accepted").order_by("id")
    assert [e.rule for e in capped] == ["SLA-3", "SLA-4", "SLA-4"]


def test_sla3_the_invoice_covering_the_start_day_is_the_base_less_its_credit_notes() -> None:
    legal = member()
    service, march = paid_service(legal)
    from tests.billing.factories import InvoiceFactory

    april = InvoiceFactory(
        organization=legal.organization,
        service=service,
        kind="renewal",
        term=2,
        status="paid",
        total_excl_vat=D("185.00"),
        total_vat=D("15.00"),
        total_incl_vat=D("200.00"),
        amount_paid=D("180.00"),
        amount_credited=D("20.00"),
        line__period_start=dt.date(2026, 4, 1),
        line__period_end=dt.date(2026, 5, 1),
    )
    # 1 April 00:30 in Zurich is still 31 March 22:30 UTC: the April invoice covers it
    found = incident(service, start=at(2026, 3, 31, 22, 30), seconds=301)
    penalty = accept(service, found, filed=at(2026, 4, 2, 8), decided=at(2026, 4, 3, 8))
    assert (penalty.invoice, penalty.base_amount, penalty.amount) == (april, D("180.00"), D("18.00"))
    assert march.sla_penalties.count() == 0


def test_sla3_no_invoice_covers_a_trial_nothing_is_owed() -> None:
    service, _ = paid_service(period_start=dt.date(2026, 5, 1), period_end=dt.date(2026, 6, 1))
    found = incident(service, start=START, minutes=10)
    penalty = accept(service, found)
    assert (penalty.invoice, penalty.amount, penalty.percent) == (None, D("0.00"), D("15.00"))
    assert "no invoice covers" in Message.objects.filter(from_staff=True).get().body


# --- SLA-5: claims and their deadline -----------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "last_ok", "first_late"),
    [
        (at(2026, 3, 10, 8), at(2026, 5, 10, 21), at(2026, 5, 10, 22)),  # 23:59 / 00:00 in Zurich (summer)
        (at(2025, 12, 31, 10), at(2026, 2, 28, 22), at(2026, 2, 28, 23)),  # 31 December → 28 February
        (at(2026, 3, 31, 10), at(2026, 5, 31, 21), at(2026, 5, 31, 22)),  # 31 March → 31 May
        (at(2026, 12, 31, 23, 30), at(2027, 3, 1, 22), at(2027, 3, 1, 23)),  # 1 January 2027 in Zurich → 1 March
    ],
)
def test_sla5_a_claim_is_filed_within_two_calendar_months_of_the_start(
    start: dt.datetime, last_ok: dt.datetime, first_late: dt.datetime
) -> None:
    service, _ = paid_service()
    end = start + dt.timedelta(minutes=10)
    # when filed on the last day, it is recorded, pending
    claim = claim_ticket(service, start=start, end=end, filed=last_ok)
    assert (claim.status, claim.claimed_start, claim.filed_at) == ("pending", start, last_ok)
    assert AuditEvent.objects.filter(action="sla.claim_filed", rule="SLA-5").count() == 1
    # when filed the day after, it is refused and no ticket, claim, message or e-mail is left
    before = snapshot()
    with pytest.raises(RuleViolation) as refused:
        claim_ticket(service, start=start, end=end, filed=first_late)
    assert refused.value.rule == "SLA-5"
    assert snapshot() == before


def test_sla5_acceptance_checks_the_deadline_on_the_incidents_own_start() -> None:
    # given a claim whose claimed start is recent but which names an incident started long before
    service, _ = paid_service()
    old = incident(service, start=at(2026, 1, 5, 8), minutes=10)
    claim = claim_ticket(service, start=at(2026, 3, 9, 8), end=at(2026, 3, 9, 9), filed=FILED)
    before = snapshot()
    with pytest.raises(RuleViolation) as refused:
        services.claim_accept(claim=claim, incident=old, staff_user=staff_user(), now=DECIDED)
    assert refused.value.rule == "SLA-5"
    assert snapshot() == before
    assert Claim.objects.get(pk=claim.pk).status == "pending"


def test_sla5_accepting_names_a_resolved_incident_of_the_claims_service_once() -> None:
    service, _ = paid_service()
    other, _ = paid_service()
    elsewhere = incident(other, start=START, minutes=10)
    ongoing = incident(service, start=START)
    claim = claim_ticket(service, start=START, end=START + dt.timedelta(minutes=10), filed=FILED)
    staff = staff_user()
    before = snapshot()
    for wrong, rule in ((elsewhere, "SLA-8"), (ongoing, "SLA-2")):
        with pytest.raises(RuleViolation) as refused:
            services.claim_accept(claim=claim, incident=wrong, staff_user=staff, now=DECIDED)
        assert refused.value.rule == rule
    assert snapshot() == before
    # a second claim for an incident already accepted for this Service is refused (SLA-4: earned once)
    done = incident(service, start=START, minutes=10)
    accept(service, done)
    again = claim_ticket(service, start=START, end=START + dt.timedelta(minutes=10), filed=FILED)
    before = snapshot()
    with pytest.raises(RuleViolation) as refused:
        services.claim_accept(claim=again, incident=done, staff_user=staff, now=DECIDED)
    assert refused.value.rule == "SLA-4"
    assert snapshot() == before
    assert Penalty.objects.count() == 1


def test_sla5_only_staff_decide_and_a_decided_claim_stays_decided() -> None:
    service, _ = paid_service()
    found = incident(service, start=START, minutes=10)
    claim = claim_ticket(service, start=START, end=START + dt.timedelta(minutes=10), filed=FILED)
    customer = claim.ticket.opened_by
    before = snapshot()
    with pytest.raises(RuleViolation) as refused:
        services.claim_accept(claim=claim, incident=found, staff_user=customer, now=DECIDED)
    assert (refused.value.rule, refused.value.status) == ("SLA-5", 403)
    with pytest.raises(RuleViolation):
        services.claim_refuse(claim=claim, staff_user=customer, reason="No", now=DECIDED)
    assert snapshot() == before
    services.claim_refuse(
        claim=claim, staff_user=staff_user(), reason="Not our failure", cause="customer_misuse", now=DECIDED
    )
    staff = staff_user()
    before = snapshot()
    with pytest.raises(RuleViolation) as refused:
        services.claim_accept(claim=claim, incident=found, staff_user=staff, now=DECIDED)
    assert (refused.value.rule, refused.value.message) == ("SLA-5", "This claim is already decided.")
    assert snapshot() == before


def test_sla5_a_refusal_needs_a_reason_and_is_posted_on_the_ticket() -> None:
    service, _ = paid_service()
    claim = claim_ticket(service, start=START, end=START + dt.timedelta(minutes=10), filed=FILED)
    staff = staff_user()
    before = snapshot()
    with pytest.raises(RuleViolation) as refused:
        services.claim_refuse(claim=claim, staff_user=staff, reason="  ", now=DECIDED)
    assert (refused.value.rule, refused.value.field) == ("SLA-5", "reason")
    assert snapshot() == before
    mail.outbox.clear()
    # when refused with a reason and the cause
    services.claim_refuse(
        claim=claim,
        staff_user=staff,
        reason="The failure was in your application.",
        cause="customer_misuse",
        now=DECIDED,
    )
    # then
    claim.refresh_from_db()
    assert (claim.status, claim.refusal_cause, claim.decided_by, claim.decided_at) == (
        "refused",
        "customer_misuse",
        staff,
        DECIDED,
    )
    message = Message.objects.get(ticket=claim.ticket, from_staff=True)
    assert message.body == (
        "Your SLA claim is refused: The failure was in your application. (cause: inappropriate use by the customer)"
    )
    assert Ticket.objects.get(pk=claim.ticket_id).status == "resolved"
    assert AuditEvent.objects.get(action="sla.claim_refused").rule == "SLA-6"


def test_sla3_acceptance_is_posted_on_the_ticket_in_its_language(django_capture_on_commit_callbacks) -> None:  # noqa: ANN001
    service, invoice = paid_service()
    found = incident(service, start=START, minutes=12)
    claim = claim_ticket(service, start=START, end=START + dt.timedelta(minutes=12), filed=FILED)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.claim_accept(claim=claim, incident=found, staff_user=staff_user(), now=DECIDED)
    message = Message.objects.get(ticket=claim.ticket, from_staff=True)
    assert message.body == (
        f"Your SLA claim is accepted: occurrence 1 of the year, 17.00% of invoice {invoice.display_number} "
        "(CHF 108.10). CHF 18.38 will be credited to your Prepaid Account."
    )
    assert Ticket.objects.get(pk=claim.ticket_id).status == "resolved"
    assert claim.ticket.organization.prepaid_account.balance == D("18.38")
    assert {m.from_email for m in mail.outbox if "Ticket #" in m.subject} == {"support@portal.example"}


# --- long failures, the term's invoice, the incident a claim is about ------------------------------


def test_sla2_sla4_a_week_long_class_a_failure_earns_its_a2_minutes_capped_at_half_the_invoice() -> None:
    service, invoice = paid_service()
    found = incident(service, start=at(2026, 3, 2, 8), minutes=7 * 24 * 60)  # 10,080 minutes
    penalty = accept(service, found, filed=at(2026, 3, 20, 8))
    assert (penalty.a2_minutes, penalty.percent) == (10075, D("10085.00"))
    assert (penalty.computed_amount, penalty.amount, penalty.capped) == (D("10901.89"), D("54.05"), True)


def test_sla3_the_invoice_is_the_one_of_the_term_holding_the_day_not_of_its_order_lines() -> None:
    # given a Service ordered on 1 March whose order invoice line says 1 March - 1 April, but paid
    # (and so anchored) on 12 March: its first term runs to 12 April
    service, order_invoice = paid_service()
    Service.objects.filter(pk=service.pk).update(anchor_date=dt.date(2026, 3, 12), expires_on=dt.date(2026, 4, 12))
    service.refresh_from_db()
    # when a failure on 5 April is claimed
    found = incident(service, start=at(2026, 4, 5, 8), minutes=12)
    penalty = accept(service, found, filed=at(2026, 4, 6, 8), decided=at(2026, 4, 7, 8))
    # then the first term's invoice bears it
    assert (penalty.invoice, penalty.amount) == (order_invoice, D("18.38"))


@pytest.mark.parametrize(
    ("incident_start", "why"),
    [
        (at(2026, 3, 18, 8), "two weeks after the claimed unavailability"),
        (at(2026, 3, 25, 8), "after the claim was filed"),
    ],
)
def test_sla5_staff_cannot_accept_a_claim_naming_an_incident_it_is_not_about(
    incident_start: dt.datetime, why: str
) -> None:
    service, _ = paid_service()
    incident(service, start=START, minutes=12)
    other = incident(service, start=incident_start, minutes=12)
    claim = claim_ticket(service, start=START, end=START + dt.timedelta(minutes=12), filed=at(2026, 3, 20, 8))
    before = snapshot()
    with pytest.raises(RuleViolation) as refused:
        services.claim_accept(claim=claim, incident=other, staff_user=staff_user(), now=at(2026, 3, 26, 8))
    assert (refused.value.rule, refused.value.field) == ("SLA-5", "incident"), why
    assert snapshot() == before


def test_sla3_ranking_a_years_occurrences_costs_the_same_queries_for_2_and_12_incidents() -> None:
    def count(incidents: int) -> int:
        service, _ = paid_service()
        for day in range(1, incidents + 1):
            incident(service, start=at(2026, 2, day, 8), minutes=6)
        maintenance(service, start=at(2026, 2, 1, 8), minutes=2)
        found = incident(service, start=at(2026, 3, 1, 8), minutes=6)
        with CaptureQueriesContext(connection) as queries:
            in_force = selectors.schedule_in_force(dt.date(2026, 3, 1))
            occurrence = selectors.occurrence_of(found, service, schedule=in_force, now=DECIDED)
        # the first incident lost 2 of its 6 minutes to maintenance: within the allowance
        assert occurrence is not None and occurrence.rank == incidents
        return len(queries)

    assert count(2) == count(12)
