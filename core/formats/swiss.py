"""What every language's format module shares (see core/formats/__init__.py): the Swiss short date
"03.12.2026", the 24-hour clock and groups of three digits."""

TIME_FORMAT = "H:i"
SHORT_DATE_FORMAT = "d.m.Y"
SHORT_DATETIME_FORMAT = "d.m.Y H:i"
NUMBER_GROUPING = 3
