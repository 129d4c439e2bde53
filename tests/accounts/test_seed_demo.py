"""The demo data of `make run`: idempotent, and never outside the embedded demo (DEBUG on)."""

import pytest
from django.core.management import CommandError, call_command

from accounts.models import Membership, Organization, User
from audit.services import audit_verify
from billing.models import Invoice, Service

pytestmark = pytest.mark.django_db


def test_seed_demo_twice_creates_the_demo_once(settings) -> None:
    settings.DEBUG = True

    call_command("seed_demo")
    call_command("seed_demo")

    assert sorted(User.objects.values_list("email", flat=True)) == [
        "demo@example.com",
        "staff@example.com",
        "tech@example.com",
    ]
    assert Organization.objects.get().name == "Demo Cloud Sàrl"
    assert sorted(Membership.objects.values_list("role", flat=True)) == ["legal_responsible", "technical"]
    assert sorted(Service.objects.values_list("status", flat=True)) == ["active", "awaiting_payment"]
    assert sorted(Invoice.objects.values_list("status", flat=True)) == ["open", "paid"]
    assert audit_verify()[1] is None


def test_seed_demo_refuses_without_debug(settings) -> None:
    settings.DEBUG = False

    with pytest.raises(CommandError, match="only with DEBUG on"):
        call_command("seed_demo")

    assert User.objects.count() == 0
