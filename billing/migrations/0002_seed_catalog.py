"""Seed the service types (flags exactly as SPEC RW-1, RW-2, MB-1, BIL-7, REN-7 list them) and the
VAT rates (BIL-7). Figures are data: staff change them in the admin, never in code.

Decisions: trial length 30 days where a trial exists (REN-7: Jelastic Cloud only); grace days before
an unpaid suspended Service is terminated: 14 for every type (REN-4; the contract says "a reasonable
period"). VAT: Switzerland and Liechtenstein 8.1 % since 2024-01-01; EU standard rates as in force on
2025-08-01.
"""

import datetime as dt
from decimal import Decimal

from django.db import migrations

# slug, name, money-back (MB-1), warranty (RW-1), surcharge-exempt (RW-2), always Swiss VAT (BIL-7), trial days
SERVICE_TYPES = [
    ("jelastic-cloud", "Jelastic Cloud", True, False, False, False, 30),
    ("web-hosting", "Web hosting", True, True, False, False, None),
    ("domain-name", "Domain name", False, True, True, False, None),
    ("ksuite", "kSuite", False, True, False, False, None),
    ("mail-service", "Mail service", True, True, False, False, None),
    ("kdrive", "kDrive", True, True, False, False, None),
    ("managed-cloud-server", "Managed cloud server", True, True, False, False, None),
    ("unmanaged-cloud-server", "Unmanaged cloud server", True, True, False, False, None),
    ("swiss-backup", "Swiss Backup", True, True, False, False, None),
    ("ssl-certificate", "SSL certificate", False, True, False, False, None),
    ("synology-nas", "Synology NAS", True, True, False, False, None),
    ("housing", "Housing", False, False, False, True, None),
]
GRACE_DAYS = 14

SWISS_VAT = [("CH", "8.1"), ("LI", "8.1")]
SWISS_VAT_FROM = dt.date(2024, 1, 1)
EU_VAT = [
    ("AT", "20"), ("BE", "21"), ("BG", "20"), ("CY", "19"), ("CZ", "21"), ("DE", "19"), ("DK", "25"),
    ("EE", "24"), ("ES", "21"), ("FI", "25.5"), ("FR", "20"), ("GR", "24"), ("HR", "25"), ("HU", "27"),
    ("IE", "23"), ("IT", "22"), ("LT", "21"), ("LU", "17"), ("LV", "21"), ("MT", "18"), ("NL", "21"),
    ("PL", "23"), ("PT", "23"), ("RO", "21"), ("SE", "25"), ("SI", "22"), ("SK", "23"),
]
EU_VAT_FROM = dt.date(2025, 8, 1)


def seed(apps, schema_editor):
    ServiceType = apps.get_model("billing", "ServiceType")
    VatRate = apps.get_model("billing", "VatRate")
    for slug, name, money_back, warranty, exempt, swiss_vat, trial in SERVICE_TYPES:
        ServiceType.objects.update_or_create(slug=slug, defaults={
            "name": name, "money_back_eligible": money_back, "warranty_eligible": warranty,
            "warranty_surcharge_exempt": exempt, "always_swiss_vat": swiss_vat, "trial_days": trial,
            "grace_days": GRACE_DAYS,
        })
    for rates, valid_from in ((SWISS_VAT, SWISS_VAT_FROM), (EU_VAT, EU_VAT_FROM)):
        for country, rate in rates:
            VatRate.objects.get_or_create(country=country, valid_from=valid_from, defaults={"rate": Decimal(rate)})


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
