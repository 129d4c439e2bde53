"""Format checks of Contact Information (SPEC ORG-1, ORG-10), with maintained libraries."""

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from stdnum.ch import vat as ch_vat
from stdnum.eu import vat as eu_vat
from stdnum.exceptions import ValidationError as StdnumError

MOBILE_TYPES = {phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}


def normalize_phone(value: str, *, mobile: bool, region: str | None = None) -> str:
    """Parse a phone number and return it in E.164, or raise ValidationError.

    `mobile=True` (ORG-1) accepts numbers of mobile type; where a numbering plan does not tell mobile
    from fixed lines (e.g. +1), phonenumbers says FIXED_LINE_OR_MOBILE and the number is accepted.
    """
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException as error:
        raise ValidationError(
            _("Enter the number in international format, e.g. +41 79 123 45 67."), code="invalid_phone"
        ) from error
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(_("This phone number does not exist."), code="invalid_phone")
    if mobile and phonenumbers.number_type(number) not in MOBILE_TYPES:
        raise ValidationError(_("This is not a mobile phone number."), code="not_mobile")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_vat_number(value: str) -> str:
    """A Swiss UID/VAT number (CHE-123.456.789 MWST) or an EU VAT number (ORG-10), compacted."""
    candidate = value.strip().upper()
    try:
        if candidate.startswith("CHE"):
            return ch_vat.validate(candidate)
        return eu_vat.validate(candidate)
    except StdnumError as error:
        raise ValidationError(
            _("This is not a valid Swiss or EU VAT number (e.g. CHE-123.456.788 MWST or DE136695976)."),
            code="invalid_vat",
        ) from error
