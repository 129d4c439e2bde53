from django.db import migrations, models


def mark_customer_choices(apps, schema_editor):  # noqa: ANN001, ANN201
    """BIL-12, REN-6: a Service whose latest automatic-renewal change in the evidence is a member
    switching it off, or which its customer asked not to renew, was switched off by the customer."""
    AuditEvent = apps.get_model("audit", "AuditEvent")
    Service = apps.get_model("billing", "Service")
    latest: dict[str, tuple[bool, bool]] = {}
    for object_id, after, actor_type in (
        AuditEvent.objects.filter(object_type="billing.service", action="service.auto_renew_changed")
        .order_by("id")
        .values_list("object_id", "after", "actor_type")
        .iterator()
    ):
        if isinstance(after, dict) and "auto_renew" in after:
            latest[object_id] = (bool(after["auto_renew"]), actor_type in ("user", "staff"))
    off = [int(pk) for pk, (on, by_member) in latest.items() if not on and by_member]
    Service.objects.filter(pk__in=off, auto_renew=False).update(auto_renew_off_by_customer=True)
    Service.objects.filter(auto_renew=False, renewal_declined_at__isnull=False).update(
        auto_renew_off_by_customer=True
    )


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0004_fewer_indexes"),
        ("billing", "0008_open_order_invoice_issue_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="service",
            name="auto_renew_off_by_customer",
            field=models.BooleanField(default=False),
        ),
        migrations.RunPython(mark_customer_choices, migrations.RunPython.noop),
    ]
