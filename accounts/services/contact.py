"""Contact Information of an Organization (ORG-1, ORG-10): the fields, their checks, and the
snapshot the evidence keeps of a row."""

from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _
from django_countries import countries

from accounts.models import (
    Language,
    Organization,
)
from accounts.validators import normalize_phone, normalize_vat_number
from core.countries import EU_COUNTRIES

# Contact Information a customer may set (ORG-1, ORG-10); required ones first.
REQUIRED_CONTACT_FIELDS = (
    "name",
    "contact_first_name",
    "contact_last_name",
    "contact_email",
    "mobile",
    "street",
    "postal_code",
    "city",
    "country",
    "billing_country",
    "language",
)
OPTIONAL_CONTACT_FIELDS = ("secondary_email", "landline", "vat_number", "currency")
CONTACT_FIELDS = REQUIRED_CONTACT_FIELDS + OPTIONAL_CONTACT_FIELDS
CONTACT_MAX_LENGTHS = {
    field.name: field.max_length for field in Organization._meta.fields if field.name in CONTACT_FIELDS
}

# ORG-10 / BIL-7: VAT numbers are checked against the billing country: CH/LI take a Swiss number,
# EU countries their own (Greece's VAT prefix is EL).
VAT_PREFIX_EXCEPTIONS = {"GR": "EL"}


# --- validation ------------------------------------------------------------------------------


def clean_contact(data: dict[str, Any], *, partial: bool = False) -> dict[str, Any]:
    """Clean Contact Information (ORG-1, ORG-10), all or (`partial`) the fields given; one error names every bad one."""
    unknown = set(data) - set(CONTACT_FIELDS)
    if unknown:
        raise ValidationError({field: _("This field cannot be changed here.") for field in sorted(unknown)})
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    for field in CONTACT_FIELDS:
        if field not in data:
            if not partial and field in REQUIRED_CONTACT_FIELDS:
                errors[field] = [_("This field is required.")]
            continue
        value = data[field]
        value = value.strip() if isinstance(value, str) else value
        if field in REQUIRED_CONTACT_FIELDS and not value:
            errors[field] = [_("This field is required.")]
            continue
        max_length = CONTACT_MAX_LENGTHS.get(field)
        if isinstance(value, str) and max_length and len(value) > max_length:
            errors[field] = [_("At most %(count)d characters.") % {"count": max_length}]
            continue
        try:
            cleaned[field] = _clean_field(field, value or "")
        except ValidationError as error:
            errors[field] = error.messages
    if "vat_number" in cleaned and cleaned["vat_number"] and "billing_country" in cleaned:
        try:
            check_vat_country(cleaned["vat_number"], str(cleaned["billing_country"]))
        except ValidationError as error:
            errors["vat_number"] = error.messages
    if errors:
        raise ValidationError(errors)
    return cleaned


def _clean_field(field: str, value: str) -> Any:
    if field in ("contact_email", "secondary_email"):
        if value:
            validate_email(value)
        return value.lower()
    if field == "mobile":
        return normalize_phone(value, mobile=True)
    if field == "landline":
        return normalize_phone(value, mobile=False) if value else ""
    if field in ("country", "billing_country"):
        code = value.upper()
        if code not in countries:
            raise ValidationError(_("Choose a country (ISO 3166 code, e.g. CH)."))
        return code
    if field == "vat_number":
        return normalize_vat_number(value) if value else ""
    if field == "currency":
        value = value or Organization.Currency.CHF
        if value not in Organization.Currency.values:
            raise ValidationError(_("The currency must be CHF or EUR."))
        return value
    if field == "language":
        if value not in Language.values:
            raise ValidationError(_("Choose one of French, English, German, Italian or Spanish."))
        return value
    return value


def check_vat_country(vat_number: str, billing_country: str) -> None:
    if vat_number.startswith("CHE"):
        if billing_country not in ("CH", "LI"):
            raise ValidationError(_("A Swiss VAT number needs a billing address in Switzerland or Liechtenstein."))
        return
    if billing_country not in EU_COUNTRIES:
        raise ValidationError(_("An EU VAT number needs a billing address in the European Union."))
    if not vat_number.startswith(VAT_PREFIX_EXCEPTIONS.get(billing_country, billing_country)):
        raise ValidationError(_("This VAT number does not belong to the billing country."))

def snapshot(instance: Any, fields: tuple[str, ...] | list[str]) -> dict[str, Any]:
    return {field: str(getattr(instance, field)) for field in fields}
