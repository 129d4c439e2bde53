"""Services, their options, trial flags, scopes, debit attempts and money-back refunds, moved from
billing with their tables (Meta.db_table): created in Django's state only, the tables exist already."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

MOVED = ["service", "serviceaddon", "trialflag", "membershipservicescope", "renewalattempt", "moneybackrefund"]


def content_types_follow(apps, schema_editor):
    """The moved models' content types (and so their permissions, codenames unchanged, and the
    admin log) are relabelled rather than created anew. Nothing to do on a fresh database: they
    are created after the migrations."""
    content_type = apps.get_model("contenttypes", "ContentType")
    there = content_type.objects.filter(app_label="subscriptions").values_list("model", flat=True)
    content_type.objects.filter(app_label="billing", model__in=MOVED).exclude(model__in=list(there)).update(
        app_label="subscriptions"
    )


def content_types_back(apps, schema_editor):
    content_type = apps.get_model("contenttypes", "ContentType")
    there = content_type.objects.filter(app_label="billing").values_list("model", flat=True)
    content_type.objects.filter(app_label="subscriptions", model__in=MOVED).exclude(model__in=list(there)).update(
        app_label="billing"
    )


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('accounts', '0003_api_tokens_two_factor'),
        ('billing', '0011_charging_outside_locks'),
        ('contenttypes', '0002_remove_content_type_name'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            # The table stays where it is (Meta.db_table): only Django's state moves.
            state_operations=[
                migrations.CreateModel(
                    name='Service',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('currency', models.CharField(max_length=3)),
                        ('status', models.CharField(choices=[('awaiting_payment', 'awaiting payment'), ('trial', 'trial'), ('active', 'active'), ('suspended', 'suspended'), ('terminated', 'terminated')], max_length=20)),
                        ('anchor_date', models.DateField(blank=True, null=True)),
                        ('term', models.PositiveIntegerField(default=0)),
                        ('expires_on', models.DateField(blank=True, null=True)),
                        ('trial_ends_on', models.DateField(blank=True, null=True)),
                        ('auto_renew', models.BooleanField(default=True)),
                        ('auto_renew_off_by_customer', models.BooleanField(default=False)),
                        ('renewal_warranty', models.BooleanField(default=False)),
                        ('activated_at', models.DateTimeField(blank=True, null=True)),
                        ('suspended_at', models.DateTimeField(blank=True, null=True)),
                        ('suspension_reason', models.CharField(blank=True, max_length=20)),
                        ('terminates_on', models.DateField(blank=True, null=True)),
                        ('warranty_until', models.DateField(blank=True, null=True)),
                        ('renewal_declined_at', models.DateTimeField(blank=True, null=True)),
                        ('terminated_at', models.DateTimeField(blank=True, null=True)),
                        ('termination_reason', models.TextField(blank=True)),
                        ('data_deleted_at', models.DateTimeField(blank=True, null=True)),
                        ('usage_based', models.BooleanField(default=False)),
                        ('created_at', models.DateTimeField()),
                        ('organization', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='services', to='accounts.organization')),
                        ('plan', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='services', to='billing.plan')),
                        ('warranty_invoice', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='billing.invoice')),
                    ],
                    options={
                        'db_table': 'billing_service',
                        'ordering': ['-created_at', '-id'],
                    },
                ),
                migrations.CreateModel(
                    name='RenewalAttempt',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('term', models.PositiveIntegerField()),
                        ('day', models.DateField()),
                        ('outcome', models.CharField(choices=[('succeeded', 'paid'), ('declined', 'declined'), ('no_means', 'no valid means of payment'), ('unknown', 'outcome unknown (being checked with the payment provider)'), ('awaiting_lookup', 'not attempted: an earlier charge is still being checked'), ('reconciled', 'paid (an earlier charge was confirmed)'), ('charging', 'being charged'), ('interrupted', 'not charged: the run was interrupted')], max_length=16)),
                        ('amount', models.DecimalField(decimal_places=2, default=0, max_digits=12)),
                        ('prepaid_amount', models.DecimalField(decimal_places=2, default=0, max_digits=12)),
                        ('card_amount', models.DecimalField(decimal_places=2, default=0, max_digits=12)),
                        ('idempotency_key', models.CharField(blank=True, max_length=128)),
                        ('reason', models.CharField(blank=True, max_length=200)),
                        ('flagged_at', models.DateTimeField(blank=True, null=True)),
                        ('settled_at', models.DateTimeField(blank=True, null=True)),
                        ('created_at', models.DateTimeField()),
                        ('forced_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('invoice', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='billing.invoice')),
                        ('means', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='billing.paymentmeans')),
                        ('payment', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='billing.payment')),
                        ('service', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='renewal_attempts', to='subscriptions.service')),
                    ],
                    options={
                        'db_table': 'billing_renewalattempt',
                        'ordering': ['-day', '-id'],
                    },
                ),
                migrations.CreateModel(
                    name='MoneyBackRefund',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('amount', models.DecimalField(decimal_places=2, max_digits=12)),
                        ('currency', models.CharField(max_length=3)),
                        ('destination', models.CharField(choices=[('card', 'refunded to the card used'), ('prepaid', 'credited to the Prepaid Account')], max_length=10)),
                        ('card_amount', models.DecimalField(decimal_places=2, default=0, max_digits=12)),
                        ('prepaid_amount', models.DecimalField(decimal_places=2, default=0, max_digits=12)),
                        ('created_at', models.DateTimeField()),
                        ('invoice', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='billing.invoice')),
                        ('requested_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('service', models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='money_back', to='subscriptions.service')),
                    ],
                    options={
                        'db_table': 'billing_moneybackrefund',
                    },
                ),
                migrations.CreateModel(
                    name='MembershipServiceScope',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('membership', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='service_scopes', to='accounts.membership')),
                        ('service', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='scopes', to='subscriptions.service')),
                    ],
                    options={
                        'db_table': 'billing_membershipservicescope',
                    },
                ),
                migrations.CreateModel(
                    name='ServiceAddOn',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('activated_at', models.DateTimeField()),
                        ('deactivated_at', models.DateTimeField(blank=True, null=True)),
                        ('add_on', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='billing.addon')),
                        ('service', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='add_ons', to='subscriptions.service')),
                    ],
                    options={
                        'db_table': 'billing_serviceaddon',
                    },
                ),
                migrations.CreateModel(
                    name='TrialFlag',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('matched_on', models.CharField(max_length=20)),
                        ('created_at', models.DateTimeField()),
                        ('matched_organization', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='accounts.organization')),
                        ('organization', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='accounts.organization')),
                        ('reviewed_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('service_type', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='billing.servicetype')),
                    ],
                    options={
                        'db_table': 'billing_trialflag',
                    },
                ),
                migrations.AddIndex(
                    model_name='service',
                    index=models.Index(fields=['status', 'expires_on'], name='billing_ser_status_34ef44_idx'),
                ),
                migrations.AddIndex(
                    model_name='service',
                    index=models.Index(fields=['status', 'trial_ends_on'], name='billing_ser_status_d4382c_idx'),
                ),
                migrations.AddIndex(
                    model_name='service',
                    index=models.Index(fields=['organization', 'status'], name='billing_ser_organiz_029f26_idx'),
                ),
                migrations.AddIndex(
                    model_name='service',
                    index=models.Index(fields=['status', 'terminates_on'], name='billing_ser_status_40837b_idx'),
                ),
                migrations.AddIndex(
                    model_name='service',
                    index=models.Index(fields=['status', 'warranty_until'], name='billing_ser_status_be862e_idx'),
                ),
                migrations.AddConstraint(
                    model_name='service',
                    constraint=models.CheckConstraint(condition=models.Q(models.Q(('status', 'trial'), _negated=True), ('trial_ends_on__isnull', False), _connector='OR'), name='trial_has_an_end'),
                ),
                migrations.AddConstraint(
                    model_name='service',
                    constraint=models.CheckConstraint(condition=models.Q(models.Q(('status__in', ['active', 'suspended']), _negated=True), ('trial_ends_on__isnull', False), ('usage_based', True), models.Q(('anchor_date__isnull', False), ('expires_on__isnull', False)), _connector='OR'), name='paid_service_has_a_term'),
                ),
                migrations.AddIndex(
                    model_name='renewalattempt',
                    index=models.Index(condition=models.Q(('outcome', 'unknown')), fields=['outcome'], name='attempt_unknown_idx'),
                ),
                migrations.AddIndex(
                    model_name='renewalattempt',
                    index=models.Index(condition=models.Q(('outcome', 'charging')), fields=['outcome'], name='attempt_charging_idx'),
                ),
                migrations.AddIndex(
                    model_name='renewalattempt',
                    index=models.Index(fields=['service', 'term'], name='billing_ren_service_cb603c_idx'),
                ),
                migrations.AddConstraint(
                    model_name='renewalattempt',
                    constraint=models.UniqueConstraint(condition=models.Q(('forced_by__isnull', True)), fields=('service', 'term', 'day'), name='one_daily_attempt_per_service_term_day'),
                ),
                migrations.AddConstraint(
                    model_name='moneybackrefund',
                    constraint=models.CheckConstraint(condition=models.Q(('amount__gt', 0)), name='money_back_positive'),
                ),
                migrations.AddConstraint(
                    model_name='membershipservicescope',
                    constraint=models.UniqueConstraint(fields=('membership', 'service'), name='service_scope_once'),
                ),
                migrations.AddConstraint(
                    model_name='serviceaddon',
                    constraint=models.UniqueConstraint(condition=models.Q(('deactivated_at__isnull', True)), fields=('service', 'add_on'), name='addon_active_once'),
                ),
            ],
        ),
        migrations.RunPython(content_types_follow, content_types_back),
    ]
