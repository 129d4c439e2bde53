import phonenumbers
from django import template

register = template.Library()


@register.filter
def phone(value: str) -> str:
    """An E.164 number as people write it: +41 79 123 45 67."""
    if not value:
        return ""
    try:
        return phonenumbers.format_number(phonenumbers.parse(value), phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    except phonenumbers.NumberParseException:
        return value
