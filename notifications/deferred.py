"""Notices rendered at delivery, not inside the daily run (docs/performance.md, "The daily run").

Rendering a notice in Django's template engine costs more than everything else the daily run's
batch writes for it, so `notify_many` stores a *snapshot* of what the notice's templates read from
their context instead of the text: every variable path the two templates name (`service.plan`,
`invoice.display_number`, ...) resolved once, under the notice's language, to plain JSON values
(dates, Decimals and names kept with their type, so `date`, `money` and the other filters give the
same text). The text is rendered from the snapshot with the same templates and `_render` when the
row is first read (`Notification.from_db`) and stored by the delivery task: the same subject and
body, in the same language, as rendering them in the run gave (tested for every kind the run sends).

The snapshot is taken in the run, under its locks, so the text says what was true then, as before.
A template the walk below does not understand (a `{% for %}`, a tag it does not know, a value it
cannot keep) is rendered at once, as before: `snapshot` answers None.
"""

import datetime as dt
from decimal import Decimal
from functools import cache
from typing import Any

from django.db import models
from django.template import Node, NodeList
from django.template.base import FilterExpression, TextNode, Variable, VariableNode
from django.template.defaulttags import AutoEscapeControlNode, IfNode, LoadNode, TemplateLiteral
from django.template.loader import get_template
from django.templatetags.i18n import BlockTranslateNode, TranslateNode
from django.utils.functional import Promise

PARTS = ("subject", "body")
SHOWN, TESTED = None, ""  # markers in a template's tree of paths ("" is no variable's name)


class Unsupported(Exception):
    """The template or a value of its context cannot be snapshot: render the notice at once."""


# --- which variable paths a template reads ---------------------------------------------------


def _expression_paths(expression: Any, paths: set[str]) -> None:
    if expression is None:
        return
    if not isinstance(expression, FilterExpression):
        raise Unsupported(f"expression {expression!r}")
    _variable_path(expression.var, paths)
    for _function, arguments in expression.filters:
        for lookup, argument in arguments:
            if lookup:
                _variable_path(argument, paths)


def _variable_path(variable: Any, paths: set[str]) -> None:
    if isinstance(variable, Variable):
        if variable.lookups is not None:
            if variable.translate or variable.message_context:
                raise Unsupported("a translated variable")
            paths.add(".".join(variable.lookups))
    elif not isinstance(variable, str):  # a literal: nothing read
        raise Unsupported(f"variable {variable!r}")


def _condition_paths(condition: Any, paths: set[str], tested: set[str], *, truth: bool = True) -> None:
    """A condition's paths: those only tested for truth (`{% if service %}`, under and/or/not) go to
    `tested` (their object's name is not needed, and may cost a query), compared ones to `paths`."""
    if condition is None:  # {% else %}
        return
    if isinstance(condition, TemplateLiteral):  # one expression (an operator's `value` is None)
        value: Any = condition.value  # a FilterExpression (django-stubs types it loosely)
        if truth and not value.filters and isinstance(value.var, Variable):
            _expression_paths(value, tested)
        else:
            _expression_paths(value, paths)
        return
    first, second = getattr(condition, "first", None), getattr(condition, "second", None)
    if first is None:
        raise Unsupported(f"condition {condition!r}")
    truth = truth and getattr(condition, "id", None) in ("and", "or", "not")
    _condition_paths(first, paths, tested, truth=truth)
    _condition_paths(second, paths, tested, truth=truth)


def _node_paths(node: Node, paths: set[str], tested: set[str], *, autoescape_off: bool) -> None:
    if isinstance(node, TextNode | LoadNode):
        return
    if isinstance(node, AutoEscapeControlNode):
        _nodelist_paths(node.nodelist, paths, tested, autoescape_off=not node.setting)
        return
    if not autoescape_off:  # escaping could tell a stored str from a safe one: not snapshot
        raise Unsupported("a value rendered with autoescape on")
    if isinstance(node, VariableNode):
        _expression_paths(node.filter_expression, paths)
    elif isinstance(node, TranslateNode):
        if node.asvar:
            raise Unsupported("translate … as")
        _expression_paths(node.filter_expression, paths)
    elif isinstance(node, BlockTranslateNode):
        if node.asvar or node.plural or node.countervar:
            raise Unsupported("blocktranslate with a plural or as")
        if node.message_context is not None:
            _expression_paths(node.message_context, paths)
        for expression in node.extra_context.values():
            _expression_paths(expression, paths)
        for token in node.singular:
            if token.token_type.name == "VAR" and token.contents not in node.extra_context:
                paths.add(token.contents)
    elif isinstance(node, IfNode):
        for condition, nodelist in node.conditions_nodelists:
            _condition_paths(condition, paths, tested)
            _nodelist_paths(nodelist, paths, tested, autoescape_off=autoescape_off)
    else:
        raise Unsupported(f"node {type(node).__name__}")


def _nodelist_paths(nodelist: NodeList, paths: set[str], tested: set[str], *, autoescape_off: bool) -> None:
    for node in nodelist:
        _node_paths(node, paths, tested, autoescape_off=autoescape_off)


