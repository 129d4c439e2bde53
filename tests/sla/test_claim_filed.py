"""The SLA page shows that a claim is filed for an incident already claimed: no Claim button, a
disabled "Claim filed" and the way to its ticket."""

import datetime as dt
import re
from collections.abc import Iterator

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import translation

from sla.services import claim_accept
from tests.factories import member
from tests.sla.helpers import at, claim_ticket, incident, paid_service, schedule, staff_user

pytestmark = pytest.mark.django_db

NOW = at(2026, 4, 10, 8, 0)
OUTAGE = at(2026, 3, 10, 8, 0)


@pytest.fixture(autouse=True)
def frozen() -> Iterator[None]:
    schedule()
    with time_machine.travel(NOW, tick=False), translation.override("en"):
        yield


def _cell(html: str, incident_id: int) -> str:
    row = re.search(rf'<tr id="incident-{incident_id}">(.*?)</tr>', html, re.S)
    assert row is not None
    return re.findall(r"<td>(.*?)</td>", row[1], re.S)[-1]


def test_a_pending_claim_shows_claim_filed_and_its_ticket_instead_of_the_button() -> None:
    legal = member()
    service, _invoice = paid_service(legal)
    claimed = incident(service, start=OUTAGE, minutes=12)
    other = incident(service, start=at(2026, 3, 20, 8, 0), minutes=12)
    claim = claim_ticket(service, start=OUTAGE, end=OUTAGE + dt.timedelta(minutes=12), filed=at(2026, 3, 11, 8, 0))
    client = Client()
    client.force_login(legal.user)

    html = client.get(reverse("sla:service_sla", args=[legal.organization_id, service.pk])).content.decode()

    ticket = reverse("support:ticket", args=[legal.organization_id, claim.ticket_id])
    assert _cell(html, claimed.pk) == (
        '<button type="button" class="secondary claim" disabled>Claim filed</button><br>'
        f'<a href="{ticket}">See the ticket</a>'
    )
    assert '<a class="button claim"' in _cell(html, other.pk)
    assert "Claim filed" not in _cell(html, other.pk)


def test_an_accepted_claim_linked_to_its_incident_shows_claim_filed() -> None:
    legal = member()
    service, _invoice = paid_service(legal)
    outage = incident(service, start=OUTAGE, minutes=12)
    claim = claim_ticket(service, start=OUTAGE, end=OUTAGE + dt.timedelta(minutes=12), filed=at(2026, 3, 11, 8, 0))
    claim_accept(claim=claim, incident=outage, staff_user=staff_user(), now=at(2026, 3, 12, 8, 0))
    client = Client()
    client.force_login(legal.user)

    response = client.get(reverse("sla:service_sla", args=[legal.organization_id, service.pk]))

    [row] = response.context["incidents"]
    assert (row.claim_url, row.filed) == ("", claim)
    assert "Claim filed" in _cell(response.content.decode(), outage.pk)


def test_an_incident_nobody_claimed_and_past_its_deadline_shows_nothing() -> None:
    legal = member()
    service, _invoice = paid_service(legal)
    late = incident(service, start=at(2026, 2, 9, 8, 0), minutes=12)
    client = Client()
    client.force_login(legal.user)

    html = client.get(reverse("sla:service_sla", args=[legal.organization_id, service.pk])).content.decode()

    assert _cell(html, late.pk) == ""
