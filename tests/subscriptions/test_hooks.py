"""subscriptions.hooks (issue 18): what a usage Service needs of the usage app, asked without
subscriptions importing usage. usage registers its parts in UsageConfig.ready(), once each."""

import datetime as dt

import pytest

from subscriptions import hooks
from usage import selectors, timeline
from usage.services.invoicing import usage_on_termination


def test_use1_use3_usage_registers_each_part_once_at_start_up() -> None:
    assert hooks._termination_hooks == [usage_on_termination]
    assert hooks._on_sale_checks == [selectors.usage_plan_on_sale]
    assert hooks._usage_catalogs == [selectors.usage_catalog]
    assert hooks._usage_coming_events == [timeline.usage_coming_events]
    hooks.register_usage_on_sale(selectors.usage_plan_on_sale)  # a second ready() adds nothing
    assert hooks._on_sale_checks == [selectors.usage_plan_on_sale]


def test_use1_without_usage_no_plan_is_on_sale_nor_listed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hooks, "_on_sale_checks", [])
    monkeypatch.setattr(hooks, "_usage_catalogs", [])
    monkeypatch.setattr(hooks, "_usage_coming_events", [])
    day = dt.date(2026, 5, 1)
    assert hooks.usage_plan_on_sale(object(), "CHF", day) is False
    assert hooks.usage_catalog(day, object()) == []
    assert hooks.usage_coming_events(object(), today=day, attempts=[]) == []