@cache
def template_paths(template: str) -> dict[Any, Any] | None:
    """The paths the notice's subject and body read, as a tree (name -> children; a `SHOWN` key
    marks a path whose own value is used, a `TESTED` key one only tested for truth), or None when
    it cannot be snapshot."""
    paths: set[str] = set()
    tested: set[str] = set()
    try:
        for part in PARTS:
            compiled = get_template(f"notifications/{template}/{part}.txt").template  # type: ignore[attr-defined]
            _nodelist_paths(compiled.nodelist, paths, tested, autoescape_off=False)
    except Unsupported:
        return None
    tree: dict[Any, Any] = {}
    for marker, marked in ((SHOWN, paths), (TESTED, tested)):
        for path in marked:
            node = tree
            for bit in path.split("."):
                node = node.setdefault(bit, {})
            node[marker] = True
    return tree


# --- the snapshot --------------------------------------------------------------------------

_MISSING = object()
_DICT_NAMES = frozenset(dir(dict))


def _lookup(current: Any, bit: str) -> Any:
    """One step of Django's `Variable._resolve_lookup`: key, attribute, index, then the call."""
    try:
        current = current[bit]
    except (TypeError, AttributeError, KeyError, ValueError, IndexError):
        try:
            current = getattr(current, bit)
        except (TypeError, AttributeError):
            try:
                current = current[int(bit)]
            except (IndexError, ValueError, KeyError, TypeError):
                return _MISSING
    if callable(current):
        if getattr(current, "do_not_call_in_templates", False) or getattr(current, "alters_data", False):
            raise Unsupported(f"a callable {bit!r} not called")
        try:
            current = current()
        except TypeError as error:
            raise Unsupported(f"{bit!r} needs arguments") from error
    return current


def _scalar(value: Any) -> Any:
    if value is None or type(value) in (str, int, bool):
        return value
    if isinstance(value, Promise):
        return str(value)  # under the notice's language
    if isinstance(value, str):
        raise Unsupported("a str subclass (safe text)")  # its safety would be lost
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    if isinstance(value, dt.datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$date": value.isoformat()}
    if isinstance(value, list | tuple):  # what `join` joins: texts only (a filter would fail on others)
        items = [str(item) if isinstance(item, Promise) else item for item in value]
        if any(type(item) is not str for item in items):
            raise Unsupported("a list of other than texts")
        return {"$list": items}
    if isinstance(value, float | dict | set):
        raise Unsupported(type(value).__name__)
    return {"$text": str(value), "$true": bool(value)}  # a model instance shown by its name


def _encode(value: Any, tree: dict[Any, Any]) -> Any:
    children = [name for name in tree if name not in (SHOWN, TESTED)]
    if not children and SHOWN not in tree and isinstance(value, models.Model):
        return {"$text": "", "$true": bool(value)}  # only tested: its name is not read
    if not children or value is None:
        return _scalar(value)
    if not isinstance(value, models.Model | dict):
        raise Unsupported(f"attributes of a {type(value).__name__}")
    encoded: dict[str, Any] = {}
    for name in children:
        child = _lookup(value, name)
        if child is _MISSING:
            if name in _DICT_NAMES:
                raise Unsupported(f"{name!r} would be found on the snapshot's dict")
            continue
        encoded[name] = _encode(child, tree[name])
    node: dict[str, Any] = {"$object": encoded, "$true": bool(value)}
    if SHOWN in tree:  # the object itself is shown too
        node["$text"] = str(value)
    return node


def snapshot(template: str, context: dict[str, Any]) -> dict[str, Any] | None:
    """What the notice's templates read from `context`, as JSON values; None: render it now.
    Call it under the notice's language (names and labels are kept as that language gives them)."""
    tree = template_paths(template)
    if tree is None:
        return None
    try:
        return {name: _encode(context[name], tree[name]) for name in tree if name in context}
    except Exception:  # Unsupported, or a lookup that raised: the template engine decides, now
        return None


# --- back to a context, at delivery ----------------------------------------------------------


class Shown(dict):  # type: ignore[type-arg]
    """An object of the snapshot: its attributes as keys, shown and tested as the object was."""

    def __init__(self, values: dict[str, Any], text: str, true: bool) -> None:
        super().__init__(values)
        self.text, self.true = text, true

    def __str__(self) -> str:
        return self.text

    def __bool__(self) -> bool:
        return self.true


def _decode(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    if "$object" in value:
        fields = {name: _decode(item) for name, item in value["$object"].items()}
        return Shown(fields, value.get("$text", ""), value["$true"])
    if "$decimal" in value:
        return Decimal(value["$decimal"])
    if "$datetime" in value:
        return dt.datetime.fromisoformat(value["$datetime"])
    if "$date" in value:
        return dt.date.fromisoformat(value["$date"])
    if "$list" in value:
        return [_decode(item) for item in value["$list"]]
    return Shown({}, value["$text"], value["$true"])


def restore(stored: dict[str, Any]) -> dict[str, Any]:
    """The context a snapshot stands for, to render the notice's templates with."""
    return {name: _decode(value) for name, value in stored.items()}
