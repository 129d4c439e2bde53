"""The staff door of the SLA (SLA-2…SLA-9, EVD-2): incidents recorded, corrected and resolved through
the services, maintenance announced with the SLA-7 notice, the versioned penalty schedule, claims
accepted or refused from their page, penalties read only, force-majeure terminations; no delete;
every list and view recorded."""

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import User
from audit.models import AuditEvent
from core import clock
from notifications.models import Notification
from sla.admin import local_minute
from sla.models import Claim, ClassAllowance, Incident, Maintenance, Penalty, PenaltySchedule, PenaltyStep
from subscriptions.models import Service
from support.models import Ticket
from tests.factories import UserFactory, member
from tests.sla.helpers import at, claim_ticket, incident, paid_service, schedule, snapshot

pytestmark = pytest.mark.django_db

NOW = at(2026, 3, 20, 10, 0)  # Friday 20 March 2026, 11:00 in Zurich
START = at(2026, 3, 10, 8, 0)  # inside the March invoice of helpers.paid_service

PAGES = [
    "admin:sla_incident_changelist",
    "admin:sla_incident_add",
    "admin:sla_maintenance_changelist",
    "admin:sla_maintenance_add",
    "admin:sla_penaltyschedule_changelist",
    "admin:sla_penaltyschedule_add",
    "admin:sla_claim_changelist",
    "admin:sla_penalty_changelist",
]


@pytest.fixture(autouse=True)
def frozen():  # noqa: ANN201
    schedule()
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def agent() -> User:
    return UserFactory(is_staff=True, is_superuser=True, email="agent@example.com")


@pytest.fixture
def admin_client(agent: User) -> Client:
    device = TOTPDevice.objects.create(user=agent, name="phone", confirmed=True)
    client = Client()
    client.force_login(agent)
    code = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift).token()
    client.post(reverse("accounts:staff_otp"), {"token": f"{code:06d}", "next": "/admin/"})
    return client


def unchanged() -> dict[str, Any]:
    """The SLA snapshot, the staff's own view records (EVD-2) apart."""
    return snapshot() | {"audit": AuditEvent.objects.exclude(action__startswith="staff.").count()}


def shown(response: Any) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def split(instant: dt.datetime) -> dict[str, str]:
    """A datetime as the admin's split widget posts it, in the provider's zone (TIME-1)."""
    local = instant.astimezone(clock.ZURICH)
    return {"0": local.date().isoformat(), "1": local.time().isoformat(timespec="minutes")}


def dated(name: str, instant: dt.datetime) -> dict[str, str]:
    parts = split(instant)
    return {f"{name}_0": parts["0"], f"{name}_1": parts["1"]}


def claimed(minutes: int = 12) -> tuple[Claim, Incident, Any]:
    """A paid Service, a resolved class-A incident of `minutes` and the customer's claim for it."""
    service, invoice = paid_service()
    found = incident(service, start=START, minutes=minutes)
    assert found.resolved_at is not None
    claim = claim_ticket(service, start=START, end=found.resolved_at, filed=NOW - dt.timedelta(hours=2))
    return claim, found, invoice


# --- access ------------------------------------------------------------------------------------


@pytest.mark.parametrize("page", PAGES)
def test_every_sla_page_answers_staff(admin_client: Client, page: str) -> None:
    assert admin_client.get(reverse(page)).status_code == 200


@pytest.mark.parametrize("page", PAGES)
def test_a_customer_and_a_staff_user_without_second_factor_are_sent_to_log_in(page: str) -> None:
    customer = Client()
    customer.force_login(member().user)
    unverified = Client()
    unverified.force_login(UserFactory(is_staff=True, is_superuser=True))

    for client in (customer, unverified):
        response = client.get(reverse(page))
        assert response.status_code == 302
        assert "/login/" in response.url


