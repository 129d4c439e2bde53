# German as written in Switzerland (de-CH): 03.12.2026, 3. Dezember 2026, 1’234.50.
DATE_FORMAT = "j. F Y"
TIME_FORMAT = "H:i"
DATETIME_FORMAT = "j. F Y, H:i"
YEAR_MONTH_FORMAT = "F Y"
MONTH_DAY_FORMAT = "j. F"
SHORT_DATE_FORMAT = "d.m.Y"
SHORT_DATETIME_FORMAT = "d.m.Y H:i"
DECIMAL_SEPARATOR = "."
THOUSAND_SEPARATOR = "\u2019"  # ’ right single quotation mark, as CLDR de-CH
NUMBER_GROUPING = 3
