"""Country groups the contract rules use (ISO 3166 alpha-2)."""

# BIL-7, ORG-10: the Swiss VAT area and the EU member states.
SWISS_VAT_AREA = frozenset({"CH", "LI"})
EU_COUNTRIES = frozenset(
    {
        "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU",
        "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
    }
)  # fmt: skip


def country_code(instance: object, field: str) -> str:
    """The code a django-countries field of `instance` holds, without the Country object its
    attribute builds (a look-up of the name in the active language: thousands per daily-run batch)."""
    if field not in instance.__dict__:
        return str(getattr(instance, field))  # deferred: the attribute reads it
    return str(instance.__dict__[field] or "")
