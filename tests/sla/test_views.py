"""The portal's SLA pages (SLA-1…SLA-9): a Service's availability chart and table, its incidents with
the "Claim" button and the pre-filled claim form (SLA-5), maintenance, claims and penalties, the
force-majeure termination (SLA-9) — each happy path, each refusal with nothing changed, tenancy
(another Organization, ORG-6 scopes, roles) and the number of queries."""

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from accounts.models import Membership
from audit.models import AuditEvent
from sla.models import Incident
from sla.services import claim_accept, claim_refuse, penalty_credit
from subscriptions.models import MembershipServiceScope, Service
from support.models import Ticket
from tests.factories import member
from tests.sla.helpers import (
    at,
    claim_ticket,
    incident,
    maintenance,
    paid_service,
    schedule,
    snapshot,
    staff_user,
)

pytestmark = pytest.mark.django_db

Role = Membership.Role
NOW = at(2026, 4, 10, 8, 0)  # 10 April 2026, 10:00 in Zurich
OUTAGE = at(2026, 3, 10, 8, 0)  # 10 March 2026, 09:00 in Zurich (before the change of time)
TERMINATION_REFUSED = "Please confirm that the data will be deleted for good and that no compensation is paid."


@pytest.fixture(autouse=True)
def frozen() -> Iterator[None]:
    schedule()
    with time_machine.travel(NOW, tick=False), translation.override("en"):
        yield  # the language a request activated is not left to the next test


def browser(membership: Membership) -> Client:
    client = Client()
    client.force_login(membership.user)
    return client


def sla_url(membership: Membership, service: Service) -> str:
    return reverse("sla:service_sla", args=[membership.organization_id, service.pk])


def terminate_url(membership: Membership, service: Service, found: Incident) -> str:
    return reverse("sla:force_majeure_terminate", args=[membership.organization_id, service.pk, found.pk])


def scoped(legal: Membership, role: str, *services: Service) -> Membership:
    """A member of `legal`'s Organization limited to `services` (ORG-6)."""
    membership = member(role, organization=legal.organization)
    for service in services:
        MembershipServiceScope.objects.create(membership=membership, service=service)
    return membership


def cells(html: str, month: str) -> list[str]:
    """The texts of the availability table's row of a month ("2026-03")."""
    row = re.search(rf'<tr data-month="{month}">(.*?)</tr>', html, re.S)
    assert row is not None
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row[1], re.S)]


def chart_bars(html: str) -> list[tuple[str, str]]:
    """(month, value label) of each bar of the chart."""
    return re.findall(
        r'<g class="bar[^"]*" data-month="([0-9-]+)">.*?<text class="value"[^>]*>([^<]*)</text>', html, re.S
    )


def claim_buttons(html: str) -> list[str]:
    return re.findall(r'<a class="button claim" href="([^"]+)"', html)


def messages_of(response: Any) -> list[str]:
    return [str(message) for message in response.context["messages"]]


# --- availability (SLA-1) ----------------------------------------------------------------------


def test_sla1_the_chart_has_twelve_bars_and_march_shows_a_twelve_minute_outage() -> None:
    # given a 12-minute class-A outage in March 2026 (2,674,800 s: an hour less by the change of time)
    legal = member()
    service, _invoice = paid_service(legal)
    incident(service, start=OUTAGE, minutes=12)

    # when
    response = browser(legal).get(sla_url(legal, service))

    # then
    assert response.status_code == 200
    html = response.content.decode()
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="availability-chart"' in html
    assert '<title id="sla-availability-title">Monthly availability</title>' in html
    assert chart_bars(html) == [
        ("2025-05", "100.000 %"),
        ("2025-06", "100.000 %"),
        ("2025-07", "100.000 %"),
        ("2025-08", "100.000 %"),
        ("2025-09", "100.000 %"),
        ("2025-10", "100.000 %"),
        ("2025-11", "100.000 %"),
        ("2025-12", "100.000 %"),
        ("2026-01", "100.000 %"),
        ("2026-02", "100.000 %"),
        ("2026-03", "99.973 %"),
        ("2026-04", "100.000 %"),
    ]
    assert "<title>March 2026: 99.973 % available, commitment met.</title>" in html
    march = response.context["reports"][10]
    assert (march.year, march.month, march.total_seconds, march.unavailable_seconds) == (2026, 3, 2_674_800, 720)


