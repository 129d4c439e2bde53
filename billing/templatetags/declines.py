"""`{{ code|decline_sentence }}`: a gateway's decline code as the sentence a customer reads."""

from django import template

from billing.declines import decline_sentence as sentence

register = template.Library()


@register.filter
def decline_sentence(code: str) -> str:
    return sentence(code) if code else ""
