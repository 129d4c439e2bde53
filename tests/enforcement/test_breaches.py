"""SPEC ENF-1, ENF-2, RW-6: breaches open with their evidence and suspend what they concern; the
customer is told on every channel unless an authority forbids it; staff decide remedied or not;
staff are reminded once of a deadline passed without a decision."""

import datetime as dt
from typing import Any

import pytest
from django.utils import formats, translation

from accounts.models import Organization
from audit.models import AuditEvent
from core.errors import RuleViolation
from core.lifecycle import jobs
from enforcement.jobs import remind_passed_deadlines
from enforcement.models import Breach, BreachEvidence, CauseTermination, DeadlineReminder
from enforcement.services import Evidence, breach_add_evidence, breach_decide, breach_open
from notifications.models import Notification
from subscriptions.models import Service
from subscriptions.services.staff import staff_reactivate, staff_set_warranty, staff_suspend
from support.services import ticket_open_by_staff
from tests.enforcement.helpers import NOW, PDF, TODAY, customer, hosting, open_invoice, snapshot, staff, upload

pytestmark = pytest.mark.django_db

Category = Breach.Category
Status = Service.Status


def _ticket(organization: Organization, agent: Any) -> Any:
    return ticket_open_by_staff(
        organization=organization,
        staff_user=agent,
        kind="technical",
        subject="Port scans from your server",
        body="We saw port scans.",
        language="en",
        now=NOW,
    )


def _refused(rule: str, **arguments: Any) -> RuleViolation:
    before = snapshot()
    with pytest.raises(RuleViolation) as refused:
        breach_open(now=NOW, **arguments)
    assert refused.value.rule == rule
    assert snapshot() == before
    return refused.value


# --- ENF-1: opening a breach ----------------------------------------------------------------------


def test_enf_1_a_breach_suspends_the_chosen_services_keeps_the_data_and_tells_every_channel() -> None:
    # given an Organization with two Services, one protected by the Renewal Warranty
    legal = customer()
    org = legal.organization
    org.secondary_email = "second@example.com"
    org.landline = "+41212345678"
    org.save()
    concerned = hosting(legal, renewal_warranty=True)
    other = hosting(legal)
    agent = staff()
    ticket = _ticket(org, agent)
    # when staff open a breach on one Service with a ticket (seen by the customer) and a file (not)
    breach = breach_open(
        organization=org,
        staff_user=agent,
        category=Category.AUP_PORT_SCANS,
        reason="Port scans towards third parties.",
        services=[concerned],
        remedy_deadline=TODAY + dt.timedelta(days=7),
        evidence=[
            Evidence(ticket=ticket, visible_to_customer=True),
            Evidence(file=upload(PDF, "log.pdf"), visible_to_customer=False),
        ],
        now=NOW,
    )
    # then the Service is suspended by staff, its data kept, its Renewal Warranty off (RW-6)
    concerned.refresh_from_db()
    other.refresh_from_db()
    assert (concerned.status, concerned.suspension_reason, concerned.renewal_warranty) == (
        Status.SUSPENDED,
        Service.SuspensionReason.STAFF,
        False,
    )
    assert concerned.data_deleted_at is None and concerned.suspended_at == NOW
    assert other.status == Status.ACTIVE
    assert list(breach.services.all()) == [concerned]
    assert breach.status == Breach.Status.OPEN and breach.clause == "SC 5.7 e"
    evidence = list(BreachEvidence.objects.filter(breach=breach).order_by("id"))
    assert [(e.ticket_id, e.original_name, e.visible_to_customer) for e in evidence] == [
        (ticket.pk, "", True),
        (None, "log.pdf", False),
    ]
    assert evidence[1].content_type == "application/pdf" and evidence[1].size == len(PDF)
    # the customer is told at once on every channel on file, every address of each
    told = Notification.objects.filter(template="breach_opened")
    assert sorted(told.values_list("channel", "address")) == sorted(
        [
            ("email", org.contact_email),
            ("email", "second@example.com"),
            ("sms", org.mobile),
            ("phone", org.mobile),
            ("phone", "+41212345678"),
            ("letter", org.postal_address),
            ("inbox", ""),
        ]
    )
    body = told.get(channel="inbox").body
    with translation.override(org.language):
        deadline = formats.date_format(TODAY + dt.timedelta(days=7), "DATE_FORMAT")
    assert "Port scans towards third parties." in body and deadline in body
    assert "SC 5.7" not in body and "ENF-1" not in body
    # and the evidence trail names the rule, the warranty switched off and each evidence item
    actions = list(AuditEvent.objects.filter(rule__in=("ENF-1", "RW-6")).values_list("action", "rule"))
    assert ("breach.opened", "ENF-1") in actions
    assert ("service.suspended", "ENF-1") in actions
    assert ("service.warranty_changed", "RW-6") in actions
    assert actions.count(("breach.evidence_added", "ENF-1")) == 2