def test_a_customer_cannot_reach_the_custom_pages() -> None:
    claim, found, _invoice = claimed()
    client = Client()
    client.force_login(member().user)

    for target in (
        reverse("admin:sla_claim_accept", args=[claim.pk]),
        reverse("admin:sla_claim_refuse", args=[claim.pk]),
        reverse("admin:sla_incident_resolve", args=[found.pk]),
        reverse("admin:sla_incident_terminate", args=[found.pk]),
    ):
        response = client.post(target, {"reason": "x", "incident": found.pk})
        assert response.status_code == 302
        assert "/login/" in response.url
    assert Claim.objects.get().status == "pending"


def test_nothing_is_deleted_and_claims_and_penalties_are_not_added_in_the_admin(admin_client: Client) -> None:
    claim, found, _invoice = claimed()
    before = unchanged()

    for name, pk in (("sla_incident", found.pk), ("sla_claim", claim.pk)):
        assert admin_client.post(reverse(f"admin:{name}_delete", args=[pk]), {"post": "yes"}).status_code == 403
    assert admin_client.get(reverse("admin:sla_claim_add")).status_code == 403
    assert admin_client.get(reverse("admin:sla_penalty_add")).status_code == 403
    actions = admin_client.get(reverse("admin:sla_incident_changelist")).context["action_form"]
    assert actions is None or "delete_selected" not in dict(actions.fields["action"].choices)
    assert unchanged() == before


# --- EVD-2 -------------------------------------------------------------------------------------


def test_evd2_lists_searches_and_views_are_recorded(admin_client: Client, agent: User) -> None:
    claim, found, _invoice = claimed()

    admin_client.get(reverse("admin:sla_claim_changelist") + "?q=Acme")
    admin_client.get(reverse("admin:sla_claim_change", args=[claim.pk]))
    admin_client.get(reverse("admin:sla_incident_change", args=[found.pk]))

    listed = AuditEvent.objects.get(action="staff.listed", rule="EVD-2", actor_user=agent)
    assert (listed.object_type, listed.after) == ("sla.claim", {"query": "q=Acme"})
    viewed = list(
        AuditEvent.objects.filter(action="staff.viewed", rule="EVD-2", actor_user=agent)
        .order_by("id")
        .values_list("object_type", "object_id", "organization_id")
    )
    assert viewed == [
        ("sla.claim", str(claim.pk), claim.organization_id),
        ("sla.incident", str(found.pk), None),
    ]


# --- incidents ---------------------------------------------------------------------------------


def listed(client: Client, name: str, query: str) -> list[int]:
    response = client.get(reverse(f"admin:sla_{name}_changelist") + query)
    assert response.status_code == 200
    return sorted(row.pk for row in response.context["cl"].result_list)


def test_the_incident_list_shows_its_columns_filters_and_searches(admin_client: Client) -> None:
    service, _invoice = paid_service()
    other, _invoice = paid_service()
    region = incident(service, other, start=START, minutes=12, external_id="mon-77")
    slow = incident(service, incident_class="B", cause="planned_maintenance", start=START, title="Slow network")
    response = admin_client.get(reverse("admin:sla_incident_changelist"))

    rows = {row.pk: row for row in response.context["cl"].result_list}
    assert rows[region.pk].service_total == 2 and rows[slow.pk].service_total == 1
    assert "mon-77" in response.content.decode()
    assert listed(admin_client, "incident", "?incident_class__exact=B") == [slow.pk]
    assert listed(admin_client, "incident", "?cause__exact=provider") == [region.pk]
    assert listed(admin_client, "incident", "?state=open") == [slow.pk]
    assert listed(admin_client, "incident", "?state=resolved") == [region.pk]
    assert listed(admin_client, "incident", "?q=network") == [slow.pk]
    assert listed(admin_client, "incident", "?q=mon-77") == [region.pk]