def test_sla1_the_table_gives_minutes_unavailability_availability_commitment_and_limit() -> None:
    # given
    legal = member()
    service, _invoice = paid_service(legal)
    incident(service, start=OUTAGE, minutes=12)
    incident(service, start=at(2026, 2, 3, 10, 0), seconds=270)  # 4.5 minutes: within the monthly limit

    # when
    html = browser(legal).get(sla_url(legal, service)).content.decode()

    # then
    assert cells(html, "2026-03") == ["March 2026", "44580", "12.00", "99.973 %", "yes", "yes: more than 5 minutes"]
    assert cells(html, "2026-02") == ["February 2026", "40320", "4.50", "99.989 %", "yes", "no"]
    assert cells(html, "2025-10") == ["October 2025", "44700", "0.00", "100.000 %", "yes", "no"]
    # the month in progress is measured up to now (10 April, 10:00 in Zurich)
    assert cells(html, "2026-04") == ["April 2026", "13560", "0.00", "100.000 %", "yes", "no"]


def test_sla1_a_month_below_the_commitment_says_no_and_its_bar_sits_at_the_floor() -> None:
    # given 9 hours down in January 2026: 98.790 %, under the chart's floor of 99 %
    legal = member()
    service, _invoice = paid_service(legal)
    incident(service, start=at(2026, 1, 12, 8, 0), minutes=9 * 60)

    # when
    html = browser(legal).get(sla_url(legal, service)).content.decode()

    # then
    assert cells(html, "2026-01") == ["January 2026", "44640", "540.00", "98.790 %", "no", "yes: more than 5 minutes"]
    assert ("2026-01", "▼ 98.790 %") in chart_bars(html)
    assert '<g class="bar below-floor" data-month="2026-01">' in html


def test_sla6_sla7_excluded_causes_and_maintenance_are_not_counted() -> None:
    # given an outage beyond the provider's control, and one inside a maintenance window
    legal = member()
    service, _invoice = paid_service(legal)
    incident(service, cause="beyond_control", start=OUTAGE, minutes=30)
    maintenance(service, start=at(2026, 3, 20, 1, 0), minutes=60)
    incident(service, start=at(2026, 3, 20, 1, 10), minutes=20)

    # when
    html = browser(legal).get(sla_url(legal, service)).content.decode()

    # then
    assert cells(html, "2026-03") == ["March 2026", "44580", "0.00", "100.000 %", "yes", "no"]


# --- incidents, maintenance, claims ------------------------------------------------------------


def test_the_incidents_show_class_cause_start_end_or_ongoing_and_description() -> None:
    # given
    legal = member()
    service, _invoice = paid_service(legal)
    resolved = incident(service, start=OUTAGE, minutes=12, title="Storage cluster outage")
    Incident.objects.filter(pk=resolved.pk).update(description="A disk shelf failed.")
    ongoing = incident(service, incident_class="B", start=at(2026, 4, 10, 7, 0), title="Slow network")
    incident(paid_service()[0], start=OUTAGE, minutes=5, title="Someone else's outage")

    # when
    response = browser(legal).get(sla_url(legal, service))

    # then
    html = response.content.decode()
    assert [row.incident for row in response.context["incidents"]] == [ongoing, resolved]
    row = re.search(rf'<tr id="incident-{resolved.pk}">(.*?)</tr>', html, re.S)
    assert row is not None
    texts = [re.sub(r"<[^>]+>", " ", c).split() for c in re.findall(r"<td>(.*?)</td>", row[1], re.S)]
    assert [" ".join(t) for t in texts[:5]] == [
        "A · service unavailable",
        "failure of the provider",
        "10 March 2026, 09:00",
        "10 March 2026, 09:12",
        "Storage cluster outage A disk shelf failed.",
    ]
    open_row = re.search(rf'<tr id="incident-{ongoing.pk}">(.*?)</tr>', html, re.S)
    assert open_row is not None and "<strong>ongoing</strong>" in open_row[1]
    assert "Someone else&#x27;s outage" not in html


