"""USE-3, USE-4, USE-8: a usage Service's timeline shows the next invoice date, the due date, the
debit attempts and what happens if it stays unpaid — the dates the daily jobs select by."""

import datetime as dt

import pytest
from django.urls import reverse

from subscriptions.timeline import service_timeline
from tests.factories import member
from tests.subscriptions.lifecycle.helpers import CARD_DECLINED, customer, live
from tests.usage.invoicing_helpers import NOVEMBER, month_of_values, usage_service

pytestmark = pytest.mark.django_db

D = dt.date


def _coming(svc, today):  # noqa: ANN001, ANN202
    return [(e.day, e.kind, e.rule) for e in service_timeline(svc, today=today) if not e.past]


def test_use4_the_timeline_shows_attempts_to_the_due_date_suspension_termination_and_the_next_invoice() -> None:
    legal = customer(card=CARD_DECLINED)
    svc = usage_service(legal)
    month_of_values(svc, D(2026, 11, 1), NOVEMBER)
    live(D(2026, 12, 1))

    coming = _coming(svc, D(2026, 12, 2))

    assert coming == [
        (D(2026, 12, 2), "debit_attempt", "USE-4"),
        (D(2026, 12, 11), "debit_retries", "USE-4"),
        (D(2026, 12, 11), "suspension", "USE-4"),
        (D(2026, 12, 25), "termination", "USE-4"),
        (D(2027, 1, 1), "usage_invoice", "USE-3"),
    ]
    past = [(e.day, e.kind, e.rule) for e in service_timeline(svc, today=D(2026, 12, 2)) if e.past]
    assert (D(2026, 12, 1), "debit_attempt", "USE-4") in past


def test_use8_a_usage_trial_shows_its_end_and_the_next_invoice() -> None:
    legal = customer()
    svc = usage_service(legal, status="trial", trial_ends_on=D(2026, 12, 20), activated_at=None)

    assert _coming(svc, D(2026, 12, 5)) == [
        (D(2026, 12, 20), "trial_end", "USE-8"),
        (D(2027, 1, 1), "usage_invoice", "USE-3"),
    ]


def test_use4_the_service_page_shows_it_and_another_organization_gets_a_404(client) -> None:  # noqa: ANN001
    legal = customer(card=CARD_DECLINED)
    svc = usage_service(legal)
    month_of_values(svc, D(2026, 11, 1), NOVEMBER)
    live(D(2026, 12, 1))
    url = reverse("subscriptions:service", kwargs={"org_id": legal.organization_id, "service_id": svc.pk})

    client.force_login(legal.user)
    page = client.get(url).content.decode()
    client.force_login(member().user)
    stranger = client.get(url)

    assert "Suspended if invoice" in page and "Usage invoice for" in page
    assert stranger.status_code == 404
