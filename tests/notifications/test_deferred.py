"""The daily run's notices are rendered at delivery from a stored snapshot of their context
(notifications.deferred, docs/performance.md): the same subject and body, in the same language,
as rendering them in the run (SPEC EVD-3, REN-1, REN-2)."""

import datetime as dt

import pytest
from django.conf import settings
from django.core import mail

from billing.models import Invoice
from notifications.models import Notification
from notifications.services import NoticeSpec, notify, notify_many
from notifications.tasks import deliver_notifications
from subscriptions.models import RenewalAttempt
from subscriptions.services.debit_charges import attempt_due
from tests.factories import OrganizationFactory
from tests.subscriptions.lifecycle.helpers import CARD_DECLINED, customer, live, service

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)
LANGUAGES = [code for code, _name in settings.LANGUAGES]


def _texts(rows) -> list[tuple[str, str, str, str]]:  # noqa: ANN001
    return sorted((n.channel, n.language, n.subject, n.body) for n in rows)


@pytest.mark.parametrize("language", LANGUAGES)
def test_evd3_a_notice_of_the_daily_run_rendered_at_delivery_reads_as_rendered_in_the_run(language: str) -> None:
    """A renewal paid and a card declined on the debit day, in each language: the rows the run
    wrote hold a snapshot, not the text; read back (and once the delivery task stored it), their
    text is what notify() renders from the same objects at once."""
    paid, declined = customer(), customer(card=CARD_DECLINED)
    for legal in (paid, declined):
        legal.organization.language = language
        legal.organization.save(update_fields=["language"])
    renewed, refused = service(paid), service(declined)

    live(dt.date(2026, 2, 14))

    deferred = Notification.objects.filter(context__isnull=False)
    assert sorted(deferred.values_list("template", "channel", "subject", "body")) == [
        ("renewal_attempt_failed", "email", "", ""),
        ("renewal_attempt_failed", "inbox", "", ""),
        ("renewal_paid", "email", "", ""),
        ("renewal_paid", "inbox", "", ""),
    ]
    renewed.refresh_from_db()
    refused.refresh_from_db()
    invoice = Invoice.objects.get(service=renewed, kind="renewal")
    attempt = RenewalAttempt.objects.select_related("invoice").get(service=refused)
    expected = _texts(
        [
            *notify(
                organization=renewed.organization,
                template="renewal_paid",
                now=NOW,
                context={"service": renewed, "invoice": invoice},
            ),
            *notify(
                organization=refused.organization,
                template="renewal_attempt_failed",
                now=NOW,
                context={"service": refused, "attempt": attempt, "due": attempt_due(refused, attempt)},
            ),
        ]
    )
    assert {row[1] for row in expected} == {language}
    assert all(subject and body for _channel, _language, subject, body in expected)
    assert _texts(Notification.objects.filter(pk__in=deferred.values("pk"))) == expected

    ids = sorted(deferred.values_list("pk", flat=True))
    deliver_notifications(ids)

    stored = Notification.objects.filter(pk__in=ids)
    assert list(stored.filter(context__isnull=False)) == []
    assert sorted(stored.values_list("channel", "language", "subject", "body")) == expected
    assert sorted((m.subject, m.body) for m in mail.outbox) == sorted(
        (subject, body) for channel, _language, subject, body in expected if channel == "email"
    )
    assert sorted(stored.values_list("channel", "status")) == [
        ("email", "sent"),
        ("email", "sent"),
        ("inbox", "sent"),
        ("inbox", "sent"),
    ]


def test_evd3_a_template_the_snapshot_cannot_follow_is_rendered_in_the_run(monkeypatch) -> None:  # noqa: ANN001
    """A template the snapshot cannot follow (here: one with a loop, invoice_issued) is rendered
    at once, as notify() renders it: its rows hold the text and no snapshot."""
    from notifications import deferred

    assert deferred.template_paths("invoice_issued") is None
    organization = OrganizationFactory(language="fr")
    expected = _texts(notify(organization=organization, template="organization_created", now=NOW))
    Notification.objects.all().delete()
    monkeypatch.setattr(deferred, "template_paths", lambda template: None)

    notify_many([NoticeSpec(organization=organization, template="organization_created")], now=NOW)

    assert sorted(Notification.objects.values_list("channel", "language", "subject", "body")) == expected
    assert Notification.objects.filter(context__isnull=False).count() == 0


@pytest.mark.parametrize(
    ("usage_based", "reason", "terminates_on"),
    [(True, "trial_lapsed", dt.date(2026, 4, 1)), (True, "unpaid", dt.date(2026, 4, 1)), (False, "unpaid", None)],
)
@pytest.mark.parametrize("language", LANGUAGES)
def test_evd3_a_snapshot_follows_every_branch_and_comparison_of_its_template(
    language: str, usage_based: bool, reason: str, terminates_on: dt.date | None
) -> None:
    """service_suspended chooses its sentence by comparing the suspension reason and testing two
    fields (`{% if a and b and c == "x" %}`): read back from the stored snapshot, the text is the
    one rendered from the Service itself, in each language and each branch."""
    import json

    from notifications import deferred
    from notifications.services import _render

    legal = customer()
    legal.organization.language = language
    svc = service(legal, usage_based=usage_based, suspension_reason=reason, terminates_on=terminates_on)
    context = {"organization": legal.organization, "portal_url": settings.PORTAL_URL, "service": svc}
    from django.utils import translation

    with translation.override(language):
        stored = deferred.snapshot("service_suspended", context)
    assert stored is not None
    restored = deferred.restore(json.loads(json.dumps(stored)))
    assert _render("service_suspended", restored, language) == _render("service_suspended", context, language)
