"""Money (SPEC MONEY-1): Decimal amounts with two decimals, rounded half-up at the edges, always next
to a currency; one helper rounds, nothing else does."""

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
# One precision for every amount column: up to 9,999,999,999.99.
MAX_DIGITS = 12
DECIMAL_PLACES = 2


def quantize(amount: Decimal) -> Decimal:
    """Round to the cent, half up (per invoice line, MONEY-1)."""
    if not isinstance(amount, Decimal):
        raise TypeError(f"money must be a Decimal, not {type(amount).__name__}")
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def percent_of(amount: Decimal, rate_percent: Decimal) -> Decimal:
    """`rate_percent` % of `amount`, rounded to the cent (VAT, surcharges)."""
    return quantize(amount * rate_percent / Decimal(100))