def test_enf_1_a_breach_of_the_whole_organization_suspends_every_running_service_and_blocks_it() -> None:
    legal = customer()
    org = legal.organization
    active, trial = (
        hosting(legal),
        hosting(legal, status=Status.TRIAL, anchor_date=None, trial_ends_on=dt.date(2026, 3, 1)),
    )
    gone = hosting(legal, status=Status.TERMINATED)
    breach = breach_open(
        organization=org,
        staff_user=staff(),
        category=Category.AUP_CRYPTO,
        reason="Crypto mining.",
        whole_organization=True,
        now=NOW,
    )
    statuses = dict(Service.objects.values_list("pk", "status"))
    assert statuses == {active.pk: Status.SUSPENDED, trial.pk: Status.SUSPENDED, gone.pk: Status.TERMINATED}
    org.refresh_from_db()
    assert org.status == Organization.Status.BLOCKED and breach.organization_blocked
    assert set(breach.services.values_list("pk", flat=True)) == {active.pk, trial.pk}


def test_enf_1_an_authority_request_may_forbid_telling_the_customer_recorded() -> None:
    legal = customer()
    svc = hosting(legal)
    breach = breach_open(
        organization=legal.organization,
        staff_user=staff(),
        category=Category.AUTHORITY_REQUEST,
        reason="Order of the public prosecutor.",
        services=[svc],
        notice_withheld=True,
        now=NOW,
    )
    svc.refresh_from_db()
    assert svc.status == Status.SUSPENDED
    assert not Notification.objects.filter(template="breach_opened").exists()
    assert AuditEvent.objects.filter(action="breach.notice_withheld", rule="ENF-1", object_id=str(breach.pk)).exists()


def test_enf_1_a_reason_is_required_and_nothing_changes() -> None:
    legal = customer()
    svc = hosting(legal)
    refused = _refused(
        "ENF-1",
        organization=legal.organization,
        staff_user=staff(),
        category=Category.SECURITY,
        reason="  ",
        services=[svc],
    )
    assert refused.message == "A reason is required."


def test_enf_1_a_service_of_another_organization_is_refused_and_nothing_changes() -> None:
    legal, stranger = customer(), customer()
    mine, theirs = hosting(legal), hosting(stranger)
    refused = _refused(
        "ENF-1",
        organization=legal.organization,
        staff_user=staff(),
        category=Category.MASS_MAIL,
        reason="Spam.",
        services=[mine, theirs],
    )
    assert refused.message == f"Service {theirs.pk} is not one of this organization's."


def test_enf_1_a_ticket_of_another_organization_as_evidence_is_refused_and_nothing_changes() -> None:
    legal, stranger = customer(), customer()
    agent = staff()
    theirs = _ticket(stranger.organization, agent)
    refused = _refused(
        "ENF-1",
        organization=legal.organization,
        staff_user=agent,
        category=Category.ILLEGAL_CONTENT,
        reason="Illegal content.",
        services=[hosting(legal)],
        evidence=[Evidence(ticket=theirs)],
    )
    assert refused.message == f"Ticket #{theirs.pk} is not one of this organization's."


def test_enf_1_a_file_of_a_refused_type_is_refused_and_nothing_changes() -> None:
    legal = customer()
    refused = _refused(
        "ENF-1",
        organization=legal.organization,
        staff_user=staff(),
        category=Category.SECURITY,
        reason="Flooding.",
        services=[hosting(legal)],
        evidence=[Evidence(file=upload(b"\x00\x01binary", "x.exe"))],
    )
    assert refused.field == "files"


def test_enf_1_a_terminated_service_cannot_be_suspended_and_nothing_changes() -> None:
    legal = customer()
    gone = hosting(legal, status=Status.TERMINATED)
    refused = _refused(
        "ENF-1",
        organization=legal.organization,
        staff_user=staff(),
        category=Category.SECURITY,
        reason="Flooding.",
        services=[gone],
    )
    assert refused.message == f"Service {gone.pk} is not running: it cannot be suspended."


