"""Seams through which the usage app takes part in the subscriptions' rules without subscriptions
importing it (as `billing.hooks` does for subscriptions): usage registers its parts in
`UsageConfig.ready()`. Without usage, no plan is billed by usage: none is on sale, none is listed."""

import datetime as dt
from collections.abc import Callable
from typing import Any

# USE-3, USE-8: Services being terminated (locked): their usage to date invoiced (none when `invoice`
# is off) and their months closed. Called with the Services, actor, now, effects and invoice.
TerminationHook = Callable[..., object]
_termination_hooks: list[TerminationHook] = []

# USE-1: whether the usage plan is on sale in the currency on the day (a rate card prices that month).
OnSaleCheck = Callable[[Any, str, dt.date], bool]
_on_sale_checks: list[OnSaleCheck] = []

# USE-1: the order page's usage plans for the Organization on the day, each with its rates shown.
UsageCatalog = Callable[[dt.date, Any], list[tuple[Any, list[tuple[Any, Any]]]]]
_usage_catalogs: list[UsageCatalog] = []

# USE-3, USE-4, USE-8: the coming events of a usage Service's timeline (service, today=, attempts=).
ComingEvents = Callable[..., list[Any]]
_usage_coming_events: list[ComingEvents] = []


def _register(hooks: list[Any], hook: Any) -> Any:
    if hook not in hooks:
        hooks.append(hook)
    return hook


def register_termination_hook(hook: TerminationHook) -> TerminationHook:
    return _register(_termination_hooks, hook)


def register_usage_on_sale(hook: OnSaleCheck) -> OnSaleCheck:
    return _register(_on_sale_checks, hook)


def register_usage_catalog(hook: UsageCatalog) -> UsageCatalog:
    return _register(_usage_catalogs, hook)


def register_usage_coming_events(hook: ComingEvents) -> ComingEvents:
    return _register(_usage_coming_events, hook)


def services_terminating(services: list[Any], *, actor: Any, now: dt.datetime, effects: Any, invoice: bool) -> None:
    for hook in _termination_hooks:
        hook(services, actor=actor, now=now, effects=effects, invoice=invoice)


def usage_plan_on_sale(plan: Any, currency: str, day: dt.date) -> bool:
    return any(check(plan, currency, day) for check in _on_sale_checks)


def usage_catalog(day: dt.date, organization: Any) -> list[tuple[Any, list[tuple[Any, Any]]]]:
    return [entry for catalog in _usage_catalogs for entry in catalog(day, organization)]


def usage_coming_events(service: Any, *, today: dt.date, attempts: list[Any]) -> list[Any]:
    return [event for hook in _usage_coming_events for event in hook(service, today=today, attempts=attempts)]
