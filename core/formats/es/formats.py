# Spanish as read in Switzerland (see core/formats/__init__.py): 03.12.2026, 3 de diciembre de 2026, 1 234,50.
from core.formats.swiss import NUMBER_GROUPING, SHORT_DATE_FORMAT, SHORT_DATETIME_FORMAT, TIME_FORMAT  # noqa: F401

DATE_FORMAT = r"j \d\e F \d\e Y"
DATETIME_FORMAT = r"j \d\e F \d\e Y, H:i"
YEAR_MONTH_FORMAT = r"F \d\e Y"
MONTH_DAY_FORMAT = r"j \d\e F"
DECIMAL_SEPARATOR = ","
THOUSAND_SEPARATOR = "\xa0"  # no-break space, as RAE recommends a space between groups
