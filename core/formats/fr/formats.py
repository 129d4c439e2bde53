# French as written in Switzerland (fr-CH): 03.12.2026, 3 décembre 2026, 1 234,50.
from core.formats.swiss import NUMBER_GROUPING, SHORT_DATE_FORMAT, SHORT_DATETIME_FORMAT, TIME_FORMAT  # noqa: F401

DATE_FORMAT = "j F Y"
DATETIME_FORMAT = "j F Y, H:i"
YEAR_MONTH_FORMAT = "F Y"
MONTH_DAY_FORMAT = "j F"
DECIMAL_SEPARATOR = ","
THOUSAND_SEPARATOR = "\xa0"  # no-break space: an amount never breaks across lines
