from django.db import migrations, models


class Migration(migrations.Migration):
    """GatewayCharge comes from billing in the state only: its table billing_gatewaycharge, created by
    billing 0001, is kept as it is, with its rows (billing 0012 dropped the model from billing's state)."""

    initial = True

    dependencies = [
        ("billing", "0012_gatewaycharge_to_sandbox_gatewayevent"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="GatewayCharge",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID"),
                        ),
                        ("idempotency_key", models.CharField(max_length=128)),
                        ("token", models.CharField(max_length=64)),
                        ("amount", models.DecimalField(decimal_places=2, max_digits=12)),
                        ("currency", models.CharField(max_length=3)),
                        (
                            "outcome",
                            models.CharField(
                                choices=[
                                    ("succeeded", "succeeded"),
                                    ("declined", "declined"),
                                    ("pending", "pending"),
                                    ("refunded", "refunded"),
                                ],
                                max_length=10,
                            ),
                        ),
                        ("decline_reason", models.CharField(blank=True, max_length=64)),
                        ("refunded_amount", models.DecimalField(decimal_places=2, default=0, max_digits=12)),
                        ("created_at", models.DateTimeField()),
                    ],
                    options={
                        "db_table": "billing_gatewaycharge",
                        "constraints": [
                            models.UniqueConstraint(fields=("idempotency_key",), name="gateway_charge_key_unique")
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