def test_sla8_staff_record_an_incident_affecting_many_services(
    admin_client: Client, agent: User, django_capture_on_commit_callbacks: Any
) -> None:
    first, _invoice = paid_service()
    second, _invoice = paid_service()

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:sla_incident_add"),
            {
                "incident_class": "A",
                "cause": "provider",
                "title": "Geneva region down",
                "description": "Power failure in the data centre.",
                **dated("started_at", at(2026, 3, 20, 9, 0)),
                "services": [first.pk, second.pk],
            },
        )

    recorded = Incident.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("admin:sla_incident_change", args=[recorded.pk])
    assert (recorded.title, recorded.incident_class, recorded.cause, recorded.started_at, recorded.resolved_at) == (
        "Geneva region down",
        "A",
        "provider",
        at(2026, 3, 20, 9, 0),
        None,
    )
    assert (recorded.recorded_by, recorded.created_at) == (agent, NOW)
    assert sorted(recorded.services.values_list("pk", flat=True)) == [first.pk, second.pk]
    event = AuditEvent.objects.get(action="sla.incident_recorded")
    assert (event.rule, event.actor_user, event.object_id) == ("SLA-8", agent, str(recorded.pk))
    assert event.after["services"] == [first.pk, second.pk]
    # SLA-8: the legal responsible of each Service (its contact person) is told
    assert Notification.objects.filter(template="sla_incident_detected").count() == 2


def test_sla2_an_incident_starting_in_the_future_is_refused_on_its_field(admin_client: Client) -> None:
    service, _invoice = paid_service()
    before = snapshot()

    response = admin_client.post(
        reverse("admin:sla_incident_add"),
        {
            "incident_class": "A",
            "cause": "provider",
            "title": "Tomorrow",
            **dated("started_at", NOW + dt.timedelta(days=1)),
            "services": [service.pk],
        },
    )

    assert response.status_code == 200
    assert response.context["form"].errors["started_at"] == ["An incident cannot start in the future. (SLA-2)"]
    assert snapshot() == before


def test_an_incident_without_services_is_refused_on_the_form(admin_client: Client) -> None:
    before = snapshot()

    response = admin_client.post(
        reverse("admin:sla_incident_add"),
        {"incident_class": "A", "cause": "provider", "title": "Nowhere", **dated("started_at", START)},
    )

    assert response.status_code == 200
    assert "services" in response.context["form"].errors
    assert snapshot() == before


def test_sla6_staff_correct_the_class_and_cause_of_an_incident_but_not_its_dates(
    admin_client: Client, agent: User
) -> None:
    service, _invoice = paid_service()
    found = incident(service, start=START, minutes=12)

    page = admin_client.get(reverse("admin:sla_incident_change", args=[found.pk]))
    response = admin_client.post(
        reverse("admin:sla_incident_change", args=[found.pk]),
        {
            "title": "Storage failure",
            "description": "A disk array failed.",
            "incident_class": "D",
            "cause": "beyond_control",
            **dated("started_at", START - dt.timedelta(days=5)),  # read only: ignored
            "_save": "Save",
        },
    )

    assert set(page.context["adminform"].form.fields) == {"title", "description", "incident_class", "cause"}
    assert response.status_code == 302
    found.refresh_from_db()
    assert (found.title, found.description, found.incident_class, found.cause, found.started_at) == (
        "Storage failure",
        "A disk array failed.",
        "D",
        "beyond_control",
        START,
    )
    event = AuditEvent.objects.get(action="sla.incident_updated")
    assert (event.rule, event.actor_user, event.before["cause"], event.after["cause"]) == (
        "SLA-6",
        agent,
        "provider",
        "beyond_control",
    )


def test_sla2_staff_resolve_an_open_incident(admin_client: Client, agent: User) -> None:
    service, _invoice = paid_service()
    found = incident(service, start=at(2026, 3, 20, 9, 0))
    page = admin_client.get(reverse("admin:sla_incident_change", args=[found.pk]))

    response = admin_client.post(
        reverse("admin:sla_incident_resolve", args=[found.pk]), dated("resolved_at", at(2026, 3, 20, 9, 40))
    )

    assert reverse("admin:sla_incident_resolve", args=[found.pk]) in page.content.decode()
    assert response.status_code == 302
    found.refresh_from_db()
    assert found.resolved_at == at(2026, 3, 20, 9, 40)
    event = AuditEvent.objects.get(action="sla.incident_resolved")
    assert (event.rule, event.actor_user) == ("SLA-2", agent)
    again = admin_client.post(
        reverse("admin:sla_incident_resolve", args=[found.pk]), dated("resolved_at", at(2026, 3, 20, 9, 50))
    )
    assert again.context["form"].non_field_errors() == ["This incident is already resolved. (SLA-2)"]


def test_sla2_a_resolution_before_the_start_is_refused_and_changes_nothing(admin_client: Client) -> None:
    service, _invoice = paid_service()
    found = incident(service, start=at(2026, 3, 20, 9, 0))
    before = snapshot()

    response = admin_client.post(
        reverse("admin:sla_incident_resolve", args=[found.pk]), dated("resolved_at", at(2026, 3, 20, 8, 0))
    )

    assert response.status_code == 200
    assert response.context["form"].errors["resolved_at"] == [
        "An incident is resolved after it starts, and not in the future. (SLA-2)"
    ]
    assert snapshot() == before


# --- SLA-9: force majeure ----------------------------------------------------------------------


def test_sla9_staff_terminate_a_service_after_30_days_of_force_majeure(admin_client: Client) -> None:
    service, _invoice = paid_service()
    flood = incident(service, cause="force_majeure", start=NOW - dt.timedelta(days=31), title="Flood")
    page = admin_client.get(reverse("admin:sla_incident_change", args=[flood.pk]))

    response = admin_client.post(
        reverse("admin:sla_incident_terminate", args=[flood.pk]),
        {"service": service.pk, "reason": "Data centre flooded for a month."},
    )

    assert reverse("admin:sla_incident_terminate", args=[flood.pk]) in page.content.decode()
    assert response.status_code == 302
    service.refresh_from_db()
    assert service.status == Service.Status.TERMINATED
    event = AuditEvent.objects.filter(
        object_type="subscriptions.service", object_id=str(service.pk), rule="SLA-9"
    ).first()
    assert event is not None


def test_sla9_before_30_days_the_termination_is_refused_and_changes_nothing(admin_client: Client) -> None:
    service, _invoice = paid_service()
    flood = incident(service, cause="force_majeure", start=NOW - dt.timedelta(days=29), title="Flood")
    before = snapshot()

    response = admin_client.post(
        reverse("admin:sla_incident_terminate", args=[flood.pk]), {"service": service.pk, "reason": "Flood."}
    )

    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [
        "The provider may terminate only after 30 days of force majeure. (SLA-9)"
    ]
    assert snapshot() == before


# --- SLA-7: maintenance ------------------------------------------------------------------------


def maintenance_form(service: Service, **fields: Any) -> dict[str, Any]:
    return {
        "title": "Storage upgrade",
        "description": "New disks.",
        **dated("starts_at", at(2026, 3, 23, 10, 0)),  # Monday: 24 business hours after NOW
        **dated("ends_at", at(2026, 3, 23, 11, 0)),
        "services": [service.pk],
        **fields,
    }


def test_sla7_a_planned_maintenance_with_short_notice_is_refused_on_the_form(admin_client: Client) -> None:
    service, _invoice = paid_service()
    before = snapshot()

    response = admin_client.post(reverse("admin:sla_maintenance_add"), maintenance_form(service))

    assert response.status_code == 200
    assert response.context["form"].errors["starts_at"] == [
        "A planned maintenance is announced at least 48 business hours before it starts (weekends do not "
        "count); this one would have 24.0. Mark it urgent with a reason. (SLA-7)"
    ]
    assert snapshot() == before


