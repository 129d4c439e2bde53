"""SPEC SLA-1, SLA-2, SLA-3, SLA-4, SLA-7: the SLA arithmetic as pure functions (no database)."""

import datetime as dt
from decimal import Decimal

import pytest

from core.clock import ZURICH
from sla import engine
from sla.models import PenaltyStep

D = Decimal


def z(*args: int) -> dt.datetime:
    """A Zurich wall-clock instant."""
    return dt.datetime(*args, tzinfo=ZURICH)


def u(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


def test_spans_merge_subtract_clip_and_count() -> None:
    # given overlapping and touching spans
    a, b, c = (
        (u(2026, 3, 1, 8), u(2026, 3, 1, 9)),
        (u(2026, 3, 1, 8, 30), u(2026, 3, 1, 10)),
        (u(2026, 3, 1, 10), u(2026, 3, 1, 11)),
    )
    # then
    assert engine.merge([c, a, b]) == [(u(2026, 3, 1, 8), u(2026, 3, 1, 11))]
    assert engine.seconds([a, b]) == 2 * 3600  # overlapping time counted once
    hole = (u(2026, 3, 1, 8, 15), u(2026, 3, 1, 8, 45))
    assert engine.subtract([a], [hole]) == [
        (u(2026, 3, 1, 8), u(2026, 3, 1, 8, 15)),
        (u(2026, 3, 1, 8, 45), u(2026, 3, 1, 9)),
    ]
    assert engine.clip([a], (u(2026, 3, 1, 8, 40), u(2026, 3, 2))) == [(u(2026, 3, 1, 8, 40), u(2026, 3, 1, 9))]


def test_sla2_durations_are_exact_not_cut_to_whole_seconds() -> None:
    # given a class-A failure of 5 min 0.5 s, and one of 5 min 0.000001 s
    start = u(2026, 3, 1, 8)
    half = (start, start + dt.timedelta(minutes=5, milliseconds=500))
    micro = (start, start + dt.timedelta(minutes=5, microseconds=1))
    # then they count exactly, and each exceeds the 5 minutes class A allows
    assert engine.counted_seconds(half, []) == D("300.5")
    assert engine.counted_seconds(micro, []) == D("300.000001")
    assert engine.is_occurrence(engine.counted_seconds(half, []), 5) is True
    assert engine.is_occurrence(engine.counted_seconds(micro, []), 5) is True
    assert engine.a2_minutes(engine.counted_seconds(half, []), 5) == 0
    assert engine.a2_minutes(D("359.999999"), 5) == 0
    assert engine.a2_minutes(D("360"), 5) == 1
    # and maintenance leaves the fraction where it was
    maintenance = [(start - dt.timedelta(minutes=1), start + dt.timedelta(seconds=10))]
    assert engine.counted_seconds(half, maintenance) == D("290.5")


def test_sla7_maintenance_is_taken_out_of_an_incident() -> None:
    incident = (u(2026, 3, 1, 8), u(2026, 3, 1, 8, 20))
    maintenance = [(u(2026, 3, 1, 7, 50), u(2026, 3, 1, 8, 16))]
    assert engine.counted_seconds(incident, maintenance) == 4 * 60


@pytest.mark.parametrize(
    ("counted", "allowance", "occurrence", "a2"),
    [
        (300, 5, False, 0),  # A: exactly 5 minutes is allowed
        (301, 5, True, 0),  # 5 min 1 s is an occurrence, no complete further minute
        (359, 5, True, 0),
        (360, 5, True, 1),  # one complete further minute
        (12 * 60 + 59, 5, True, 7),
        (3600, 60, False, 0),  # B, C: 60 minutes
        (3601, 60, True, 0),
        (7200, 120, False, 0),  # D, E: 120 minutes
        (7201, 120, True, 0),
    ],
)
def test_sla2_allowance_boundaries_and_a2_minutes(counted: int, allowance: int, occurrence: bool, a2: int) -> None:
    assert engine.is_occurrence(counted, allowance) is occurrence
    assert engine.a2_minutes(counted, allowance) == a2


A_STEPS = [(1, D("10")), (2, D("20")), (3, D("30")), (4, D("50"))]
BE_STEPS = [(2, D("5")), (4, D("10")), (6, D("20")), (8, D("30"))]


@pytest.mark.parametrize(("rank", "percent"), [(1, "10"), (2, "20"), (3, "30"), (4, "50"), (5, "50"), (9, "50")])
def test_sla3_class_a_steps_by_occurrence(rank: int, percent: str) -> None:
    assert engine.step_percent(A_STEPS, rank) == D(percent)


@pytest.mark.parametrize(
    ("rank", "percent"),
    [(1, "0"), (2, "5"), (3, "5"), (4, "10"), (5, "10"), (6, "20"), (7, "20"), (8, "30"), (12, "30")],
)
def test_sla3_classes_b_to_e_steps_by_occurrence(rank: int, percent: str) -> None:
    assert engine.step_percent(BE_STEPS, rank) == D(percent)


@pytest.mark.parametrize(
    ("amount", "already", "expected"),
    [
        ("10.81", "0.00", "10.81"),
        ("54.05", "0.00", "54.05"),
        ("54.06", "0.00", "54.05"),
        ("32.43", "32.43", "21.62"),
        ("5.00", "54.05", "0.00"),
    ],
)
def test_sla4_the_cap_is_half_of_the_invoice_across_penalties(amount: str, already: str, expected: str) -> None:
    assert engine.capped(D(amount), base=D("108.10"), cap_percent=D("50"), already=D(already)) == D(expected)


def test_sla1_minutes_in_a_zurich_month_follow_the_change_of_time() -> None:
    march = engine.month_span(2026, 3)
    october = engine.month_span(2026, 10)
    april = engine.month_span(2026, 4)
    assert march == (u(2026, 2, 28, 23), u(2026, 3, 31, 22))
    assert (march[1] - march[0]).total_seconds() == 31 * 86400 - 3600
    assert (october[1] - october[0]).total_seconds() == 31 * 86400 + 3600
    assert (april[1] - april[0]).total_seconds() == 30 * 86400


def test_sla1_availability_percent() -> None:
    march = 31 * 86400 - 3600
    assert engine.availability_percent(march, 0) == D("100.000")
    assert engine.availability_percent(march, 12 * 60) == D("99.973")
    assert engine.availability_percent(30 * 86400, 43 * 60) == D("99.900")  # 43 min in 30 days: just at 99.9
    assert engine.availability_percent(30 * 86400, 44 * 60) == D("99.898")


@pytest.mark.parametrize(
    ("start", "end", "hours"),
    [
        (z(2026, 12, 4, 10), z(2026, 12, 7, 10), 24),  # Friday 10:00 → Monday 10:00: the weekend skipped
        (z(2026, 12, 4, 10), z(2026, 12, 8, 10), 48),  # → Tuesday 10:00
        (z(2026, 12, 7, 10), z(2026, 12, 9, 10), 48),  # Monday → Wednesday
        (z(2026, 12, 5, 9), z(2026, 12, 6, 22), 0),  # within a weekend
        (z(2026, 3, 27, 12), z(2026, 3, 31, 12), 48),  # across the change of time on Sunday 29 March
    ],
)
def test_sla7_business_hours_skip_weekends(start: dt.datetime, end: dt.datetime, hours: int) -> None:
    assert engine.business_seconds_between(start, end) == hours * 3600


def test_sla7_business_time_is_exact() -> None:
    # given an announcement at 10:00:00.5 on a Monday for a start 48 hours later, to the microsecond
    announced = z(2026, 12, 7, 10, 0, 0, 500000)
    # then the notice is 48 hours exactly, not a second short of it
    assert engine.business_seconds_between(announced, announced + dt.timedelta(hours=48)) == 48 * 3600
    assert engine.business_seconds_between(announced, z(2026, 12, 9, 10)) == D("172799.5")


# --- what may still happen (the admin's buttons and forms, the services' checks) -------------------


def test_sla2_an_incident_is_resolvable_only_while_it_goes_on() -> None:
    assert engine.incident_resolvable(None) is True
    assert engine.incident_resolvable(u(2026, 3, 1, 8, 0)) is False


@pytest.mark.parametrize(
    ("cause", "resolved_at", "expected"),
    [
        ("force_majeure", None, True),
        ("force_majeure", u(2026, 3, 1, 8, 0), False),
        ("provider", None, False),
        ("beyond_control", None, False),
    ],
)
def test_sla9_only_a_force_majeure_still_going_on_allows_termination(
    cause: str, resolved_at: dt.datetime | None, expected: bool
) -> None:
    assert engine.force_majeure_going_on(cause, resolved_at) is expected


def test_sla5_only_a_pending_claim_is_decided() -> None:
    assert [status for status in ("pending", "accepted", "refused") if engine.claim_decidable(status)] == ["pending"]


def test_sla6_every_cause_but_the_providers_excludes_a_penalty() -> None:
    assert [cause.value for cause in engine.excluding_causes()] == [
        "beyond_control",
        "customer_misuse",
        "planned_maintenance",
        "tcu_block",
        "force_majeure",
    ]


def test_sla2_a_schedule_names_the_classes_it_gives_no_allowance() -> None:
    assert engine.missing_allowances(["A", "C", "E"]) == ["B", "D"]
    assert engine.missing_allowances(["A", "B", "C", "D", "E"]) == []


def test_sla3_a_schedule_has_steps_for_class_a_and_for_classes_b_to_e() -> None:
    groups = list(PenaltyStep.Group.values)
    assert engine.steps_complete(groups) is True
    assert engine.steps_complete(groups[:1]) is False
    assert engine.steps_complete([]) is False


@pytest.mark.parametrize(
    ("valid_from", "used", "frozen"),
    [
        (dt.date(2026, 3, 2), False, False),  # not yet in force, never used: may change or go
        (dt.date(2026, 3, 1), False, True),  # in force from today
        (dt.date(2026, 2, 1), False, True),
        (dt.date(2026, 3, 2), True, True),  # a penalty was computed with it
    ],
)
def test_sla2_a_schedule_in_force_or_used_by_a_penalty_never_changes(
    valid_from: dt.date, used: bool, frozen: bool
) -> None:
    assert engine.schedule_frozen(valid_from=valid_from, today=dt.date(2026, 3, 1), used_by_penalty=used) is frozen
