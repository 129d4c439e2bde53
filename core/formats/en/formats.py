# English as read in Switzerland (see core/formats/__init__.py): Swiss dates, English amounts.
from core.formats.swiss import NUMBER_GROUPING, SHORT_DATE_FORMAT, SHORT_DATETIME_FORMAT, TIME_FORMAT  # noqa: F401

DATE_FORMAT = "j F Y"
DATETIME_FORMAT = "j F Y, H:i"
YEAR_MONTH_FORMAT = "F Y"
MONTH_DAY_FORMAT = "j F"
DECIMAL_SEPARATOR = "."
THOUSAND_SEPARATOR = ","  # English grouping, as English readers expect ("1,234.50")