def test_sla7_an_urgent_window_that_already_started_is_refused_on_the_form(admin_client: Client) -> None:
    # given a Service
    service, _invoice = paid_service()
    before = snapshot()
    # when staff announce an urgent window, with its reason, that started an hour ago
    response = admin_client.post(
        reverse("admin:sla_maintenance_add"),
        maintenance_form(
            service,
            urgent="on",
            urgent_reason="Security fix of the hypervisor.",
            **dated("starts_at", NOW - dt.timedelta(hours=1)),
            **dated("ends_at", NOW + dt.timedelta(hours=1)),
        ),
    )
    # then the form shows why, with the rule, and nothing is saved or announced
    assert response.status_code == 200
    assert response.context["form"].errors["starts_at"] == [
        "A maintenance window, planned or urgent, is recorded before it starts: this one has already started. "
        "(SLA-7)"
    ]
    assert snapshot() == before


def test_sla7_urgent_without_a_reason_is_refused(admin_client: Client) -> None:
    service, _invoice = paid_service()
    before = snapshot()

    response = admin_client.post(reverse("admin:sla_maintenance_add"), maintenance_form(service, urgent="on"))

    assert response.context["form"].errors["urgent_reason"] == [
        "An urgent maintenance needs the reason of its urgency. (SLA-7)"
    ]
    assert snapshot() == before


def test_sla7_an_urgent_maintenance_with_its_reason_is_announced(admin_client: Client, agent: User) -> None:
    service, _invoice = paid_service()

    response = admin_client.post(
        reverse("admin:sla_maintenance_add"),
        maintenance_form(service, urgent="on", urgent_reason="Security fix of the hypervisor."),
    )

    window = Maintenance.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("admin:sla_maintenance_change", args=[window.pk])
    assert (window.starts_at, window.ends_at, window.urgent, window.urgent_reason, window.announced_at) == (
        at(2026, 3, 23, 10, 0),
        at(2026, 3, 23, 11, 0),
        True,
        "Security fix of the hypervisor.",
        NOW,
    )
    assert list(window.services.values_list("pk", flat=True)) == [service.pk]
    assert AuditEvent.objects.get(action="sla.maintenance_announced").rule == "SLA-7"
    # read only once announced
    page = admin_client.get(reverse("admin:sla_maintenance_change", args=[window.pk]))
    assert page.status_code == 200 and not page.context["has_change_permission"]
    edit = admin_client.post(
        reverse("admin:sla_maintenance_change", args=[window.pk]), maintenance_form(service, title="Changed")
    )
    assert edit.status_code == 403
    assert Maintenance.objects.get().title == "Storage upgrade"


def test_sla7_a_planned_maintenance_with_enough_notice_needs_no_reason(admin_client: Client) -> None:
    service, _invoice = paid_service()

    response = admin_client.post(
        reverse("admin:sla_maintenance_add"),
        maintenance_form(
            service, **dated("starts_at", at(2026, 3, 25, 10, 0)), **dated("ends_at", at(2026, 3, 25, 11, 0))
        ),
    )

    assert response.status_code == 302
    assert Maintenance.objects.get().urgent is False


# --- claims ------------------------------------------------------------------------------------


def test_the_claim_list_filters_by_status_and_searches_organization_and_ticket(admin_client: Client) -> None:
    claim, _found, _invoice = claimed()
    other, _found, _invoice = claimed()
    other.organization.name = "Acme Hosting"
    other.organization.save()
    Claim.objects.filter(pk=other.pk).update(status="refused", refusal_reason="Not us.")

    assert listed(admin_client, "claim", "?status__exact=pending") == [claim.pk]
    assert listed(admin_client, "claim", "?q=Acme") == [other.pk]
    assert listed(admin_client, "claim", f"?q={claim.ticket_id}") == [claim.pk]


