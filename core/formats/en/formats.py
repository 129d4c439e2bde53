# English as read in Switzerland (see core/formats/__init__.py): Swiss dates, English amounts.
DATE_FORMAT = "j F Y"
TIME_FORMAT = "H:i"
DATETIME_FORMAT = "j F Y, H:i"
YEAR_MONTH_FORMAT = "F Y"
MONTH_DAY_FORMAT = "j F"
SHORT_DATE_FORMAT = "d.m.Y"
SHORT_DATETIME_FORMAT = "d.m.Y H:i"
DECIMAL_SEPARATOR = "."
THOUSAND_SEPARATOR = ","  # English grouping, as English readers expect ("1,234.50")
NUMBER_GROUPING = 3
