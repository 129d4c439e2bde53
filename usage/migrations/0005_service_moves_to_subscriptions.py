"""The Service model moved from billing to subscriptions, its table unchanged: the foreign keys
follow in Django's state only (the database constraints already point at billing_service)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('subscriptions', '0001_initial'),
        ('usage', '0004_usage_rows_fillfactor'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            # The table stays where it is (Meta.db_table): only Django's state moves.
            state_operations=[
                migrations.AlterField(
                    model_name='alert',
                    name='service',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='subscriptions.service'),
                ),
                migrations.AlterField(
                    model_name='budget',
                    name='service',
                    field=models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='usage_budget', to='subscriptions.service'),
                ),
                migrations.AlterField(
                    model_name='limit',
                    name='service',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='usage_limits', to='subscriptions.service'),
                ),
                migrations.AlterField(
                    model_name='threshold',
                    name='service',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='subscriptions.service'),
                ),
                migrations.AlterField(
                    model_name='usageday',
                    name='service',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='subscriptions.service'),
                ),
                migrations.AlterField(
                    model_name='usagemonth',
                    name='service',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='usage_months', to='subscriptions.service'),
                ),
                migrations.AlterField(
                    model_name='usagetotal',
                    name='service',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='subscriptions.service'),
                ),
            ],
        ),
    ]