def test_the_claim_page_shows_its_ticket_period_and_the_incidents_near_it(admin_client: Client) -> None:
    claim, found, _invoice = claimed()
    far = incident(claim.service, start=START - dt.timedelta(days=5), minutes=30, title="Far away")
    elsewhere, _invoice = paid_service()
    other = incident(elsewhere, start=START, minutes=30, title="Other service")

    response = admin_client.get(reverse("admin:sla_claim_change", args=[claim.pk]))

    html = response.content.decode()
    assert response.status_code == 200
    assert list(response.context["nearby_incidents"]) == [found]
    assert reverse("admin:support_ticket_change", args=[claim.ticket_id]) in html
    assert reverse("admin:sla_incident_change", args=[found.pk]) in html
    assert reverse("admin:sla_incident_change", args=[far.pk]) not in html
    assert reverse("admin:sla_incident_change", args=[other.pk]) not in html
    assert reverse("admin:sla_claim_accept", args=[claim.pk]) in html
    assert reverse("admin:sla_claim_refuse", args=[claim.pk]) in html


def test_sla3_accepting_a_claim_creates_its_penalty_and_resolves_the_ticket(admin_client: Client, agent: User) -> None:
    # given a 12-minute class-A incident on the March invoice of CHF 108.10
    claim, found, invoice = claimed(minutes=12)
    page = admin_client.get(reverse("admin:sla_claim_accept", args=[claim.pk]))

    # when
    response = admin_client.post(
        reverse("admin:sla_claim_accept", args=[claim.pk]), {"incident": found.pk}, follow=True
    )

    # then: 10 % for the 1st occurrence and 7 A2 minutes at 1 %
    assert page.context["form"].initial["incident"] == found
    penalty = Penalty.objects.get()
    claim.refresh_from_db()
    assert (claim.status, claim.incident, claim.decided_by, claim.decided_at) == ("accepted", found, agent, NOW)
    assert (penalty.claim, penalty.invoice, penalty.occurrence, penalty.percent, penalty.amount) == (
        claim,
        invoice,
        1,
        Decimal("17.00"),
        Decimal("18.38"),
    )
    assert Ticket.objects.get(pk=claim.ticket_id).status == "resolved"
    assert shown(response) == [f"Claim accepted: occurrence 1, 17.00% of invoice {invoice.display_number}: CHF 18.38."]
    assert AuditEvent.objects.get(action="sla.claim_accepted").actor_user == agent


def test_sla2_accepting_a_claim_for_an_incident_within_its_allowance_is_refused(admin_client: Client) -> None:
    claim, found, _invoice = claimed(minutes=3)
    before = unchanged()

    response = admin_client.post(reverse("admin:sla_claim_accept", args=[claim.pk]), {"incident": found.pk})

    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [
        "This incident lasted no longer than its class allows (5 minutes, maintenance not counted): it is no "
        "occurrence and earns no penalty. (SLA-2)"
    ]
    assert unchanged() == before


def test_sla5_refusing_without_a_reason_is_refused_and_changes_nothing(admin_client: Client) -> None:
    claim, _found, _invoice = claimed()
    before = unchanged()

    response = admin_client.post(reverse("admin:sla_claim_refuse", args=[claim.pk]), {"reason": "  ", "cause": ""})

    assert response.status_code == 200
    assert response.context["form"].errors["reason"] == ["Give the reason of the refusal. (SLA-5)"]
    assert unchanged() == before
    assert Claim.objects.get().status == "pending"