def test_enf_1_only_an_authority_request_may_withhold_the_notice() -> None:
    legal = customer()
    _refused(
        "ENF-1",
        organization=legal.organization,
        staff_user=staff(),
        category=Category.SECURITY,
        reason="Flooding.",
        services=[hosting(legal)],
        notice_withheld=True,
    )


def test_enf_1_nothing_chosen_is_refused_and_only_staff_open_breaches() -> None:
    legal = customer()
    refused = _refused(
        "ENF-1", organization=legal.organization, staff_user=staff(), category=Category.SECURITY, reason="x"
    )
    assert refused.message == "Choose the Services concerned, or the whole organization."
    refused = _refused(
        "ENF-1",
        organization=legal.organization,
        staff_user=legal.user,
        category=Category.SECURITY,
        reason="x",
        services=[hosting(legal)],
    )
    assert refused.status == 403


def test_enf_2_a_remedy_deadline_must_be_after_today() -> None:
    legal = customer()
    _refused(
        "ENF-2",
        organization=legal.organization,
        staff_user=staff(),
        category=Category.SECURITY,
        reason="Flooding.",
        services=[hosting(legal)],
        remedy_deadline=TODAY,
    )


def test_enf_1_a_breach_suspension_is_not_lifted_by_a_payment_but_reactivation_refuses_a_run_out_term() -> None:
    # a Service already suspended for non-payment is now held by staff; its termination date stands
    legal = customer()
    unpaid = hosting(
        legal,
        status=Status.SUSPENDED,
        suspension_reason=Service.SuspensionReason.UNPAID,
        suspended_at=NOW,
        terminates_on=dt.date(2026, 3, 14),
    )
    breach_open(
        organization=legal.organization,
        staff_user=staff(),
        category=Category.SECURITY,
        reason="Flooding.",
        services=[unpaid],
        now=NOW,
    )
    unpaid.refresh_from_db()
    assert (unpaid.status, unpaid.suspension_reason, unpaid.terminates_on) == (
        Status.SUSPENDED,
        Service.SuspensionReason.STAFF,
        dt.date(2026, 3, 14),
    )


def test_enf_1_more_evidence_can_be_added_and_a_ticket_is_added_once() -> None:
    legal = customer()
    agent = staff()
    ticket = _ticket(legal.organization, agent)
    breach = breach_open(
        organization=legal.organization,
        staff_user=agent,
        category=Category.SECURITY,
        reason="Flooding.",
        services=[hosting(legal)],
        evidence=[Evidence(ticket=ticket)],
        now=NOW,
    )
    breach_add_evidence(breach=breach, staff_user=agent, evidence=[Evidence(file=upload(PDF, "b.pdf"))], now=NOW)
    assert breach.evidence.count() == 2
    before = snapshot()
    with pytest.raises(RuleViolation) as refused:
        breach_add_evidence(breach=breach, staff_user=agent, evidence=[Evidence(ticket=ticket)], now=NOW)
    assert (refused.value.rule, refused.value.message) == ("ENF-1", "This evidence is on the breach already.")
    assert snapshot() == before


# --- ENF-2: staff decide --------------------------------------------------------------------------


def _breach(legal: Any, agent: Any, **fields: Any) -> Breach:
    arguments: dict[str, Any] = {
        "organization": legal.organization,
        "staff_user": agent,
        "category": Category.ABUSIVE_CONDUCT,
        "reason": "Insults to our support team.",
        "remedy_deadline": TODAY + dt.timedelta(days=5),
        "now": NOW,
    } | fields
    return breach_open(**arguments)


def test_enf_2_remedied_the_services_work_again_and_the_organization_is_unblocked() -> None:
    legal = customer()
    svc = hosting(legal)
    agent = staff()
    breach = _breach(legal, agent, whole_organization=True)
    decided = breach_decide(breach=breach, staff_user=agent, remedied=True, reason="Apologised.", now=NOW)
    svc.refresh_from_db()
    legal.organization.refresh_from_db()
    assert svc.status == Status.ACTIVE and svc.suspension_reason == ""
    assert legal.organization.status == Organization.Status.ACTIVE
    assert isinstance(decided, Breach)
    assert (decided.status, decided.decided_by, decided.decision_reason) == (
        Breach.Status.REMEDIED,
        agent,
        "Apologised.",
    )
    assert Notification.objects.filter(template="breach_remedied", channel="inbox").count() == 1
    assert AuditEvent.objects.filter(action="breach.remedied", rule="ENF-2").count() == 1


