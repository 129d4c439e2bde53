"""A model's `get_<field>_display()` without translating every label of the field's choices.

Django's `Model._get_FIELD_display` builds `dict(make_hashable(field.flatchoices))` on each call, and
`make_hashable` hashes each (value, label) pair: every lazy label is translated to be hashed, so a
status badge costs one gettext per choice of its field. On the tickets list (25 rows, three displays a
row) that was a third of the page's CPU (docs/performance.md, "The pages under load").

`install()` (core.apps, once every model is loaded: Django binds each `get_<field>_display` to the
function when the field joins its class) rebinds those Django made to a look-up in a dict built once
per field, its labels kept lazy: the same value is returned (the label of the last choice of that
value, translated in the active language, or the value itself). Choices that are not a plain list
or tuple (a callable's) are not cached and go the original way."""

from functools import partialmethod
from typing import Any

from django.apps import apps
from django.db import models
from django.utils.choices import flatten_choices
from django.utils.encoding import force_str
from django.utils.hashable import make_hashable

_original = models.Model._get_FIELD_display  # type: ignore[attr-defined]
# field -> (the choices object the labels were read from, {hashable value: lazy label})
_labels: dict[Any, tuple[object, dict[Any, Any]]] = {}


def labels_of(field: Any) -> dict[Any, Any] | None:
    """The field's choices as {value: label}, built once per choices object; None when not cacheable."""
    choices = field.choices
    if not isinstance(choices, list | tuple):
        return None
    cached = _labels.get(field)
    if cached is not None and cached[0] is choices:
        return cached[1]
    labels: dict[Any, Any] = {}
    pairs: list[tuple[Any, Any]] = list(flatten_choices(choices))
    for value, label in pairs:
        labels[make_hashable(value)] = label
    _labels[field] = (choices, labels)
    return labels


def _get_FIELD_display(self: models.Model, field: Any) -> Any:  # noqa: N802 (Django's name)
    labels = labels_of(field)
    if labels is None:
        return _original(self, field)
    value = getattr(self, field.attname)
    return force_str(labels.get(make_hashable(value), value), strings_only=True)


def install() -> None:
    """Rebind the `get_<field>_display` methods Django made (not those a model defines itself)."""
    for model in apps.get_models(include_auto_created=True):
        for klass in model.__mro__:
            for name, attribute in list(vars(klass).items()):
                if (
                    name.startswith("get_")
                    and name.endswith("_display")
                    and isinstance(attribute, partialmethod)
                    and attribute.func is _original
                ):
                    setattr(klass, name, partialmethod(_get_FIELD_display, **attribute.keywords))
