"""Country groups the contract rules use (ISO 3166 alpha-2)."""

# BIL-7, ORG-10: the Swiss VAT area and the EU member states.
SWISS_VAT_AREA = frozenset({"CH", "LI"})
EU_COUNTRIES = frozenset(
    {
        "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU",
        "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
    }
)  # fmt: skip
