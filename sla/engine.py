"""The SLA arithmetic (SPEC SLA-1…SLA-4, SLA-7), as pure functions of plain values: no query here.

Time spans are (start, end) pairs of aware datetimes, end exclusive. Durations are exact: seconds
are a Decimal to the microsecond the database records, never cut to whole seconds (SLA-2: 5 min
0.5 s exceeds 5 min). Money is Decimal (MONEY-1), rounded once with `billing.money.quantize`.

Decisions where the SPEC is silent:
- A2 (SC 10.1.3, "each further minute of A"): the *complete* minutes a class-A incident lasted beyond
  the class-A allowance, each earning the schedule's A2 percentage (5 min 59 s beyond → 5 minutes).
- Occurrence steps (SLA-3): an occurrence earns the step with the highest rank not above its own
  rank — A: 1st 10 %, 2nd 20 %, 3rd 30 %, 4th and every later one 50 %; B–E: the 1st nothing, the
  2nd and 3rd 5 %, the 4th and 5th 10 %, the 6th and 7th 20 %, the 8th and every later one 30 %.
  One rule for both groups, read from the table's "from the Nth occurrence".
- Minutes in a month (SLA-1) are the minutes that really elapse between the first instants of two
  Zurich months: March and October have an hour less / more by the change of time (TIME-1).
"""

import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import Decimal

from dateutil.relativedelta import relativedelta

from billing.money import percent_of
from core.clock import ZURICH
from sla.models import PENALTY_CAUSES, Cause, Claim, IncidentClass, PenaltyStep

Span = tuple[dt.datetime, dt.datetime]

HUNDRED = Decimal(100)


# --- spans -----------------------------------------------------------------------------------