def test_enf_2_remedied_a_service_whose_term_ran_out_waits_for_its_payment() -> None:
    legal = customer()
    svc = hosting(legal, expires_on=dt.date(2026, 2, 12))
    agent = staff()
    breach = _breach(legal, agent, services=[svc])
    later = NOW + dt.timedelta(days=5)  # 15.02.2026: past E
    breach_decide(breach=breach, staff_user=agent, remedied=True, reason="Fixed.", now=later)
    svc.refresh_from_db()
    assert (svc.status, svc.suspension_reason) == (Status.SUSPENDED, Service.SuspensionReason.UNPAID)
    assert svc.terminates_on == dt.date(2026, 2, 15) + dt.timedelta(days=svc.plan.service_type.grace_days)


def test_enf_2_not_remedied_the_services_are_terminated_for_default_invoices_stay_due() -> None:
    legal = customer()
    svc, other = hosting(legal), hosting(legal)
    invoice = open_invoice(svc, kind="renewal", term=2)
    agent = staff()
    breach = _breach(legal, agent, services=[svc])
    record = breach_decide(breach=breach, staff_user=agent, remedied=False, reason="Still insulting.", now=NOW)
    svc.refresh_from_db()
    other.refresh_from_db()
    invoice.refresh_from_db()
    assert svc.status == Status.TERMINATED and svc.data_deleted_at == NOW
    assert other.status == Status.ACTIVE
    assert invoice.status == "open"  # ENF-3: no credit note for it
    assert isinstance(record, CauseTermination)
    assert (record.cause, record.rule, record.service, record.breach_id) == ("default", "ENF-2", svc, breach.pk)
    breach.refresh_from_db()
    assert breach.status == Breach.Status.TERMINATED
    assert AuditEvent.objects.filter(action="service.data_deleted", rule="SC 8.3").count() == 1


def test_enf_2_a_decision_needs_a_reason_and_an_open_breach() -> None:
    legal = customer()
    agent = staff()
    breach = _breach(legal, agent, services=[hosting(legal)])
    before = snapshot()
    with pytest.raises(RuleViolation) as refused:
        breach_decide(breach=breach, staff_user=agent, remedied=True, reason="", now=NOW)
    assert (refused.value.rule, refused.value.message) == ("ENF-2", "A reason is required.")
    assert snapshot() == before
    breach_decide(breach=breach, staff_user=agent, remedied=True, reason="ok", now=NOW)
    before = snapshot()
    for remedied in (True, False):
        with pytest.raises(RuleViolation) as refused:
            breach_decide(breach=breach, staff_user=agent, remedied=remedied, reason="again", now=NOW)
        assert (refused.value.rule, refused.value.message) == ("ENF-2", "This breach is decided already.")
    assert snapshot() == before


def test_enf_2_staff_are_reminded_once_of_a_deadline_passed_without_a_decision() -> None:
    legal = customer()
    agent = staff()
    due = _breach(legal, agent, services=[hosting(legal)], remedy_deadline=TODAY + dt.timedelta(days=2))
    _breach(legal, agent, services=[hosting(legal)], remedy_deadline=TODAY + dt.timedelta(days=3))
    _breach(legal, agent, services=[hosting(legal)], remedy_deadline=None)
    assert any(job.name == "enforcement.remedy_deadlines" and job.order == 520 for job in jobs())
    # on the deadline day itself, nothing: the day is the customer's
    assert remind_passed_deadlines(day=TODAY + dt.timedelta(days=2), now=NOW) == 0
    day = TODAY + dt.timedelta(days=3)
    assert remind_passed_deadlines(day=day, now=NOW) == 1
    assert remind_passed_deadlines(day=day, now=NOW) == 0  # a rerun finds nothing
    assert remind_passed_deadlines(day=day + dt.timedelta(days=1), now=NOW) == 1  # the second one, once
    assert list(DeadlineReminder.objects.order_by("id").values_list("breach_id", flat=True))[0] == due.pk
    staff_mails = Notification.objects.filter(template="breach_deadline_passed")
    assert staff_mails.count() == 2 and set(staff_mails.values_list("channel", flat=True)) == {"email"}
    assert AuditEvent.objects.filter(action="breach.deadline_passed", rule="ENF-2").count() == 2


