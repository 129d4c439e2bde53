"""Seed the metered resources of USE-1 (1 cloudlet = 128 MiB RAM + 400 MHz CPU). `max_per_hour` is
the largest value one hour may report before it is refused as implausible (USE-2); staff may change
it in the admin."""

from decimal import Decimal

from django.db import migrations

# slug, position, name, unit, max per hour (units)
RESOURCES = [
    ("reserved-cloudlets", 1, "Reserved cloudlets", "cloudlet-hour", "100000"),
    ("dynamic-cloudlets", 2, "Dynamic cloudlets", "cloudlet-hour", "100000"),
    ("storage", 3, "Storage", "GB-hour", "1000000"),
    ("traffic", 4, "External traffic", "GB", "1000000"),
    ("public-ipv4", 5, "Public IPv4 addresses", "IPv4-hour", "10000"),
]


def seed(apps, schema_editor):
    Resource = apps.get_model("usage", "Resource")
    for slug, position, name, unit, maximum in RESOURCES:
        Resource.objects.update_or_create(
            slug=slug, defaults={"position": position, "name": name, "unit": unit, "max_per_hour": Decimal(maximum)}
        )


class Migration(migrations.Migration):
    dependencies = [("usage", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
