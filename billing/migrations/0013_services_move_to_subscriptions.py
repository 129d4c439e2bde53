"""Services, their options, trial flags, scopes, debit attempts and money-back refunds now belong to
the subscriptions app, with their tables: removed from billing's state only, once every foreign key
pointing at them (here and in sla, support and usage) points at subscriptions' models."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('billing', '0012_gatewaycharge_to_sandbox_gatewayevent'),
        ('sla', '0005_service_moves_to_subscriptions'),
        ('subscriptions', '0001_initial'),
        ('support', '0004_service_moves_to_subscriptions'),
        ('usage', '0005_service_moves_to_subscriptions'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            # The tables stay (subscriptions' models name them in Meta.db_table): only Django's state moves.
            state_operations=[
                migrations.AlterField(
                    model_name='invoice',
                    name='service',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='invoices', to='subscriptions.service'),
                ),
                migrations.DeleteModel(
                    name='MembershipServiceScope',
                ),
                migrations.DeleteModel(
                    name='MoneyBackRefund',
                ),
                migrations.DeleteModel(
                    name='RenewalAttempt',
                ),
                migrations.DeleteModel(
                    name='ServiceAddOn',
                ),
                migrations.DeleteModel(
                    name='TrialFlag',
                ),
                migrations.DeleteModel(
                    name='Service',
                ),
            ],
        ),
    ]
