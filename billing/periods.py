"""Terms of a Service (SPEC TIME-3).

Term k of a Service anchored on date A ends on A + k periods, always computed from the anchor and
never from the previous expiry: a monthly Service anchored on 31 January expires on 28 (29) February,
31 March, 30 April, ... and an annual one anchored on 29 February expires on 28 February.

WARNING: month arithmetic is not associative. (31 Jan + 1 month) + 1 month = 28 Mar, but
31 Jan + 2 months = 31 Mar. Always add k periods to the anchor; never chain expiries.
"""

import datetime as dt
from functools import lru_cache

from dateutil.relativedelta import relativedelta

PERIOD_MONTHS = {"monthly": 1, "quarterly": 3, "annual": 12}


@lru_cache(maxsize=4096)  # pure; the daily run asks for the same few dates thousands of times
def term_end(anchor: dt.date, period: str, term: int) -> dt.date:
    """The expiry date E of term `term` (1-based): the first day not paid for."""
    if term < 0:
        raise ValueError("term must be >= 0")
    return anchor + relativedelta(months=PERIOD_MONTHS[period] * term)


def term_start(anchor: dt.date, period: str, term: int) -> dt.date:
    """The first day of term `term` (1-based)."""
    return term_end(anchor, period, term - 1)
