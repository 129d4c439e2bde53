import datetime as dt
import importlib
from decimal import Decimal

import factory
from django.apps import apps as django_apps

from billing.models import Invoice, InvoiceLine, Plan, Price, ServiceType, VatRate
from subscriptions.models import Service
from tests.factories import FIXED_TIME, OrganizationFactory


def service_type(slug: str = "jelastic-cloud") -> ServiceType:
    """One of the seeded service types (data migration billing 0002). A transactional test empties
    every table when it ends, seeded rows included: they are seeded again from the migration's data."""
    if not ServiceType.objects.filter(slug=slug).exists() or not VatRate.objects.exists():
        seed = importlib.import_module("billing.migrations.0002_seed_catalog")
        seed.seed(django_apps, None)
    return ServiceType.objects.get(slug=slug)


class PlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Plan

    service_type = factory.LazyFunction(service_type)
    name = factory.Sequence(lambda n: f"Plan {n}")
    period = "monthly"


class PriceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Price

    plan = factory.SubFactory(PlanFactory)
    currency = "CHF"
    amount = Decimal("20.00")
    valid_from = dt.date(2026, 1, 1)


class ServiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Service

    organization = factory.SubFactory(OrganizationFactory)
    plan = factory.SubFactory(PlanFactory)
    currency = "CHF"
    status = Service.Status.ACTIVE
    anchor_date = dt.date(2026, 1, 31)
    term = 1
    expires_on = dt.date(2026, 2, 28)
    created_at = FIXED_TIME
    activated_at = FIXED_TIME


class InvoiceFactory(factory.django.DjangoModelFactory):
    """An issued invoice with one line, built directly (tests that do not exercise issuing)."""

    class Meta:
        model = Invoice
        skip_postgeneration_save = True

    number = factory.Sequence(lambda n: 900000 + n)
    organization = factory.SubFactory(OrganizationFactory)
    kind = Invoice.Kind.ORDER
    currency = "CHF"
    issue_date = dt.date(2026, 3, 1)
    due_date = dt.date(2026, 3, 31)
    total_excl_vat = Decimal("100.00")
    total_vat = Decimal("8.10")
    total_incl_vat = Decimal("108.10")
    billing_address = factory.LazyAttribute(
        lambda o: {
            "name": o.organization.name,
            "lines": [o.organization.street, f"{o.organization.postal_code} {o.organization.city}"],
            "country": str(o.organization.billing_country),
            "vat_number": o.organization.vat_number,
        }
    )
    language = "en"
    issued_at = FIXED_TIME
    line = factory.RelatedFactory("tests.billing.factories.InvoiceLineFactory", factory_related_name="invoice")


class InvoiceLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = InvoiceLine

    invoice = factory.SubFactory(InvoiceFactory)
    position = 1
    description = "Jelastic Cloud · Plan (monthly)"
    period_start = dt.date(2026, 3, 1)
    period_end = dt.date(2026, 4, 1)
    quantity = Decimal("1")
    unit_price_excl_vat = Decimal("100.00")
    vat_rate = Decimal("8.10")
    amount_excl_vat = Decimal("100.00")
    vat_amount = Decimal("8.10")
    amount_incl_vat = Decimal("108.10")