def merge(spans: Iterable[Span]) -> list[Span]:
    """The union of the spans, as disjoint spans in time order."""
    merged: list[Span] = []
    for start, end in sorted(s for s in spans if s[1] > s[0]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def subtract(spans: Iterable[Span], holes: Iterable[Span]) -> list[Span]:
    """What of `spans` lies outside every one of `holes`."""
    result = merge(spans)
    for hole_start, hole_end in merge(holes):
        kept: list[Span] = []
        for start, end in result:
            if hole_end <= start or hole_start >= end:
                kept.append((start, end))
                continue
            if start < hole_start:
                kept.append((start, hole_start))
            if hole_end < end:
                kept.append((hole_end, end))
        result = kept
    return result


def clip(spans: Iterable[Span], window: Span) -> list[Span]:
    low, high = window
    return [(max(s, low), min(e, high)) for s, e in spans if e > low and s < high]


def exact_seconds(duration: dt.timedelta) -> Decimal:
    """A duration in seconds, exactly (no float, nothing cut off)."""
    return Decimal(duration // dt.timedelta(microseconds=1)).scaleb(-6)


def seconds(spans: Iterable[Span]) -> Decimal:
    """The time the spans cover (overlaps once), in exact seconds."""
    return exact_seconds(sum((e - s for s, e in merge(spans)), dt.timedelta(0)))


def counted_seconds(incident: Span, maintenance: Sequence[Span]) -> Decimal:
    """SLA-7: an incident's unavailability that counts — its span less any maintenance window."""
    return seconds(subtract([incident], maintenance))


# --- occurrences and penalties (SLA-2, SLA-3, SLA-4) -----------------------------------------


def is_occurrence(counted: Decimal, allowance_minutes: int) -> bool:
    """SLA-2: an incident is an occurrence when it lasts longer than its class allows, compared
    exactly (5 min is within the class-A allowance, 5 min 0.5 s is not)."""
    return counted > allowance_minutes * 60


def a2_minutes(counted: Decimal, allowance_minutes: int) -> int:
    """The complete minutes of a class-A incident beyond the class-A allowance."""
    return max(0, int((counted - allowance_minutes * 60) // 60))


def step_percent(steps: Sequence[tuple[int, Decimal]], occurrence: int) -> Decimal:
    """The percentage of the highest step whose rank is not above `occurrence` (0 below the first)."""
    earned = Decimal(0)
    for from_occurrence, percent in sorted(steps):
        if from_occurrence <= occurrence:
            earned = percent
    return earned


def capped(amount: Decimal, *, base: Decimal, cap_percent: Decimal, already: Decimal) -> Decimal:
    """SLA-4: what may still be credited on one invoice, whose penalties never exceed `cap_percent`
    of it, given what earlier penalties on it already took."""
    room = percent_of(base, cap_percent) - already
    return max(Decimal(0), min(amount, room))


# --- availability (SLA-1) --------------------------------------------------------------------


def month_span(year: int, month: int) -> Span:
    """The Zurich month as UTC instants (start inclusive, end exclusive)."""
    start = dt.datetime(year, month, 1, tzinfo=ZURICH)
    return start.astimezone(dt.UTC), (start + relativedelta(months=1)).astimezone(dt.UTC)


def availability_percent(total_seconds: Decimal | int, unavailable_seconds: Decimal | int) -> Decimal:
    """SLA-1: (time in the month − counted unavailability) / time in the month, in percent, to three
    decimals (99.9 % is the commitment: 43 s short of it shows)."""
    if total_seconds <= 0:
        return HUNDRED
    value = Decimal(total_seconds - unavailable_seconds) * HUNDRED / Decimal(total_seconds)
    return value.quantize(Decimal("0.001"))


# --- maintenance notice (SLA-7) --------------------------------------------------------------


def business_seconds_between(start: dt.datetime, end: dt.datetime) -> Decimal:
    """The exact seconds from `start` to `end` that fall on a Monday to Friday in Zurich (SLA-7:
    weekends are skipped; every hour of a weekday counts)."""
    if end <= start:
        return Decimal(0)
    total = dt.timedelta(0)
    cursor = start.astimezone(ZURICH)
    stop = end.astimezone(ZURICH)
    while cursor < stop:
        midnight = dt.datetime.combine(cursor.date() + dt.timedelta(days=1), dt.time.min, tzinfo=ZURICH)
        piece_end = min(midnight, stop)
        if cursor.weekday() < 5:
            total += piece_end.astimezone(dt.UTC) - cursor.astimezone(dt.UTC)
        cursor = piece_end
    return exact_seconds(total)


# --- what may still happen to an incident, a claim, a schedule ----------------------------------
# The admin asks these to show or hide its buttons and to check its forms; the services ask them
# again under their locks, so a page and the rule never disagree.


def incident_resolvable(resolved_at: dt.datetime | None) -> bool:
    """SLA-2: an incident is resolved once; its end, once recorded, stays as recorded."""
    return resolved_at is None


def force_majeure_going_on(cause: str, resolved_at: dt.datetime | None) -> bool:
    """SLA-9: a force-majeure incident still going on, whose Services may be terminated."""
    return cause == Cause.FORCE_MAJEURE and resolved_at is None


def claim_decidable(status: str) -> bool:
    """SLA-5: a claim is accepted or refused once."""
    return status == Claim.Status.PENDING


def excluding_causes() -> list[Cause]:
    """SLA-6: the causes that exclude a penalty (a claim refused with one earns nothing)."""
    return [cause for cause in Cause if cause not in PENALTY_CAUSES]


def missing_allowances(classes: Iterable[str]) -> list[str]:
    """SLA-2: a schedule version gives the allowance of every incident class; the classes it lacks."""
    given = set(classes)
    return [incident_class for incident_class in IncidentClass.values if incident_class not in given]


def steps_complete(groups: Iterable[str]) -> bool:
    """SLA-3: a schedule version has penalty steps for class A and for classes B to E."""
    return set(groups) == set(PenaltyStep.Group.values)


def schedule_frozen(*, valid_from: dt.date, today: dt.date, used_by_penalty: bool) -> bool:
    """A version in force, or one a penalty was computed with, is never changed again: past incidents'
    occurrences and the penalties computed with it depend on it (a change is a new dated version).
    Only a version not frozen may be deleted."""
    return valid_from <= today or used_by_penalty