def test_sla6_refusing_with_a_reason_and_a_cause(admin_client: Client, agent: User) -> None:
    claim, _found, _invoice = claimed()
    page = admin_client.get(reverse("admin:sla_claim_refuse", args=[claim.pk]))

    response = admin_client.post(
        reverse("admin:sla_claim_refuse", args=[claim.pk]),
        {"reason": "The outage came from your own firewall rules.", "cause": "customer_misuse"},
        follow=True,
    )

    assert "provider" not in dict(page.context["form"].fields["cause"].choices)
    claim.refresh_from_db()
    assert (claim.status, claim.refusal_reason, claim.refusal_cause, claim.decided_by) == (
        "refused",
        "The outage came from your own firewall rules.",
        "customer_misuse",
        agent,
    )
    assert Ticket.objects.get(pk=claim.ticket_id).status == "resolved"
    assert Penalty.objects.count() == 0
    assert shown(response) == ["Claim refused; the reason is posted on the ticket."]
    # a decided claim is decided: a second decision changes nothing
    before = unchanged()
    again = admin_client.post(reverse("admin:sla_claim_refuse", args=[claim.pk]), {"reason": "Again."})
    assert again.context["form"].non_field_errors() == ["This claim is already decided. (SLA-5)"]
    assert unchanged() == before


# --- penalties and the schedule ----------------------------------------------------------------


def test_penalties_are_listed_read_only(admin_client: Client) -> None:
    claim, found, invoice = claimed()
    admin_client.post(reverse("admin:sla_claim_accept", args=[claim.pk]), {"incident": found.pk})
    penalty = Penalty.objects.get()

    response = admin_client.get(reverse("admin:sla_penalty_changelist"))
    page = admin_client.get(reverse("admin:sla_penalty_change", args=[penalty.pk]))

    assert [row.pk for row in response.context["cl"].result_list] == [penalty.pk]
    assert invoice.display_number in response.content.decode()
    assert page.status_code == 200 and not page.context["has_change_permission"]
    assert admin_client.post(reverse("admin:sla_penalty_delete", args=[penalty.pk]), {"post": "yes"}).status_code == 403
    viewed = AuditEvent.objects.get(action="staff.viewed", object_type="sla.penalty")
    assert viewed.organization_id == claim.organization_id


def schedule_form(valid_from: str, *, classes: tuple[str, ...] = ("A", "B", "C", "D", "E")) -> dict[str, Any]:
    minutes = {"A": 5, "B": 60, "C": 60, "D": 120, "E": 120}
    steps = [("A", 1, "10"), ("A", 2, "20"), ("B-E", 2, "5")]
    data: dict[str, Any] = {
        "valid_from": valid_from,
        "name": "SC 10, 2027 revision",
        "commitment_percent": "99.950",
        "monthly_limit_minutes": "5",
        "a2_percent_per_minute": "1.00",
        "cap_percent": "50.00",
        "claim_deadline_months": "2",
        "maintenance_notice_business_hours": "48",
        "force_majeure_days": "30",
        "a_may_end_contract_from": "4",
        "allowances-TOTAL_FORMS": str(len(classes)),
        "allowances-INITIAL_FORMS": "0",
        "steps-TOTAL_FORMS": str(len(steps)),
        "steps-INITIAL_FORMS": "0",
        "_save": "Save",
    }
    for i, cls in enumerate(classes):
        data |= {f"allowances-{i}-incident_class": cls, f"allowances-{i}-minutes": str(minutes[cls])}
    for i, (group, rank, percent) in enumerate(steps):
        data |= {f"steps-{i}-group": group, f"steps-{i}-from_occurrence": str(rank), f"steps-{i}-percent": percent}
    return data


def test_a_new_schedule_version_is_added_with_its_allowances_and_steps(admin_client: Client, agent: User) -> None:
    page = admin_client.get(reverse("admin:sla_penaltyschedule_add"))

    response = admin_client.post(reverse("admin:sla_penaltyschedule_add"), schedule_form("2027-01-01"))

    assert page.context["adminform"].form.initial["cap_percent"] == Decimal("50.00")  # pre-filled from in force
    assert response.status_code == 302
    added = PenaltySchedule.objects.get(valid_from=dt.date(2027, 1, 1))
    assert (added.commitment_percent, added.created_at) == (Decimal("99.950"), NOW)
    assert sorted(added.allowances.values_list("incident_class", "minutes")) == [
        ("A", 5),
        ("B", 60),
        ("C", 60),
        ("D", 120),
        ("E", 120),
    ]
    assert added.steps.count() == 3
    assert AuditEvent.objects.filter(action="staff.created", object_id=str(added.pk), actor_user=agent).count() == 1