def test_enf_2_a_decided_breach_is_not_reminded() -> None:
    legal = customer()
    agent = staff()
    breach = _breach(legal, agent, services=[hosting(legal)], remedy_deadline=TODAY + dt.timedelta(days=1))
    breach_decide(breach=breach, staff_user=agent, remedied=True, reason="ok", now=NOW)
    assert remind_passed_deadlines(day=TODAY + dt.timedelta(days=10), now=NOW) == 0


# --- RW-6: staff switch the Renewal Warranty ------------------------------------------------------


def test_rw_6_any_staff_suspension_switches_the_renewal_warranty_off_recorded() -> None:
    legal = customer()
    svc = hosting(legal, renewal_warranty=True)
    agent = staff()
    staff_suspend(service=svc, staff_user=agent, reason="Abuse", now=NOW)
    svc.refresh_from_db()
    assert (svc.status, svc.renewal_warranty) == (Status.SUSPENDED, False)
    event = AuditEvent.objects.get(action="service.warranty_changed", rule="RW-6")
    assert event.after["renewal_warranty"] is False and event.after["reason"] == "Abuse"
    staff_reactivate(service=svc, staff_user=agent, reason="ok", now=NOW)
    svc.refresh_from_db()
    assert (svc.status, svc.renewal_warranty) == (Status.ACTIVE, False)  # stays off until switched on


def test_rw_6_staff_switch_the_renewal_warranty_on_and_off_with_a_reason() -> None:
    legal = customer()
    svc = hosting(legal)
    agent = staff()
    staff_set_warranty(service=svc, staff_user=agent, enabled=True, reason="Asked by phone", now=NOW)
    svc.refresh_from_db()
    assert svc.renewal_warranty is True
    staff_set_warranty(service=svc, staff_user=agent, enabled=False, reason="Default on the option", now=NOW)
    svc.refresh_from_db()
    assert svc.renewal_warranty is False
    reasons = list(
        AuditEvent.objects.filter(action="service.warranty_changed", rule="RW-6")
        .order_by("id")
        .values_list("after__reason", flat=True)
    )
    assert reasons == ["Asked by phone", "Default on the option"]


@pytest.mark.parametrize(
    ("fields", "enabled", "reason", "rule", "message"),
    [
        ({}, True, " ", "RW-6", "A reason is required."),
        ({}, False, "x", "RW-6", "The Renewal Warranty is already off."),
        ({"status": Status.TERMINATED}, True, "x", "RW-6", "This Service is not running."),
        ({"status": Status.SUSPENDED}, True, "x", "RW-6", "A suspended Service cannot be given the Renewal Warranty."),
    ],
)
def test_rw_6_refusals_change_nothing(fields: dict, enabled: bool, reason: str, rule: str, message: str) -> None:
    svc = hosting(customer(), **fields)
    before = snapshot()
    with pytest.raises(RuleViolation) as refused:
        staff_set_warranty(service=svc, staff_user=staff(), enabled=enabled, reason=reason, now=NOW)
    assert (refused.value.rule, refused.value.message) == (rule, message)
    assert snapshot() == before


def test_rw_1_staff_cannot_switch_the_warranty_on_for_an_ineligible_type() -> None:
    from tests.billing.factories import ServiceFactory

    legal = customer()
    jelastic = ServiceFactory(organization=legal.organization)
    before = snapshot()
    with pytest.raises(RuleViolation) as refused:
        staff_set_warranty(service=jelastic, staff_user=staff(), enabled=True, reason="x", now=NOW)
    assert refused.value.rule == "RW-1"
    assert snapshot() == before


def test_enf_2_no_reminder_for_a_breach_whose_organization_was_terminated_meanwhile() -> None:
    from enforcement.services import organization_terminate_for_cause

    legal = customer()
    agent = staff()
    _breach(legal, agent, services=[hosting(legal)], remedy_deadline=TODAY + dt.timedelta(days=1))
    organization_terminate_for_cause(
        organization=legal.organization, staff_user=agent, cause="fraud", reason="Fraud.", now=NOW
    )
    assert remind_passed_deadlines(day=TODAY + dt.timedelta(days=10), now=NOW) == 0
    assert not DeadlineReminder.objects.exists()