def test_sla7_maintenance_is_listed_and_an_urgent_one_shows_its_reason() -> None:
    # given
    legal = member()
    service, _invoice = paid_service(legal)
    planned = maintenance(service, start=at(2026, 4, 20, 0, 0), minutes=60)
    urgent = maintenance(service, start=at(2026, 4, 11, 0, 0), minutes=30, urgent=True)

    # when
    response = browser(legal).get(sla_url(legal, service))

    # then
    html = response.content.decode()
    assert response.context["maintenances"] == [planned, urgent]
    urgent_item = re.search(rf'<li id="maintenance-{urgent.pk}">(.*?)</li>', html, re.S)
    planned_item = re.search(rf'<li id="maintenance-{planned.pk}">(.*?)</li>', html, re.S)
    assert urgent_item is not None and planned_item is not None
    assert '<span class="badge warn">urgent</span> Security fix' in urgent_item[1]
    assert "urgent" not in planned_item[1]


def test_sla5_a_claimable_incident_has_a_claim_button_to_the_prefilled_form_with_its_deadline() -> None:
    # given an outage from 09:00:30 to 09:12:10 Zurich time
    legal = member()
    service, _invoice = paid_service(legal)
    found = incident(service, start=OUTAGE + dt.timedelta(seconds=30), seconds=700, title="Storage outage")

    # when
    response = browser(legal).get(sla_url(legal, service))

    # then the claim covers the whole minutes of the outage, and is possible until 10 May 2026
    html = response.content.decode()
    [button] = claim_buttons(html)
    link = urlsplit(button.replace("&amp;", "&"))
    assert link.path == reverse("support:ticket_new", args=[legal.organization_id])
    assert parse_qs(link.query) == {
        "kind": ["sla_claim"],
        "service": [str(service.pk)],
        "claim_start": ["2026-03-10T09:00"],
        "claim_end": ["2026-03-10T09:13"],
        "subject": ["SLA claim: Storage outage of 10 March 2026"],
    }
    [row] = response.context["incidents"]
    assert (row.incident, row.claim_last_day) == (found, dt.date(2026, 5, 10))
    assert "until 10 May 2026" in html


@pytest.mark.parametrize(
    ("why", "make"),
    [
        ("excluded cause", lambda s: incident(s, cause="force_majeure", start=OUTAGE, minutes=12)),
        ("past the deadline", lambda s: incident(s, start=at(2026, 2, 9, 8, 0), minutes=12)),  # until 9 April
        ("still open", lambda s: incident(s, start=at(2026, 4, 10, 7, 0))),
        ("within its class's allowance: no occurrence", lambda s: incident(s, start=OUTAGE, minutes=5)),
        (
            "refused: discussed on its ticket",
            lambda s: claim_refuse(
                claim=claim_ticket(
                    s,
                    start=incident(s, start=OUTAGE, minutes=12).started_at,
                    end=OUTAGE + dt.timedelta(minutes=12),
                    filed=OUTAGE + dt.timedelta(days=1),
                ),
                staff_user=staff_user(),
                reason="Not an outage of ours.",
                now=OUTAGE + dt.timedelta(days=2),
            ),
        ),
        (
            "already claimed",
            lambda s: (
                incident(s, start=OUTAGE, minutes=12),
                claim_ticket(
                    s, start=OUTAGE, end=OUTAGE + dt.timedelta(minutes=12), filed=OUTAGE + dt.timedelta(days=1)
                ),
            ),
        ),
    ],
)
def test_sla5_no_claim_button_when_the_incident_cannot_be_claimed(why: str, make: Any) -> None:
    # given
    legal = member()
    service, _invoice = paid_service(legal)
    make(service)

    # when
    response = browser(legal).get(sla_url(legal, service))

    # then
    assert claim_buttons(response.content.decode()) == [], why
    assert [row.claim_url for row in response.context["incidents"]] == [""], why


