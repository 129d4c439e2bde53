"""The seeded catalog: flags exactly as SPEC RW-1, RW-2, MB-1, BIL-7 and REN-7 list them."""

from decimal import Decimal

import pytest

from billing.models import ServiceType, VatRate

pytestmark = pytest.mark.django_db


def test_rw1_mb1_bil7_ren7_service_type_flags() -> None:
    flags = {
        t.slug: (
            t.money_back_eligible,
            t.warranty_eligible,
            t.warranty_surcharge_exempt,
            t.always_swiss_vat,
            t.trial_days,
        )
        for t in ServiceType.objects.all()
    }

    assert flags == {
        "jelastic-cloud": (True, False, False, False, 30),
        "web-hosting": (True, True, False, False, None),
        "domain-name": (False, True, True, False, None),
        "ksuite": (False, True, False, False, None),
        "mail-service": (True, True, False, False, None),
        "kdrive": (True, True, False, False, None),
        "managed-cloud-server": (True, True, False, False, None),
        "unmanaged-cloud-server": (True, True, False, False, None),
        "swiss-backup": (True, True, False, False, None),
        "ssl-certificate": (False, True, False, False, None),
        "synology-nas": (True, True, False, False, None),
        "housing": (False, False, False, True, None),
    }


def test_bil7_vat_rates_seeded_for_switzerland_liechtenstein_and_the_eu() -> None:
    rates = dict(VatRate.objects.values_list("country", "rate"))

    assert rates["CH"] == rates["LI"] == Decimal("8.10")
    assert (rates["DE"], rates["FR"], rates["FI"], rates["HU"], rates["LU"]) == (
        Decimal("19.00"),
        Decimal("20.00"),
        Decimal("25.50"),
        Decimal("27.00"),
        Decimal("17.00"),
    )
    assert len(rates) == 29
