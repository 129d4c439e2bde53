from django.db import migrations, models


class Migration(migrations.Migration):
    """GatewayCharge, the sandbox gateway's table, leaves billing for the dev-only `sandbox` app: in the
    state only, the table stays (sandbox 0001 takes it over under its old name; production, which does not
    install the sandbox, keeps it unused). GatewayEvent records each Stripe webhook event once."""

    dependencies = [
        ("billing", "0011_charging_outside_locks"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="GatewayCharge")],
            database_operations=[],
        ),
        migrations.CreateModel(
            name="GatewayEvent",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("gateway", models.CharField(max_length=16)),
                ("event_id", models.CharField(max_length=255)),
                ("type", models.CharField(max_length=64)),
                ("idempotency_key", models.CharField(blank=True, max_length=128)),
                ("received_at", models.DateTimeField()),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("gateway", "event_id"), name="gateway_event_once")
                ],
            },
        ),
    ]