def test_sla5_the_prefilled_claim_form_shows_the_initial_values() -> None:
    # given the link of the claim button
    legal = member()
    service, _invoice = paid_service(legal)
    incident(service, start=OUTAGE, minutes=12, title="Storage outage")
    [button] = claim_buttons(browser(legal).get(sla_url(legal, service)).content.decode())

    # when
    response = browser(legal).get(button.replace("&amp;", "&"))

    # then
    form = response.context["form"]
    assert response.status_code == 200
    assert form.ticket_kind == "sla_claim"
    assert form.initial == {
        "kind": "sla_claim",
        "subject": "SLA claim: Storage outage of 10 March 2026",
        "service": service.pk,
        "claim_start": at(2026, 3, 10, 8, 0),
        "claim_end": at(2026, 3, 10, 8, 12),
    }
    html = response.content.decode()
    assert f'<option value="{service.pk}" selected>' in html
    assert 'value="2026-03-10T09:00"' in html and 'value="2026-03-10T09:12"' in html
    assert 'value="SLA claim: Storage outage of 10 March 2026"' in html


def test_sla5_the_prefilled_claim_form_files_the_claim() -> None:
    # given
    legal = member()
    service, _invoice = paid_service(legal)
    incident(service, start=OUTAGE, minutes=12)
    new = reverse("support:ticket_new", args=[legal.organization_id])

    # when the customer sends the form as it was pre-filled, with a message
    response = browser(legal).post(
        new,
        {
            "kind": "sla_claim",
            "subject": "SLA claim",
            "body": "Down for 12 minutes.",
            "language": "en",
            "service": service.pk,
            "claim_start": "2026-03-10T09:00",
            "claim_end": "2026-03-10T09:12",
        },
    )

    # then
    ticket = Ticket.objects.get()
    assert response.status_code == 302
    assert (ticket.claim_start, ticket.claim_end) == (OUTAGE, OUTAGE + dt.timedelta(minutes=12))
    assert ticket.sla_claim.service == service
    assert claim_buttons(browser(legal).get(sla_url(legal, service)).content.decode()) == []


def test_org6_a_service_the_member_cannot_see_is_not_preselected() -> None:
    # given a member limited to one Service, a link naming another one and another Organization's
    legal = member()
    mine, _invoice = paid_service(legal)
    other, _invoice = paid_service(legal)
    theirs, _invoice = paid_service()
    limited = scoped(legal, Role.TECHNICAL, mine)
    new = reverse("support:ticket_new", args=[legal.organization_id])

    # when
    responses = [
        browser(limited).get(new, {"kind": "sla_claim", "service": other.pk, "subject": "Outage"}),
        browser(legal).get(new, {"kind": "sla_claim", "service": theirs.pk, "subject": "Outage"}),
    ]

    # then
    for response in responses:
        assert response.context["form"].initial == {"kind": "sla_claim", "subject": "Outage"}
        picker = re.search(r'<select name="service".*?</select>', response.content.decode(), re.S)
        assert picker is not None
        assert re.findall(r'<option value="([^"]*)" selected>', picker[0]) == [""]


def test_a_prefill_that_does_not_parse_is_left_out() -> None:
    legal = member()
    new = reverse("support:ticket_new", args=[legal.organization_id])

    response = browser(legal).get(
        new,
        {
            "kind": "sla_claim",
            "service": "9" * 40,
            "claim_start": "yesterday",
            "claim_end": "2026-03-10T09:12",
            "subject": "   ",
        },
    )

    assert response.context["form"].initial == {"kind": "sla_claim", "claim_end": at(2026, 3, 10, 8, 12)}


def test_a_post_ignores_the_prefill_of_the_address() -> None:
    # given
    legal = member()
    service, _invoice = paid_service(legal)
    before = snapshot()
    new = reverse("support:ticket_new", args=[legal.organization_id])

    # when the form is posted to an address carrying a subject, without one in the form
    response = browser(legal).post(
        new + f"?kind=sla_claim&subject=From+the+link&service={service.pk}",
        {"kind": "sla_claim", "body": "Down.", "language": "en", "service": service.pk},
    )

    # then
    form = response.context["form"]
    assert response.status_code == 200
    assert form.errors["subject"] == ["This field is required."]
    assert "subject" not in form.initial
    assert snapshot() == before


