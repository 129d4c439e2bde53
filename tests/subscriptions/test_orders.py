"""SPEC BIL-1, BIL-3, BIL-12, REN-7, ORG-2, ORG-4, ORG-5, ORG-7: ordering, trials and the start of a Service."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core import mail
from django.db import transaction

from accounts.models import Acceptance, ContractDocument, GuardianAuthorization
from audit.models import AuditEvent
from audit.services import Actor
from billing.models import Invoice, PaymentMeans
from billing.services.invoices import invoice_apply_payment
from core.errors import RuleViolation
from subscriptions.models import Service, TrialFlag
from subscriptions.services.orders import service_order, trial_convert, trial_start
from tests.billing.factories import PlanFactory, PriceFactory, ServiceFactory, service_type
from tests.factories import AcceptanceFactory, DocumentVersionFactory, OrganizationFactory, member

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)  # 10 March 2026 in Zurich


@pytest.fixture
def world():  # noqa: ANN201
    """A Legal Responsible who accepted the TCU; Jelastic Cloud with its Special Conditions and a
    monthly plan at CHF 20.00 excluding VAT."""
    tcu = DocumentVersionFactory(label="tcu-2026")
    sc_document = ContractDocument.objects.create(
        slug="sc-jelastic-cloud", kind="special_conditions", title="Jelastic Cloud Special Conditions"
    )
    sc = DocumentVersionFactory(document=sc_document, label="sc-2026")
    jelastic = service_type()
    jelastic.special_conditions = sc_document
    jelastic.save()
    legal = member()
    AcceptanceFactory(organization=legal.organization, version=tcu, user=legal.user)
    plan = PlanFactory(service_type=jelastic, name="M", period="monthly")
    PriceFactory(plan=plan, amount=Decimal("20.00"), valid_from=dt.date(2026, 1, 1))
    return {"legal": legal, "organization": legal.organization, "plan": plan, "sc": sc, "tcu": tcu}


def _pay(invoice: Invoice, when: dt.datetime) -> None:
    with transaction.atomic():
        locked = Invoice.objects.select_for_update().get(pk=invoice.pk)
        invoice_apply_payment(
            invoice=locked, amount=locked.amount_due, actor=Actor.system("test"), rule="BIL-5", now=when
        )


def _nothing() -> tuple[int, int, int, int]:
    return Service.objects.count(), Invoice.objects.count(), Acceptance.objects.count(), AuditEvent.objects.count()


def test_bil3_org7_an_order_waits_for_its_invoice_then_starts_on_payment(
    world, django_capture_on_commit_callbacks
) -> None:
    service, invoice = service_order(
        organization=world["organization"],
        user=world["legal"].user,
        plan=world["plan"],
        accept_special_conditions=world["sc"],
        now=NOW,
    )

    assert (service.status, service.anchor_date, service.expires_on, service.auto_renew) == (
        "awaiting_payment",
        None,
        None,
        False,
    )
    assert (invoice.kind, invoice.total_incl_vat, invoice.service) == ("order", Decimal("21.62"), service)
    line = invoice.lines.get()
    assert (line.description, line.period_start, line.period_end) == (
        "Jelastic Cloud · M (monthly)",
        dt.date(2026, 3, 10),
        dt.date(2026, 4, 10),
    )
    assert Acceptance.objects.filter(organization=world["organization"], version=world["sc"]).exists()

    paid_at = dt.datetime(2026, 3, 12, 15, 0, tzinfo=dt.UTC)
    with django_capture_on_commit_callbacks(execute=True):
        _pay(invoice, paid_at)

    service.refresh_from_db()
    assert (service.status, service.anchor_date, service.term, service.expires_on, service.activated_at) == (
        "active",
        dt.date(2026, 3, 12),
        1,
        dt.date(2026, 4, 12),
        paid_at,
    )
    assert [m.subject for m in mail.outbox] == ["Your Service is active: Jelastic Cloud · M (monthly)"]
    assert list(AuditEvent.objects.filter(rule="BIL-3").values_list("action", flat=True)) == [
        "service.ordered",
        "invoice.issued",
        "service.activated",
    ]


def test_bil12_auto_renewal_is_on_when_the_default_means_can_be_debited(world) -> None:
    PaymentMeans.objects.create(
        organization=world["organization"],
        kind="card",
        is_default=True,
        card_brand="Visa",
        card_last4="4242",
        card_exp_month=12,
        card_exp_year=2030,
        gateway_token="tok",
        created_at=NOW,
    )

    service, _ = service_order(
        organization=world["organization"],
        user=world["legal"].user,
        plan=world["plan"],
        accept_special_conditions=world["sc"],
        now=NOW,
    )

    assert service.auto_renew is True


def test_bil12_auto_renewal_is_off_with_a_bank_transfer_default(world) -> None:
    PaymentMeans.objects.create(
        organization=world["organization"], kind="bank_transfer", is_default=True, created_at=NOW
    )

    service, _ = service_order(
        organization=world["organization"],
        user=world["legal"].user,
        plan=world["plan"],
        accept_special_conditions=world["sc"],
        now=NOW,
    )

    assert service.auto_renew is False


def test_org7_an_order_without_the_special_conditions_is_refused_and_changes_nothing(world) -> None:
    before = _nothing()

    with pytest.raises(RuleViolation, match="Jelastic Cloud Special Conditions in force") as refused:
        service_order(organization=world["organization"], user=world["legal"].user, plan=world["plan"], now=NOW)

    assert (refused.value.rule, refused.value.field) == ("ORG-7", "accept_special_conditions")
    assert _nothing() == before


def test_org2_org4_org5_bil1_order_refusals_change_nothing(world) -> None:
    organization = world["organization"]
    technical = member("technical", organization=organization)
    eur_only = PlanFactory(service_type=world["plan"].service_type, name="EUR only")
    PriceFactory(plan=eur_only, currency="EUR")
    before = _nothing()

    with pytest.raises(RuleViolation) as role:
        service_order(organization=organization, user=technical.user, plan=world["plan"], now=NOW)
    with pytest.raises(RuleViolation, match="not available in CHF") as currency:
        service_order(organization=organization, user=world["legal"].user, plan=eur_only, now=NOW)
    organization.status = "blocked"
    organization.save()
    with pytest.raises(RuleViolation, match="blocked") as blocked:
        service_order(
            organization=organization,
            user=world["legal"].user,
            plan=world["plan"],
            accept_special_conditions=world["sc"],
            now=NOW,
        )

    assert (role.value.rule, role.value.status, currency.value.rule, blocked.value.rule) == (
        "ORG-5",
        403,
        "BIL-1",
        "ORG-2",
    )
    assert _nothing() == before


def test_org4_an_unauthorised_minor_cannot_order(world) -> None:
    minor = member(organization=world["organization"], date_of_birth=dt.date(2012, 1, 1))
    GuardianAuthorization.objects.create(organization=world["organization"], minor=minor.user)
    before = _nothing()

    with pytest.raises(RuleViolation, match="legal representative") as refused:
        service_order(
            organization=world["organization"],
            user=world["legal"].user,
            plan=world["plan"],
            accept_special_conditions=world["sc"],
            now=NOW,
        )

    assert refused.value.rule == "ORG-4"
    assert _nothing() == before


def test_ren7_a_trial_runs_30_days_then_converts_to_paid(world, django_capture_on_commit_callbacks) -> None:
    trial = trial_start(
        organization=world["organization"],
        user=world["legal"].user,
        plan=world["plan"],
        accept_special_conditions=world["sc"],
        now=NOW,
    )
    assert (trial.status, trial.trial_ends_on, trial.anchor_date) == ("trial", dt.date(2026, 4, 9), None)

    invoice = trial_convert(service=trial, user=world["legal"].user, now=NOW + dt.timedelta(days=5))
    with pytest.raises(RuleViolation, match=f"Invoice {invoice.display_number} already waits"):
        trial_convert(service=trial, user=world["legal"].user, now=NOW + dt.timedelta(days=5))
    with django_capture_on_commit_callbacks(execute=True):
        _pay(invoice, NOW + dt.timedelta(days=6))

    trial.refresh_from_db()
    assert (trial.status, trial.anchor_date, trial.expires_on) == ("active", dt.date(2026, 3, 16), dt.date(2026, 4, 16))


def test_ren7_one_trial_per_type_and_none_after_paying(world) -> None:
    organization = world["organization"]
    trial_start(
        organization=organization,
        user=world["legal"].user,
        plan=world["plan"],
        accept_special_conditions=world["sc"],
        now=NOW,
    )
    with pytest.raises(RuleViolation, match="already had its trial") as second:
        trial_start(organization=organization, user=world["legal"].user, plan=world["plan"], now=NOW)

    payer = member()
    AcceptanceFactory(organization=payer.organization, version=world["tcu"], user=payer.user)
    ServiceFactory(organization=payer.organization, plan=world["plan"])  # paid before
    with pytest.raises(RuleViolation, match="once you have paid") as paid:
        trial_start(
            organization=payer.organization,
            user=payer.user,
            plan=world["plan"],
            accept_special_conditions=world["sc"],
            now=NOW,
        )

    assert second.value.rule == paid.value.rule == "REN-7"
    assert Service.objects.filter(status="trial").count() == 1


def test_ren7_no_trial_where_the_type_has_none(world) -> None:
    hosting = PlanFactory(service_type=service_type("web-hosting"))

    with pytest.raises(RuleViolation, match="Web hosting has no trial"):
        trial_start(organization=world["organization"], user=world["legal"].user, plan=hosting, now=NOW)

    assert Service.objects.count() == 0


@pytest.mark.parametrize("shared", ["contact e-mail", "mobile", "card"])
def test_ren7_a_trial_matching_another_organization_is_refused_and_flagged(world, shared: str) -> None:
    # given: another organization already tried Jelastic Cloud
    other = OrganizationFactory(contact_email="someone@example.com", mobile="+41780000000")
    ServiceFactory(
        organization=other,
        plan=world["plan"],
        status="trial",
        trial_ends_on=dt.date(2026, 2, 1),
        anchor_date=None,
        expires_on=None,
        term=0,
    )
    organization = world["organization"]
    if shared == "contact e-mail":
        organization.contact_email = "SOMEONE@example.com"
    elif shared == "mobile":
        organization.mobile = "+41780000000"
    organization.save()
    if shared == "card":
        for owner in (other, organization):
            PaymentMeans.objects.create(
                organization=owner,
                kind="card",
                card_fingerprint="fp-1",
                card_last4="4242",
                card_brand="Visa",
                card_exp_month=1,
                card_exp_year=2030,
                created_at=NOW,
            )
    services = Service.objects.count()

    with pytest.raises(RuleViolation, match="Our staff will review") as refused:
        trial_start(
            organization=organization,
            user=world["legal"].user,
            plan=world["plan"],
            accept_special_conditions=world["sc"],
            now=NOW,
        )

    assert refused.value.rule == "REN-7"
    assert Service.objects.count() == services
    flag = TrialFlag.objects.get()
    assert (flag.organization, flag.matched_organization, flag.matched_on) == (organization, other, shared)
    assert AuditEvent.objects.filter(action="trial.flagged", rule="REN-7").count() == 1
