"""The API's lists page by keyset (core.keyset): newest first, `?before=` the last row shown, ties of
the creation instant broken by id, and a `before` the member cannot see refused like one that does
not exist (tenancy, ORG-6)."""

import datetime as dt

import pytest
from django.test import Client

from core import keyset
from subscriptions.models import MembershipServiceScope
from support.models import Ticket
from tests.billing.factories import ServiceFactory
from tests.dashboard.helpers import monthly_plan
from tests.factories import member

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)


def _ticket(membership, created_at: dt.datetime) -> Ticket:  # noqa: ANN001
    return Ticket.objects.create(
        organization=membership.organization,
        kind=Ticket.Kind.TECHNICAL,
        subject="Question",
        language="en",
        opened_by=membership.user,
        created_at=created_at,
        updated_at=created_at,
    )


def _walk(client: Client, url: str) -> list[list[int]]:
    """Every page's ids, following the Link headers."""
    pages = []
    while url:
        answer = client.get(url)
        assert answer.status_code == 200
        pages.append([row["id"] for row in answer.json()])
        url = answer["Link"].split(">")[0][1:] if "Link" in answer else ""
    return pages


def test_org6_services_and_tickets_created_at_the_same_instant_are_each_listed_once(monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(keyset, "API_PAGE_SIZE", 2)
    legal = member()
    plan = monthly_plan("Keyset hosting")
    instants = [NOW, NOW, NOW, NOW - dt.timedelta(hours=1), NOW]  # three at one instant, across a page's end
    services = [ServiceFactory(organization=legal.organization, plan=plan, created_at=at) for at in instants]
    tickets = [_ticket(legal, at) for at in instants]
    client = Client()
    client.force_login(legal.user)
    org = legal.organization_id

    def newest_first(rows) -> list[int]:  # noqa: ANN001
        return [row.pk for row in sorted(rows, key=lambda row: (row.created_at, row.pk), reverse=True)]

    expected_services, expected_tickets = newest_first(services), newest_first(tickets)
    assert _walk(client, f"/api/v1/organizations/{org}/services/") == [
        expected_services[0:2],
        expected_services[2:4],
        expected_services[4:5],
    ]
    assert _walk(client, f"/api/v1/organizations/{org}/tickets/") == [
        expected_tickets[0:2],
        expected_tickets[2:4],
        expected_tickets[4:5],
    ]


@pytest.mark.parametrize("what", ["services", "tickets"])
def test_org6_a_before_of_another_organization_or_out_of_scope_is_refused_as_one_that_does_not_exist(what: str) -> None:
    legal, other = member(), member()
    plan = monthly_plan("Keyset hosting")
    own = ServiceFactory(organization=legal.organization, plan=plan, created_at=NOW)
    foreign = ServiceFactory(organization=other.organization, plan=plan, created_at=NOW)
    own_ticket, foreign_ticket = _ticket(legal, NOW), _ticket(other, NOW)
    # a member limited to another of the Organization's Services (ORG-6) sees neither `own` nor its ticket
    limited = member(organization=legal.organization, role="technical")
    hidden = ServiceFactory(organization=legal.organization, plan=plan, created_at=NOW)
    MembershipServiceScope.objects.create(membership=limited, service=hidden)
    own_ticket.service = own
    own_ticket.save(update_fields=["service"])
    ids = {"services": (own.pk, foreign.pk), "tickets": (own_ticket.pk, foreign_ticket.pk)}[what]
    client, limited_client = Client(), Client()
    client.force_login(legal.user)
    limited_client.force_login(limited.user)
    org = legal.organization_id
    url = f"/api/v1/organizations/{org}/{what}/"

    answers = {
        "foreign": client.get(f"{url}?before={ids[1]}"),
        "missing": client.get(f"{url}?before=999999999"),
        "not a number": client.get(f"{url}?before=x"),
        "out of scope": limited_client.get(f"{url}?before={ids[0]}"),
    }

    message = {"services": "No such Service in this list.", "tickets": "No such ticket in this list."}[what]
    for case, answer in answers.items():
        assert answer.status_code == 400, case
        assert answer.json()["errors"] == {"before": [message]}, case
    assert client.get(f"{url}?before={ids[0]}").json() == []  # its own: the page after it (nothing older)