def test_sla3_sla4_the_claims_show_their_state_penalty_credit_and_ticket() -> None:
    # given an accepted claim credited to the Prepaid Account, a pending one and a refused one
    legal = member()
    service, _invoice = paid_service(legal)
    staff = staff_user()
    outage = incident(service, start=OUTAGE, minutes=12)
    accepted = claim_ticket(service, start=OUTAGE, end=OUTAGE + dt.timedelta(minutes=12), filed=at(2026, 3, 11, 8, 0))
    penalty = claim_accept(claim=accepted, incident=outage, staff_user=staff, now=at(2026, 3, 12, 8, 0))
    penalty_credit(penalty_id=penalty.pk, now=at(2026, 3, 13, 1, 0))
    refused = claim_ticket(service, start=at(2026, 3, 15, 8, 0), end=at(2026, 3, 15, 9, 0), filed=at(2026, 3, 16, 8, 0))
    claim_refuse(claim=refused, staff_user=staff, reason="No outage was recorded.", now=at(2026, 3, 17, 8, 0))
    pending = claim_ticket(service, start=at(2026, 4, 1, 8, 0), end=at(2026, 4, 1, 9, 0), filed=at(2026, 4, 2, 8, 0))

    # when
    response = browser(legal).get(sla_url(legal, service))

    # then
    html = response.content.decode()
    assert [row.claim for row in response.context["claims"]] == [pending, refused, accepted]

    def row_of(claim_id: int) -> list[str]:
        row = re.search(rf'<tr id="claim-{claim_id}">(.*?)</tr>', html, re.S)
        assert row is not None
        return [" ".join(re.sub(r"<[^>]+>", " ", c).split()) for c in re.findall(r"<td>(.*?)</td>", row[1], re.S)]

    assert row_of(accepted.pk)[2:] == ["accepted", "CHF 18.38", "yes, on 13 March 2026", "Outage"]
    assert row_of(refused.pk)[2:] == ["refused: No outage was recorded.", "—", "—", "Outage"]
    assert row_of(pending.pk)[2:] == ["under analysis", "—", "—", "Outage"]
    ticket_link = reverse("support:ticket", args=[legal.organization_id, accepted.ticket_id])
    assert f'<a href="{ticket_link}">Outage</a>' in html


def test_the_service_page_links_to_the_sla_page() -> None:
    legal = member()
    service, _invoice = paid_service(legal)

    response = browser(legal).get(reverse("subscriptions:service", args=[legal.organization_id, service.pk]))

    assert f'<a href="{sla_url(legal, service)}">Availability and SLA</a>' in response.content.decode()
    assert sla_url(legal, service) == f"/orgs/{legal.organization_id}/services/{service.pk}/sla/"


def test_the_number_of_queries_does_not_grow_with_incidents_maintenance_and_claims() -> None:
    # given two Services, one with one of each, the other with many
    legal = member()
    few, _invoice = paid_service(legal)
    many, _invoice = paid_service(legal)
    staff = staff_user()

    def fill(service: Service, count: int) -> None:
        """Incidents that are not claimable (an excluded cause, still open, covered by a pending
        claim), maintenance windows, refused claims."""
        for i in range(count):
            start = at(2026, 3, 2 + i, 8, 0)
            incident(service, cause="beyond_control", start=start, minutes=30)
            incident(service, incident_class="B", start=NOW - dt.timedelta(hours=i + 1))
            maintenance(service, start=at(2025, 6, 2 + i, 1, 0), minutes=60, urgent=bool(i % 2))
            covered = incident(service, start=start + dt.timedelta(hours=3), minutes=12)
            assert covered.resolved_at is not None
            claim_ticket(service, start=covered.started_at, end=covered.resolved_at, filed=start + dt.timedelta(days=1))
            refused = claim_ticket(
                service, start=at(2026, 4, 1 + i, 8, 0), end=at(2026, 4, 1 + i, 9, 0), filed=NOW - dt.timedelta(hours=1)
            )
            claim_refuse(claim=refused, staff_user=staff, reason="No outage was recorded.", now=NOW)

    fill(few, 1)
    fill(many, 6)
    client = browser(legal)

    # when
    counts = []
    for service in (few, many):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(sla_url(legal, service)).status_code == 200
        counts.append(len(queries))

    # then
    assert counts[0] == counts[1]


