"""Django's SQLite backend, with money read back exact (docs/decisions.md, "Money on SQLite").

SQLite has no decimal type: a DecimalField column holds the nearest binary float of the value
written ("29.94" is stored as 29.939999999999997...). Django reads a column back rounded to the
field's decimal places, so stored amounts are exact; but it reads a computed value (a Sum, an
expression) back as the float itself: 0.10 + 0.20 - 0.30 comes back as 5.55e-17, not 0.00.

Here a computed value whose output is a DecimalField with decimal places (every money field, and
so every Sum of one) is rounded to those places as a stored one is. That is exact, not a
tolerance: each float holds its two-decimal amount to within 1e-15 of it relative, so a sum of
fewer than ~10^11 amounts under 10^12 francs is within far less than half a cent of the exact
sum, and rounding gives it back. The CHECK constraints that add amounts round the sum the same
way in SQL (billing.models.invoices), which is a no-op on PostgreSQL's numeric.
"""

import decimal
from collections.abc import Callable
from typing import Any

from django.db.backends.sqlite3 import base, operations
from django.db.models import DecimalField


class DatabaseOperations(operations.DatabaseOperations):
    def get_decimalfield_converter(self, expression: Any) -> Callable[..., Any]:
        converter = super().get_decimalfield_converter(expression)
        output_field = expression.output_field
        places = getattr(output_field, "decimal_places", None)
        if not isinstance(output_field, DecimalField) or places is None:
            return converter
        quantum = decimal.Decimal(1).scaleb(-places)
        context = decimal.Context(prec=output_field.max_digits)

        def exact(value: Any, expression: Any, connection: Any) -> Any:
            value = converter(value, expression, connection)
            if value is None:
                return None
            value = value.quantize(quantum, context=context)
            return value.copy_abs() if value.is_zero() else value  # no "-0.00" from a float cancelling out

        return exact


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations
