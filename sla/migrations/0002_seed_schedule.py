"""Seed the SLA penalty schedule from the Special Conditions' revision of 25 April 2023 (SC 10.1.1 to
10.1.4, 10.2.5, 10.5). Figures are data: staff add a new dated version in the admin, never edit code.

Allowances (SLA-2): A 5 min, B 60, C 60, D 120, E 120. Steps (SLA-3): A 10/20/30/50 % from the
1st/2nd/3rd/4th occurrence; B–E together 5/10/20/30 % from the 2nd/4th/6th/8th; A2 1 % per further
minute. Cap 50 % of one invoice (SLA-4); claims within 2 calendar months (SLA-5); maintenance notice
48 business hours (SLA-7); 30 days of force majeure before either party may end (SLA-9); the 4th
class-A occurrence lets the customer end the contract (SLA-3).
"""

import datetime as dt
from decimal import Decimal

from django.db import migrations

VALID_FROM = dt.date(2023, 4, 25)
ALLOWANCES = {"A": 5, "B": 60, "C": 60, "D": 120, "E": 120}
STEPS = [("A", 1, "10"), ("A", 2, "20"), ("A", 3, "30"), ("A", 4, "50"),
         ("B-E", 2, "5"), ("B-E", 4, "10"), ("B-E", 6, "20"), ("B-E", 8, "30")]


def seed(apps, schema_editor):
    PenaltySchedule = apps.get_model("sla", "PenaltySchedule")
    ClassAllowance = apps.get_model("sla", "ClassAllowance")
    PenaltyStep = apps.get_model("sla", "PenaltyStep")
    schedule, created = PenaltySchedule.objects.get_or_create(
        valid_from=VALID_FROM,
        defaults={
            "name": "Jelastic Cloud Special Conditions, SC 10 (25 April 2023)",
            "commitment_percent": Decimal("99.900"),
            "monthly_limit_minutes": 5,
            "a2_percent_per_minute": Decimal("1.00"),
            "cap_percent": Decimal("50.00"),
            "claim_deadline_months": 2,
            "maintenance_notice_business_hours": 48,
            "force_majeure_days": 30,
            "a_may_end_contract_from": 4,
            "created_at": dt.datetime(2023, 4, 25, tzinfo=dt.UTC),
        },
    )
    if not created:
        return
    ClassAllowance.objects.bulk_create(
        [ClassAllowance(schedule=schedule, incident_class=c, minutes=m) for c, m in ALLOWANCES.items()]
    )
    PenaltyStep.objects.bulk_create(
        [PenaltyStep(schedule=schedule, group=g, from_occurrence=n, percent=Decimal(p)) for g, n, p in STEPS]
    )


class Migration(migrations.Migration):
    dependencies = [("sla", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