def test_the_number_of_queries_does_not_grow_with_claimable_incidents() -> None:
    legal = member()
    few, _invoice = paid_service(legal)
    many, _invoice = paid_service(legal)
    incident(few, start=OUTAGE, minutes=12)
    for day in range(6):
        incident(many, start=at(2026, 3, 10 + day, 8, 0), minutes=12)
    client = browser(legal)

    counts = []
    for service in (few, many):
        with CaptureQueriesContext(connection) as queries:
            client.get(sla_url(legal, service))
        counts.append(len(queries))

    assert counts[0] == counts[1]


# --- force majeure (SLA-9) -----------------------------------------------------------------------


def test_sla9_during_force_majeure_a_banner_offers_to_terminate_at_once() -> None:
    # given
    legal = member()
    service, _invoice = paid_service(legal)
    storm = incident(service, cause="force_majeure", start=at(2026, 4, 8, 6, 0), title="Flood in the data centre")

    # when
    html = browser(legal).get(sla_url(legal, service)).content.decode()

    # then
    banner = re.search(r'<div class="notice" role="alert" id="force-majeure">(.*?)</div>', html, re.S)
    assert banner is not None
    assert "Force majeure is going on since 8 April 2026, 08:00: Flood in the data centre." in banner[1]
    assert "During force majeure you may terminate this Service at once." in banner[1]
    assert f'href="{terminate_url(legal, service, storm)}"' in banner[1]


@pytest.mark.parametrize("role", [Role.TECHNICAL, Role.BILLING])
def test_sla9_the_terminate_button_is_only_for_legal_responsibles_and_administrators(role: str) -> None:
    # given
    legal = member()
    service, _invoice = paid_service(legal)
    storm = incident(service, cause="force_majeure", start=at(2026, 4, 8, 6, 0))
    colleague = member(role, organization=legal.organization)
    admin = member(Role.ADMINISTRATOR, organization=legal.organization)

    # when
    theirs = browser(colleague).get(sla_url(colleague, service)).content.decode()
    admins = browser(admin).get(sla_url(admin, service)).content.decode()

    # then
    assert 'id="force-majeure"' in theirs
    assert terminate_url(legal, service, storm) not in theirs
    assert terminate_url(legal, service, storm) in admins


def test_sla9_no_banner_once_the_force_majeure_is_over() -> None:
    legal = member()
    service, _invoice = paid_service(legal)
    incident(service, cause="force_majeure", start=at(2026, 4, 8, 6, 0), minutes=60)

    html = browser(legal).get(sla_url(legal, service)).content.decode()

    assert 'id="force-majeure"' not in html


def test_sla9_the_confirmation_says_the_data_is_deleted_for_good_and_no_compensation_is_paid() -> None:
    # given
    legal = member()
    service, _invoice = paid_service(legal)
    storm = incident(service, cause="force_majeure", start=at(2026, 4, 8, 6, 0))

    # when
    response = browser(legal).get(terminate_url(legal, service, storm))

    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert "The Service's data will be deleted at once and for good: it cannot be recovered." in html
    assert "No compensation is paid: neither for the force majeure nor for the rest of the term already paid." in html
    assert re.search(r'<input type="checkbox" name="confirm" required id="id_confirm">', html)


def test_sla9_without_the_tick_the_termination_is_refused_and_nothing_changes() -> None:
    # given
    legal = member()
    service, _invoice = paid_service(legal)
    storm = incident(service, cause="force_majeure", start=at(2026, 4, 8, 6, 0))
    before = snapshot()

    # when
    response = browser(legal).post(terminate_url(legal, service, storm), {})

    # then
    assert response.status_code == 200
    assert response.context["form"].errors == {"confirm": [TERMINATION_REFUSED]}
    assert snapshot() == before


