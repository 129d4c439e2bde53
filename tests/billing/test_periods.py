"""SPEC TIME-3: terms computed from the anchor, never from the previous expiry."""

import datetime as dt

import pytest

from billing.periods import term_end, term_start


@pytest.mark.parametrize(
    ("anchor", "period", "expiries"),
    [
        (
            dt.date(2026, 1, 31),
            "monthly",
            [dt.date(2026, 2, 28), dt.date(2026, 3, 31), dt.date(2026, 4, 30), dt.date(2026, 5, 31)],
        ),
        (dt.date(2028, 1, 31), "monthly", [dt.date(2028, 2, 29), dt.date(2028, 3, 31)]),  # leap year
        (
            dt.date(2028, 2, 29),
            "annual",
            [dt.date(2029, 2, 28), dt.date(2030, 2, 28), dt.date(2031, 2, 28), dt.date(2032, 2, 29)],
        ),
        (dt.date(2026, 11, 30), "quarterly", [dt.date(2027, 2, 28), dt.date(2027, 5, 30), dt.date(2027, 8, 30)]),
        (dt.date(2026, 3, 15), "monthly", [dt.date(2026, 4, 15), dt.date(2026, 5, 15)]),
    ],
)
def test_time3_term_k_ends_on_anchor_plus_k_periods(anchor: dt.date, period: str, expiries: list[dt.date]) -> None:
    assert [term_end(anchor, period, k) for k in range(1, len(expiries) + 1)] == expiries


def test_time3_a_term_starts_where_the_previous_one_ends() -> None:
    anchor = dt.date(2026, 1, 31)

    assert term_start(anchor, "monthly", 1) == anchor
    assert term_start(anchor, "monthly", 3) == term_end(anchor, "monthly", 2) == dt.date(2026, 3, 31)


def test_time3_chaining_expiries_would_drift_and_is_not_what_we_do() -> None:
    anchor = dt.date(2026, 1, 31)
    chained = term_end(term_end(anchor, "monthly", 1), "monthly", 1)  # 28 Feb + 1 month

    assert chained == dt.date(2026, 3, 28)
    assert term_end(anchor, "monthly", 2) == dt.date(2026, 3, 31)


def test_service_status_transitions_are_only_those_allowed() -> None:
    from subscriptions.models import Service

    allowed = {
        (source, target)
        for source in Service.Status
        for target in Service.Status
        if Service(status=source).can_become(target)
    }

    assert allowed == {
        ("awaiting_payment", "active"), ("awaiting_payment", "terminated"),
        ("trial", "active"), ("trial", "suspended"), ("trial", "terminated"),
        ("active", "suspended"), ("active", "terminated"),
        ("suspended", "active"), ("suspended", "trial"), ("suspended", "terminated"),
    }