def test_a_schedule_version_missing_a_class_is_refused(admin_client: Client) -> None:
    before = (PenaltySchedule.objects.count(), ClassAllowance.objects.count(), PenaltyStep.objects.count())

    response = admin_client.post(
        reverse("admin:sla_penaltyschedule_add"), schedule_form("2027-01-01", classes=("A", "B", "C", "D"))
    )

    assert response.status_code == 200
    assert "Give the allowance of every class (missing: E)." in response.content.decode()
    assert (PenaltySchedule.objects.count(), ClassAllowance.objects.count(), PenaltyStep.objects.count()) == before


def test_a_schedule_version_in_force_or_used_by_a_penalty_is_read_only_and_never_deleted(admin_client: Client) -> None:
    # given the version in force (used by a penalty once the claim is accepted) and a future one
    claim, found, _invoice = claimed()
    in_force = PenaltySchedule.objects.get()
    admin_client.post(reverse("admin:sla_penaltyschedule_add"), schedule_form("2027-01-01"))
    future = PenaltySchedule.objects.get(valid_from=dt.date(2027, 1, 1))
    before_penalty = admin_client.get(reverse("admin:sla_penaltyschedule_change", args=[in_force.pk]))
    admin_client.post(reverse("admin:sla_claim_accept", args=[claim.pk]), {"incident": found.pk})

    # when staff open and try to change or delete the version in force
    page = admin_client.get(reverse("admin:sla_penaltyschedule_change", args=[in_force.pk]))
    edit = admin_client.post(
        reverse("admin:sla_penaltyschedule_change", args=[in_force.pk]), schedule_form("2026-01-01")
    )
    delete = admin_client.post(reverse("admin:sla_penaltyschedule_delete", args=[in_force.pk]), {"post": "yes"})
    future_page = admin_client.get(reverse("admin:sla_penaltyschedule_change", args=[future.pk]))

    # then it is read only (a change is a new dated version), before and after a penalty used it
    assert not before_penalty.context["has_change_permission"]
    assert page.status_code == 200 and not page.context["has_change_permission"]
    assert (edit.status_code, delete.status_code) == (403, 403)
    in_force.refresh_from_db()
    assert in_force.cap_percent == Decimal("50.00") and PenaltySchedule.objects.count() == 2
    assert future_page.context["has_change_permission"]


def test_only_a_version_not_yet_in_force_and_never_used_may_be_deleted(admin_client: Client) -> None:
    in_force = PenaltySchedule.objects.get()
    admin_client.post(reverse("admin:sla_penaltyschedule_add"), schedule_form("2027-01-01"))
    future = PenaltySchedule.objects.get(valid_from=dt.date(2027, 1, 1))

    refused = admin_client.post(reverse("admin:sla_penaltyschedule_delete", args=[in_force.pk]), {"post": "yes"})
    deleted = admin_client.post(reverse("admin:sla_penaltyschedule_delete", args=[future.pk]), {"post": "yes"})

    assert (refused.status_code, deleted.status_code) == (403, 302)
    assert list(PenaltySchedule.objects.values_list("pk", flat=True)) == [in_force.pk]


def test_staff_read_an_incidents_instants_in_the_providers_time_in_the_swiss_format() -> None:
    with translation.override("de"):  # 08:05 UTC is 09:05 in Zurich in March, 10:05 in July
        assert local_minute(dt.datetime(2026, 3, 2, 8, 5, tzinfo=dt.UTC)) == "02.03.2026 09:05"
        assert local_minute(dt.datetime(2026, 7, 2, 8, 5, tzinfo=dt.UTC)) == "02.07.2026 10:05"
