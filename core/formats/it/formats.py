# Italian as written in Switzerland (it-CH): 03.12.2026, 3 dicembre 2026, 1’234.50.
from core.formats.swiss import NUMBER_GROUPING, SHORT_DATE_FORMAT, SHORT_DATETIME_FORMAT, TIME_FORMAT  # noqa: F401

DATE_FORMAT = "j F Y"
DATETIME_FORMAT = "j F Y, H:i"
YEAR_MONTH_FORMAT = "F Y"
MONTH_DAY_FORMAT = "j F"
DECIMAL_SEPARATOR = "."
THOUSAND_SEPARATOR = "\u2019"  # ’ right single quotation mark, as CLDR it-CH
