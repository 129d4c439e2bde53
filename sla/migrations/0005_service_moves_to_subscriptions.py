"""The Service model moved from billing to subscriptions, its table unchanged: the foreign keys
follow in Django's state only (the database constraints already point at billing_service)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('sla', '0004_penalty_counted_seconds_exact'),
        ('subscriptions', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            # The table stays where it is (Meta.db_table): only Django's state moves.
            state_operations=[
                migrations.AlterField(
                    model_name='claim',
                    name='service',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='sla_claims', to='subscriptions.service'),
                ),
                migrations.AlterField(
                    model_name='incident',
                    name='services',
                    field=models.ManyToManyField(related_name='incidents', through='sla.IncidentService', to='subscriptions.service', verbose_name='services'),
                ),
                migrations.AlterField(
                    model_name='incidentservice',
                    name='service',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='incident_links', to='subscriptions.service'),
                ),
                migrations.AlterField(
                    model_name='maintenance',
                    name='services',
                    field=models.ManyToManyField(related_name='maintenances', through='sla.MaintenanceService', to='subscriptions.service', verbose_name='services'),
                ),
                migrations.AlterField(
                    model_name='maintenanceservice',
                    name='service',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='maintenance_links', to='subscriptions.service'),
                ),
            ],
        ),
    ]