def test_sla9_with_the_tick_the_service_is_terminated_with_the_evidence_of_sla9() -> None:
    # given
    legal = member()
    service, _invoice = paid_service(legal)
    storm = incident(service, cause="force_majeure", start=at(2026, 4, 8, 6, 0))

    # when
    client = browser(legal)
    response = client.post(terminate_url(legal, service, storm), {"confirm": "on"}, REMOTE_ADDR="203.0.113.9")

    # then
    service.refresh_from_db()
    assert response.status_code == 302
    assert response["Location"] == reverse("subscriptions:service", args=[legal.organization_id, service.pk])
    assert service.status == Service.Status.TERMINATED
    assert service.terminated_at == NOW
    event = AuditEvent.objects.get(action="service.terminated", object_id=str(service.pk))
    assert (event.rule, event.actor_user_id, event.client_address) == ("SLA-9", legal.user_id, "203.0.113.9")
    followed = client.get(response["Location"])
    assert messages_of(followed) == ["The Service is terminated and its data deleted."]


def test_sla9_a_force_majeure_that_ended_refuses_the_termination_and_nothing_changes() -> None:
    # given
    legal = member()
    service, _invoice = paid_service(legal)
    storm = incident(service, cause="force_majeure", start=at(2026, 4, 8, 6, 0), minutes=60)
    before = snapshot()

    # when
    page = browser(legal).get(terminate_url(legal, service, storm))
    response = browser(legal).post(terminate_url(legal, service, storm), {"confirm": "on"})

    # then
    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == ["No force majeure affecting this Service is going on."]
    for shown in (page, response):
        html = shown.content.decode()
        assert "This force majeure is over" in html and 'name="confirm"' not in html
    assert snapshot() == before


def test_sla9_an_incident_that_did_not_affect_the_service_is_404() -> None:
    legal = member()
    service, _invoice = paid_service(legal)
    other, _invoice = paid_service(legal)
    storm = incident(other, cause="force_majeure", start=at(2026, 4, 8, 6, 0))
    before = snapshot()

    assert browser(legal).get(terminate_url(legal, service, storm)).status_code == 404
    assert browser(legal).post(terminate_url(legal, service, storm), {"confirm": "on"}).status_code == 404
    assert snapshot() == before


@pytest.mark.parametrize("role", [Role.TECHNICAL, Role.BILLING])
def test_org5_a_member_who_may_not_terminate_gets_403_and_nothing_changes(role: str) -> None:
    # given
    legal = member()
    service, _invoice = paid_service(legal)
    storm = incident(service, cause="force_majeure", start=at(2026, 4, 8, 6, 0))
    colleague = member(role, organization=legal.organization)
    before = snapshot()

    # when
    page = browser(colleague).get(terminate_url(colleague, service, storm))
    response = browser(colleague).post(terminate_url(colleague, service, storm), {"confirm": "on"})

    # then
    assert (page.status_code, response.status_code) == (403, 403)
    assert snapshot() == before


# --- tenancy -------------------------------------------------------------------------------------


def test_tenancy_another_organizations_sla_and_force_majeure_pages_are_404() -> None:
    # given
    mine = member()
    theirs = member()
    service, _invoice = paid_service(theirs)
    incident(service, start=OUTAGE, minutes=12, title="Their outage")
    storm = incident(service, cause="force_majeure", start=at(2026, 4, 8, 6, 0))
    before = snapshot()
    client = browser(mine)

    # when: under their Organization, and under mine with their Service
    answers = [
        client.get(sla_url(theirs, service)),
        client.get(sla_url(mine, service)),
        client.get(terminate_url(theirs, service, storm)),
        client.get(terminate_url(mine, service, storm)),
        client.post(terminate_url(theirs, service, storm), {"confirm": "on"}),
        client.post(terminate_url(mine, service, storm), {"confirm": "on"}),
    ]

    # then
    assert [answer.status_code for answer in answers] == [404] * 6
    assert all(b"Their outage" not in answer.content for answer in answers)
    assert snapshot() == before


