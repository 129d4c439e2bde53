"""core.display: `get_<field>_display()` answers as Django's own, without translating every label."""

from functools import partialmethod

from django.apps import apps
from django.db import models
from django.utils import translation

from core import display
from support.models import Ticket


def test_the_display_is_the_label_in_the_active_language_or_the_value_itself() -> None:
    ticket = Ticket(status=Ticket.Status.WAITING_CUSTOMER, kind=Ticket.Kind.TECHNICAL)
    with translation.override("en"):
        assert ticket.get_status_display() == "waiting for the customer"
    with translation.override("de"):
        german = ticket.get_status_display()
        assert german == translation.gettext("waiting for the customer")
    assert german != "waiting for the customer"  # the catalog translates it: the label stays lazy
    ticket.status = "no such status"
    assert ticket.get_status_display() == "no such status"
    ticket.status = None  # type: ignore[assignment]
    assert ticket.get_status_display() is None


def rebound(model: type[models.Model], name: str) -> bool:
    for klass in model.__mro__:
        if name in vars(klass):
            attribute = vars(klass)[name]
            return isinstance(attribute, partialmethod) and attribute.func is display._get_FIELD_display
    return False


def test_every_display_django_made_is_rebound_and_answers_as_djangos() -> None:
    checked = 0
    for model in apps.get_models(include_auto_created=True):
        for field in model._meta.concrete_fields:
            name = f"get_{field.name}_display"
            if not field.choices or not rebound(model, name):
                continue
            for value, _label in field.flatchoices:
                instance = model()
                setattr(instance, field.attname, value)
                with translation.override("fr"):
                    assert getattr(instance, name)() == display._original(instance, field), (model, field.name)
                checked += 1
    assert checked > 50
    assert rebound(Ticket, "get_status_display") and rebound(Ticket, "get_kind_display")
