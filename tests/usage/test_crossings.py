"""USE-5 thresholds and USE-6 budgets crossed by accepted values: notices at 80/100 % (thresholds) and
50/80/100 % (budgets, VAT included) once each per month, the Service limited at a threshold's 100 % or
at the budget when the customer asked, evidence for every crossing and limit; cheap when no Service
has either."""

import datetime as dt
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit.models import AuditEvent
from notifications.models import Notification
from tests.factories import UserFactory
from tests.usage.metering import NOW, actor, resources, usage_service, value
from usage import engine
from usage.models import Alert, Budget, Limit, Rate, RateCard, Threshold
from usage.services.ingest import values_record

pytestmark = pytest.mark.django_db

H = dt.datetime(2026, 3, 20, 0, 0, tzinfo=dt.UTC)
MARCH = dt.date(2026, 3, 1)


def record(*values: dict) -> object:
    return values_record(values=list(values), actor=actor(), now=NOW)


def hours(service, total: Decimal, count: int, start: int = 0, resource: str = "storage") -> list[dict]:  # noqa: ANN001
    """`count` hourly values from H + start hours adding up to `total`."""
    each = total / count
    return [value(service, H + (start + n) * engine.HOUR, each, resource=resource) for n in range(count)]


def alerts(service) -> list[tuple]:  # noqa: ANN001
    return sorted(Alert.objects.filter(service=service).values_list("month", "kind", "resource__slug", "level"))


def limits(service) -> list[tuple]:  # noqa: ANN001
    return sorted(Limit.objects.filter(service=service).values_list("month", "reason", "resource__slug", "since"))


def notices(service) -> list[tuple]:  # noqa: ANN001
    # As instances, as every reader gets them: a notice of a batch stores its text at delivery, and
    # a row read before that renders it from its stored context (notifications.deferred).
    rows = Notification.objects.filter(organization=service.organization).order_by("pk")
    return [(notice.template, notice.channel, notice.subject) for notice in rows]


def events(service) -> list[tuple]:  # noqa: ANN001
    return list(
        AuditEvent.objects.filter(object_type="subscriptions.service", object_id=str(service.pk))
        .order_by("pk")
        .values_list("action", "rule", "after")
    )


def test_use5_80_and_100_percent_of_the_plans_threshold_are_told_once_each_and_100_limits() -> None:
    # given a usage Service whose plan has a storage threshold of 1,000 GB-hours a month
    service = usage_service()
    Threshold.objects.create(plan=service.plan, resource=resources()["storage"], quantity=1000, updated_at=NOW)

    # when 799 then 1 more GB-hours are reported (80 % reached), then the same values again
    record(*hours(service, Decimal(799), 2))
    assert alerts(service) == []
    record(value(service, H + 5 * engine.HOUR, 1))
    record(value(service, H + 5 * engine.HOUR, 1), *hours(service, Decimal(799), 2))

    # then the customer is told once, by e-mail and in the inbox, and nothing is limited
    assert alerts(service) == [(MARCH, "threshold", "storage", 80)]
    subject = f"Your Service {service.plan} has used 80% of its Storage threshold"
    assert notices(service) == [("usage_threshold", "email", subject), ("usage_threshold", "inbox", subject)]
    assert limits(service) == []
    assert events(service) == [
        (
            "usage.threshold_crossed",
            "USE-5",
            {
                "month": "2026-03-01",
                "kind": "threshold",
                "resource": "storage",
                "level": 80,
                "threshold": "1000.000000",
                "figure": "800.000000",
            },
        )
    ]

    # when 200 more arrive (100 % reached)
    record(value(service, H + 6 * engine.HOUR, 200))

    # then told again, and the Service is limited from now on
    assert alerts(service) == [(MARCH, "threshold", "storage", 80), (MARCH, "threshold", "storage", 100)]
    assert limits(service) == [(MARCH, "threshold", "storage", NOW)]
    email = Notification.objects.filter(channel="email").order_by("pk").last()
    assert email.subject == f"Your Service {service.plan} is limited: the Storage threshold is reached"
    assert email.body == (
        f"This month (March 2026), your Service {service.plan} has used 1000 GB-hours of Storage: 100% of the "
        "consumption threshold of 1000 GB-hours a month that we set for it.\n\n"
        "The threshold is reached, so the Service is now limited: it may not use more of this resource until the "
        "end of the month, or until our staff lift the limit. Contact our support if you need more.\n\n"
        "This threshold is ours (the provider's), set for the resource. It is not the budget you may set yourself "
        f"for the Service's monthly amount.\n{settings.PORTAL_URL}"
    )
    assert [(action, rule) for action, rule, _after in events(service)[1:]] == [
        ("usage.threshold_crossed", "USE-5"),
        ("usage.limited", "USE-5"),
    ]