def test_org6_a_member_limited_to_other_services_gets_404() -> None:
    # given an administrator limited to another Service of the Organization
    legal = member()
    service, _invoice = paid_service(legal)
    other, _invoice = paid_service(legal)
    storm = incident(service, cause="force_majeure", start=at(2026, 4, 8, 6, 0))
    limited = scoped(legal, Role.ADMINISTRATOR, other)
    before = snapshot()
    client = browser(limited)

    # when
    answers = [
        client.get(sla_url(limited, service)),
        client.get(terminate_url(limited, service, storm)),
        client.post(terminate_url(limited, service, storm), {"confirm": "on"}),
    ]

    # then
    assert [answer.status_code for answer in answers] == [404, 404, 404]
    assert snapshot() == before
    assert client.get(sla_url(limited, other)).status_code == 200


# --- the SLA section: every Service of the member ----------------------------------------------


def overview_url(membership: Membership) -> str:
    return reverse("sla:overview", args=[membership.organization_id])


def service_rows(html: str) -> dict[str, list[str]]:
    rows = re.findall(r'<tr data-service="(\d+)">(.*?)</tr>', html, re.S)
    return {
        pk: [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", body, re.S)]
        for pk, body in rows
    }


def test_sla1_the_sla_section_gives_each_service_its_availability_this_month() -> None:
    # given two Services of mine, one with 12 minutes down this April, and another Organization's
    legal = member()
    down, _ = paid_service(legal)
    fine, _ = paid_service(legal)
    other_legal = member()
    theirs, _ = paid_service(other_legal)
    shared = incident(down, theirs, start=at(2026, 4, 2, 8, 0), minutes=12, title="Region outage")
    maintenance(fine, start=at(2026, 4, 20, 8, 0), minutes=60)

    # when
    html = browser(legal).get(overview_url(legal)).content.decode()

    # then: 12 minutes of the 13,560 elapsed this month (10 April, 10:00): 99.912 %
    assert service_rows(html) == {
        str(down.pk): [f"{down.plan} active", "99.912 %", "12.00", "yes"],
        str(fine.pk): [f"{fine.plan} active", "100.000 %", "0.00", "yes"],
    }
    incident_row = re.search(rf'<tr id="incident-{shared.pk}">(.*?)</tr>', html, re.S)
    assert incident_row is not None
    assert str(down.plan) in incident_row[1]
    assert str(theirs.plan) not in incident_row[1]  # another Organization's Service is never named
    assert 'id="maintenance-' in html


def test_tenancy_the_sla_section_of_another_organization_is_404_and_org6_limits_it() -> None:
    legal = member()
    mine, _ = paid_service(legal)
    hidden, _ = paid_service(legal)
    incident(hidden, start=at(2026, 4, 2, 8, 0), minutes=12, title="Hidden outage")
    limited = scoped(legal, Role.TECHNICAL, mine)

    assert browser(member()).get(overview_url(legal)).status_code == 404
    html = browser(limited).get(overview_url(legal)).content.decode()
    assert list(service_rows(html)) == [str(mine.pk)]
    assert "Hidden outage" not in html


def test_the_sla_section_costs_the_same_queries_for_1_and_5_services_with_incidents_maintenance_and_claims() -> None:
    def count(legal: Membership) -> int:
        client = browser(legal)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(overview_url(legal)).status_code == 200
        return len(queries)

    def populate(legal: Membership, count: int) -> None:
        for _ in range(count):
            service, _ = paid_service(legal)
            incident(service, start=at(2026, 4, 2, 8, 0), minutes=12)
            maintenance(service, start=at(2026, 4, 20, 8, 0), minutes=60)
            claim_ticket(service, start=at(2026, 4, 2, 8, 0), end=at(2026, 4, 2, 8, 12), filed=at(2026, 4, 3, 8, 0))

    one, five = member(), member()
    populate(one, 1)
    populate(five, 5)

    assert count(one) == count(five)
