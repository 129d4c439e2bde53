"""The Service model moved from billing to subscriptions, its table unchanged: the foreign key
follows in Django's state only (the database constraint already points at billing_service)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('subscriptions', '0001_initial'),
        ('support', '0003_verbose_names'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            # The table stays where it is (Meta.db_table): only Django's state moves.
            state_operations=[
                migrations.AlterField(
                    model_name='ticket',
                    name='service',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='tickets', to='subscriptions.service', verbose_name='service'),
                ),
            ],
        ),
    ]