def test_use5_the_services_own_threshold_overrides_its_plans_and_a_jump_is_told_once() -> None:
    # given a plan threshold of 10 IPv4-hours, and the Service's own of 100
    service = usage_service()
    ipv4 = resources()["public-ipv4"]
    Threshold.objects.create(plan=service.plan, resource=ipv4, quantity=10, updated_at=NOW)
    Threshold.objects.create(service=service, resource=ipv4, quantity=100, updated_at=NOW)

    # when 50 are used (past the plan's, half the Service's own), then 120 more at once
    record(*hours(service, Decimal(50), 5, resource="public-ipv4"))
    assert alerts(service) == []
    record(*hours(service, Decimal(120), 4, start=5, resource="public-ipv4"))

    # then both levels are recorded, the customer told once (at 100 %), and the Service limited
    assert alerts(service) == [(MARCH, "threshold", "public-ipv4", 80), (MARCH, "threshold", "public-ipv4", 100)]
    assert [template for template, channel, _ in notices(service) if channel == "email"] == ["usage_threshold"]
    assert limits(service) == [(MARCH, "threshold", "public-ipv4", NOW)]
    assert [action for action, _rule, _after in events(service)] == [
        "usage.threshold_crossed",
        "usage.threshold_crossed",
        "usage.limited",
    ]


def _budget(service, amount: str, *, limit: bool) -> None:  # noqa: ANN001
    card = RateCard.objects.create(plan=service.plan, currency="CHF", valid_from=dt.date(2026, 1, 1), created_at=NOW)
    Rate.objects.create(rate_card=card, resource=resources()["storage"], rate=Decimal("0.01"))
    Budget.objects.create(
        service=service, amount=Decimal(amount), limit_at_budget=limit, updated_at=NOW, updated_by=UserFactory()
    )


def test_use6_budget_alerts_at_50_80_100_percent_vat_included_and_the_limit_asked_for() -> None:
    # given a budget of CHF 20.00 with "limit at budget", storage at CHF 0.01 a GB-hour, Swiss VAT 8.1 %
    service = usage_service()
    _budget(service, "20.00", limit=True)

    # when 1,000 GB-hours are used (CHF 10.00 + 0.81 VAT = 10.81: 54 %)
    record(*hours(service, Decimal(1000), 4))
    # then the 50 % alert, no limit
    assert alerts(service) == [(MARCH, "budget", None, 50)]
    assert limits(service) == []

    # when 500 more (16.22: 81 %), then 350 more (18.50 + 1.50 = 20.00: 100 %)
    record(*hours(service, Decimal(500), 2, start=4))
    record(*hours(service, Decimal(350), 1, start=6))

    # then each level once, limited at the budget, each recorded with USE-6
    assert alerts(service) == [(MARCH, "budget", None, 50), (MARCH, "budget", None, 80), (MARCH, "budget", None, 100)]
    assert limits(service) == [(MARCH, "budget", None, NOW)]
    assert [(action, rule, after.get("level"), after["figure"]) for action, rule, after in events(service)] == [
        ("usage.budget_crossed", "USE-6", 50, "10.81"),
        ("usage.budget_crossed", "USE-6", 80, "16.22"),
        ("usage.budget_crossed", "USE-6", 100, "20.00"),
        ("usage.limited", "USE-6", None, "20.00"),
    ]
    email = Notification.objects.filter(channel="email").order_by("pk").last()
    assert email.subject == f"Your Service {service.plan} reached your budget and is now limited"
    assert "CHF 20.00 (VAT included): 100% of the monthly budget of CHF 20.00 that you set" in email.body
    assert "separate from the consumption thresholds we (the provider) set" in email.body


def test_use6_a_budget_without_a_limit_only_warns() -> None:
    service = usage_service()
    _budget(service, "5.00", limit=False)

    record(*hours(service, Decimal(1000), 4))  # CHF 10.81: past 100 % at once

    assert alerts(service) == [(MARCH, "budget", None, 50), (MARCH, "budget", None, 80), (MARCH, "budget", None, 100)]
    assert limits(service) == []
    email = Notification.objects.get(channel="email")
    assert "Nothing is limited: your budget only warns you." in email.body


@pytest.mark.postgres
def test_use5_use6_crossings_cost_the_same_queries_for_one_service_as_for_ten() -> None:
    # given Services with a plan threshold and budgets, in two groups of 1 and 10
    groups = {"one": [usage_service()], "ten": [usage_service() for _ in range(10)]}
    for services in groups.values():
        for service in services:
            Threshold.objects.create(plan=service.plan, resource=resources()["storage"], quantity=10, updated_at=NOW)
            _budget(service, "0.05", limit=True)
    warm_up = usage_service()
    record(value(warm_up, H, 1))
    record(value(warm_up, H, 2))  # a correction: the audit chain's head exists

    # when each group's values cross every level at once
    counts = {}
    for name, services in groups.items():
        with CaptureQueriesContext(connection) as queries:
            record(*[value(service, H, 20) for service in services])
        counts[name] = len(queries)
        assert Limit.objects.filter(service__in=services).count() == 2 * len(services)

    # then both cost the same
    assert counts["one"] == counts["ten"], counts
