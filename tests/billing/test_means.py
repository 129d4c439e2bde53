"""SPEC BIL-4, BIL-12: means of payment on file, the one default debited automatically, staff
restrictions; refusals change nothing, and no full card number is ever stored."""

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from accounts.models import Organization
from audit.models import AuditEvent
from billing.gateways.sandbox import SandboxGateway
from billing.models import MeansRestriction, PaymentMeans
from billing.selectors import default_auto_debit_means
from billing.services import means as services
from billing.services.means import card_is_valid_on
from core.errors import RuleViolation
from sandbox.models import GatewayCharge
from tests.factories import OrganizationFactory, UserFactory, member

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)
VISA = "4242 4242 4242 4242"
MASTERCARD = "5555 5555 5555 4444"


def _add_card(membership: Any, number: str = VISA, *, make_default: bool = True, **overrides: Any) -> PaymentMeans:
    fields: dict[str, Any] = {"exp_month": 3, "exp_year": 2027, "cvc": "123", "now": NOW} | overrides
    return services.means_add_card(
        organization=membership.organization, user=membership.user, number=number, make_default=make_default, **fields
    )


def _staff() -> Any:
    return UserFactory(is_staff=True)


def _snapshot(organization: Organization) -> dict[str, Any]:
    """Everything a refused means action could have changed."""
    return {
        "means": list(PaymentMeans.objects.filter(organization=organization).order_by("pk").values()),
        "restrictions": list(MeansRestriction.objects.filter(organization=organization).values()),
        "audit": AuditEvent.objects.count(),
        "charges": GatewayCharge.objects.count(),
    }


def _defaults(organization: Organization) -> list[int]:
    return list(
        PaymentMeans.objects.filter(organization=organization, is_default=True, revoked_at__isnull=True).values_list(
            "pk", flat=True
        )
    )


# --- adding a card ---------------------------------------------------------------------------


def test_bil4_a_billing_member_adds_a_card_kept_as_token_brand_last_four_expiry_and_fingerprint() -> None:
    # given
    billing = member("billing")

    # when
    means = _add_card(billing, exp_month=3, exp_year=2027, client_address="192.0.2.7")

    # then
    means.refresh_from_db()
    assert (means.organization, means.kind, means.is_default, means.revoked_at) == (
        billing.organization,
        "card",
        True,
        None,
    )
    assert (means.card_brand, means.card_last4, means.card_exp_month, means.card_exp_year) == ("Visa", "4242", 3, 2027)
    assert len(means.card_fingerprint) == 64
    assert means.gateway_token.startswith("tok_sandbox_")
    assert means.created_at == NOW
    assert str(means) == "Visa •••• 4242 (03/2027)"
    events = list(AuditEvent.objects.order_by("id"))
    assert [(e.action, e.rule, e.organization_id, e.actor_user_id) for e in events] == [
        ("payment_means.added", "BIL-4", billing.organization.pk, billing.user.pk),
        ("payment_means.default_set", "BIL-12", billing.organization.pk, billing.user.pk),
    ]
    assert events[0].after == {
        "kind": "card",
        "is_default": False,
        "brand": "Visa",
        "last4": "4242",
        "expiry": "03/2027",
        "fingerprint": means.card_fingerprint,
    }
    assert events[0].client_address == "192.0.2.7"
    assert (events[1].before, events[1].after) == ({"default_means": None}, {"default_means": means.pk})


@pytest.mark.parametrize("role", ["legal_responsible", "administrator", "billing"])
def test_org5_the_billing_roles_may_add_a_card(role: str) -> None:
    membership = member(role)

    _add_card(membership, make_default=False)

    assert PaymentMeans.objects.filter(organization=membership.organization).count() == 1
    assert _defaults(membership.organization) == []


def test_bil4_the_card_is_charged_through_its_token() -> None:
    means = _add_card(member("billing"))

    result = SandboxGateway().charge(
        amount=Decimal("20.00"),
        currency="CHF",
        token=means.gateway_token,
        idempotency_key="order:1",
        now=NOW,
    )

    assert result.status == "succeeded"


@pytest.mark.parametrize("number", [VISA, "4000 0000 0000 0002", "4000 0000 0000 9995", "4000 0000 0000 0119"])
def test_bil4_no_full_card_number_is_stored_anywhere(number: str) -> None:
    # given: a card on file, charged, looked up and removed
    billing = member("billing")
    means = _add_card(billing, number=number, cvc="737")
    SandboxGateway().charge(
        amount=Decimal("20.00"), currency="CHF", token=means.gateway_token, idempotency_key="order:1", now=NOW
    )
    SandboxGateway().lookup("order:1")
    services.means_remove(means=means, user=billing.user, now=NOW)
    digits = number.replace(" ", "")

    # then: neither the number (in any spelling), nor its first twelve digits, in any column of any row
    rows = [*PaymentMeans.objects.all(), *GatewayCharge.objects.all(), *AuditEvent.objects.all()]
    assert len(rows) == 5
    for row in rows:
        for field in row._meta.concrete_fields:
            value = str(getattr(row, field.attname))
            assert digits not in value, field.name
            assert number not in value, field.name
            assert digits[:12] not in value, field.name


def test_bil4_the_same_card_on_two_organizations_has_one_fingerprint() -> None:
    first = _add_card(member("billing"))
    second = _add_card(member("billing"), number="4242-4242-4242-4242", exp_month=9, exp_year=2030)

    assert first.card_fingerprint == second.card_fingerprint
    assert first.gateway_token != second.gateway_token
    assert first.organization != second.organization


def test_bil4_the_same_card_twice_on_one_organization_is_refused_until_removed() -> None:
    billing = member("billing")
    first = _add_card(billing)
    before = _snapshot(billing.organization)

    with pytest.raises(RuleViolation, match="already on file") as refused:
        _add_card(billing, exp_year=2030)

    assert (refused.value.rule, refused.value.status, refused.value.field) == ("BIL-4", 409, "number")
    assert _snapshot(billing.organization) == before
    services.means_remove(means=first, user=billing.user, now=NOW)
    again = _add_card(billing, exp_year=2030)
    assert again.card_fingerprint == first.card_fingerprint


@pytest.mark.parametrize(
    ("overrides", "rule", "status", "field", "message"),
    [
        ({"exp_month": 2, "exp_year": 2026}, "BIL-4", 400, "exp_year", "has expired"),
        ({"exp_month": 12, "exp_year": 2025}, "BIL-4", 400, "exp_year", "has expired"),
        ({"exp_month": 13}, "BIL-4", 400, "exp_month", "between 1 and 12"),
        ({"exp_year": 27}, "BIL-4", 400, "exp_year", "four digits"),
        ({"exp_year": 2099}, "BIL-4", 400, "exp_year", "expiry date is not valid"),
        ({"number": "4242 4242 4242 4241"}, "BIL-4", 400, "number", "card number is not valid"),
        ({"number": "not a card"}, "BIL-4", 400, "number", "card number is not valid"),
        ({"cvc": "1"}, "BIL-4", 400, "cvc", "security code"),
    ],
)
def test_bil4_a_bad_card_is_refused_and_nothing_changes(
    overrides: dict[str, Any], rule: str, status: int, field: str, message: str
) -> None:
    # given
    billing = member("billing")
    before = _snapshot(billing.organization)
    arguments = {"number": VISA} | overrides

    # when
    with pytest.raises(RuleViolation, match=message) as refused:
        _add_card(billing, **arguments)

    # then
    assert (refused.value.rule, refused.value.status, refused.value.field) == (rule, status, field)
    assert _snapshot(billing.organization) == before
    assert PaymentMeans.objects.count() == 0


def test_bil4_a_card_expiring_this_month_is_accepted() -> None:
    means = _add_card(member("billing"), exp_month=3, exp_year=2026)

    assert (means.card_exp_month, means.card_exp_year) == (3, 2026)


def test_bil4_a_kind_restricted_by_staff_is_refused_and_nothing_changes() -> None:
    # given: staff restricted cards for this Organization
    billing = member("billing")
    services.means_restrict(
        organization=billing.organization, kind="card", reason="chargebacks", staff_user=_staff(), now=NOW
    )
    before = _snapshot(billing.organization)

    # when
    with pytest.raises(RuleViolation, match="not available to your organization") as refused:
        _add_card(billing)

    # then: no row, no audit event
    assert (refused.value.rule, refused.value.field) == ("BIL-4", "kind")
    assert _snapshot(billing.organization) == before
    assert PaymentMeans.objects.count() == 0
    # another Organization is not concerned
    _add_card(member("billing"))


def test_org2_a_blocked_organization_cannot_add_a_card() -> None:
    billing = member("billing", organization=OrganizationFactory(status=Organization.Status.BLOCKED))

    with pytest.raises(RuleViolation, match="blocked") as refused:
        _add_card(billing)

    assert refused.value.rule == "ORG-2"
    assert PaymentMeans.objects.count() == 0
    assert AuditEvent.objects.count() == 0


def test_org5_a_technical_member_cannot_add_a_card() -> None:
    technical = member("technical")

    with pytest.raises(RuleViolation, match="billing member") as refused:
        _add_card(technical)

    assert (refused.value.rule, refused.value.status) == ("ORG-5", 403)
    assert PaymentMeans.objects.count() == 0
    assert AuditEvent.objects.count() == 0


def test_org5_a_user_of_another_organization_cannot_add_a_card_here() -> None:
    ours = member("billing")
    stranger = member("legal_responsible")

    with pytest.raises(RuleViolation, match="not a member") as refused:
        services.means_add_card(
            organization=ours.organization,
            user=stranger.user,
            number=VISA,
            exp_month=3,
            exp_year=2027,
            cvc="123",
            make_default=True,
            now=NOW,
        )

    assert (refused.value.rule, refused.value.status) == ("ORG-5", 404)
    assert PaymentMeans.objects.count() == 0
    assert AuditEvent.objects.count() == 0


# --- other means -----------------------------------------------------------------------------


def test_bil4_paypal_postcard_and_bank_transfer_are_added() -> None:
    billing = member("billing")

    paypal = services.means_add_other(
        organization=billing.organization,
        user=billing.user,
        kind="paypal",
        paypal_email=" Pay@Example.com ",
        make_default=True,
        now=NOW,
    )
    postcard = services.means_add_other(organization=billing.organization, user=billing.user, kind="postcard", now=NOW)
    transfer = services.means_add_other(
        organization=billing.organization, user=billing.user, kind="bank_transfer", paypal_email="x@y.ch", now=NOW
    )

    assert (paypal.kind, paypal.paypal_email, paypal.is_default, paypal.gateway_token) == (
        "paypal",
        "pay@example.com",
        True,
        "",
    )
    assert (postcard.kind, postcard.is_default, postcard.paypal_email) == ("postcard", False, "")
    assert (transfer.kind, transfer.is_default, transfer.paypal_email) == ("bank_transfer", False, "")
    assert list(AuditEvent.objects.order_by("id").values_list("action", "rule")) == [
        ("payment_means.added", "BIL-4"),
        ("payment_means.default_set", "BIL-12"),
        ("payment_means.added", "BIL-4"),
        ("payment_means.added", "BIL-4"),
    ]
    assert default_auto_debit_means(billing.organization) == paypal


@pytest.mark.parametrize(
    ("arguments", "rule", "status", "field", "message"),
    [
        ({"kind": "card"}, "BIL-4", 400, "kind", "cards are entered with their number"),
        ({"kind": "cash"}, "BIL-4", 400, "kind", "Choose PayPal"),
        ({"kind": "paypal", "paypal_email": "not an address"}, "BIL-4", 400, "paypal_email", "PayPal account"),
        ({"kind": "postcard", "make_default": True}, "BIL-12", 400, "make_default", "debited automatically"),
        ({"kind": "bank_transfer", "make_default": True}, "BIL-12", 400, "make_default", "debited automatically"),
    ],
)
def test_bil4_bad_other_means_are_refused_and_nothing_changes(
    arguments: dict[str, Any], rule: str, status: int, field: str, message: str
) -> None:
    billing = member("billing")
    before = _snapshot(billing.organization)

    with pytest.raises(RuleViolation, match=message) as refused:
        services.means_add_other(organization=billing.organization, user=billing.user, now=NOW, **arguments)

    assert (refused.value.rule, refused.value.status, refused.value.field) == (rule, status, field)
    assert _snapshot(billing.organization) == before


def test_bil4_the_same_other_means_is_on_file_once() -> None:
    billing = member("billing")
    services.means_add_other(organization=billing.organization, user=billing.user, kind="bank_transfer", now=NOW)
    services.means_add_other(
        organization=billing.organization, user=billing.user, kind="paypal", paypal_email="a@example.com", now=NOW
    )
    before = _snapshot(billing.organization)

    for arguments in ({"kind": "bank_transfer"}, {"kind": "paypal", "paypal_email": "A@example.com"}):
        with pytest.raises(RuleViolation, match="already on file"):
            services.means_add_other(organization=billing.organization, user=billing.user, now=NOW, **arguments)

    assert _snapshot(billing.organization) == before
    services.means_add_other(
        organization=billing.organization, user=billing.user, kind="paypal", paypal_email="b@example.com", now=NOW
    )


# --- validity --------------------------------------------------------------------------------


def test_bil4_a_card_is_valid_through_the_last_day_of_its_expiry_month() -> None:
    means = _add_card(member("billing"), exp_month=3, exp_year=2026)

    assert card_is_valid_on(means, dt.date(2026, 3, 31)) is True
    assert card_is_valid_on(means, dt.date(2026, 4, 1)) is False
    assert card_is_valid_on(means, dt.date(2025, 12, 31)) is True


def test_bil4_a_removed_card_is_never_valid() -> None:
    billing = member("billing")
    means = _add_card(billing, exp_year=2030)

    services.means_remove(means=means, user=billing.user, now=NOW)

    means.refresh_from_db()
    assert card_is_valid_on(means, dt.date(2026, 3, 10)) is False
    assert card_is_valid_on(means, dt.date(2026, 1, 1)) is False


def test_bil4_other_kinds_are_not_valid_cards() -> None:
    billing = member("billing")
    paypal = services.means_add_other(
        organization=billing.organization, user=billing.user, kind="paypal", paypal_email="p@example.com", now=NOW
    )

    assert card_is_valid_on(paypal, dt.date(2026, 3, 10)) is False


# --- the default -----------------------------------------------------------------------------


def test_bil12_there_is_exactly_one_default_and_choosing_another_clears_the_old_one() -> None:
    # given: two cards, the first one the default
    billing = member("billing")
    visa = _add_card(billing)
    mastercard = _add_card(billing, number=MASTERCARD, make_default=False)
    assert _defaults(billing.organization) == [visa.pk]

    # when
    chosen = services.means_set_default(means=mastercard, user=billing.user, now=NOW)

    # then
    assert chosen.is_default is True
    assert _defaults(billing.organization) == [mastercard.pk]
    assert default_auto_debit_means(billing.organization) == mastercard
    event = AuditEvent.objects.latest("id")
    assert (event.action, event.rule, event.organization_id, event.object_id) == (
        "payment_means.default_set",
        "BIL-12",
        billing.organization.pk,
        str(mastercard.pk),
    )
    assert (event.before, event.after) == ({"default_means": visa.pk}, {"default_means": mastercard.pk})


def test_bil12_adding_a_new_default_card_clears_the_old_default() -> None:
    billing = member("billing")
    visa = _add_card(billing)

    mastercard = _add_card(billing, number=MASTERCARD, make_default=True)

    assert _defaults(billing.organization) == [mastercard.pk]
    visa.refresh_from_db()
    assert visa.is_default is False


def test_bil12_setting_the_default_again_changes_nothing() -> None:
    billing = member("billing")
    visa = _add_card(billing)
    before = _snapshot(billing.organization)

    services.means_set_default(means=visa, user=billing.user, now=NOW)

    assert _snapshot(billing.organization) == before


@pytest.mark.parametrize("kind", ["postcard", "bank_transfer"])
def test_bil12_a_means_without_automatic_debit_cannot_be_the_default(kind: str) -> None:
    billing = member("billing")
    visa = _add_card(billing)
    manual = services.means_add_other(organization=billing.organization, user=billing.user, kind=kind, now=NOW)
    before = _snapshot(billing.organization)

    with pytest.raises(RuleViolation, match="debited automatically") as refused:
        services.means_set_default(means=manual, user=billing.user, now=NOW)

    assert refused.value.rule == "BIL-12"
    assert _snapshot(billing.organization) == before
    assert default_auto_debit_means(billing.organization) == visa


def test_bil4_an_expired_card_cannot_become_the_default_by_the_zurich_calendar() -> None:
    # given: a card expiring 03/2026, not the default
    billing = member("billing")
    means = _add_card(billing, exp_month=3, exp_year=2026, make_default=False)
    before = _snapshot(billing.organization)
    # 31 March 23:30 UTC is already 1 April in Zurich
    first_of_april_in_zurich = dt.datetime(2026, 3, 31, 23, 30, tzinfo=dt.UTC)

    with pytest.raises(RuleViolation, match="expired") as refused:
        services.means_set_default(means=means, user=billing.user, now=first_of_april_in_zurich)

    assert refused.value.rule == "BIL-4"
    assert _snapshot(billing.organization) == before
    # the evening before, in Zurich, it was still valid
    services.means_set_default(means=means, user=billing.user, now=dt.datetime(2026, 3, 31, 21, 30, tzinfo=dt.UTC))
    assert _defaults(billing.organization) == [means.pk]


def test_bil4_a_restricted_kind_cannot_become_the_default_nor_is_debited() -> None:
    # given: a default card and a PayPal account; staff then restrict cards
    billing = member("billing")
    card = _add_card(billing)
    paypal = services.means_add_other(
        organization=billing.organization, user=billing.user, kind="paypal", paypal_email="p@example.com", now=NOW
    )
    staff = _staff()
    services.means_restrict(organization=billing.organization, kind="card", reason="fraud", staff_user=staff, now=NOW)

    # then: the card stays on file but is not debited, and cannot be chosen again
    assert default_auto_debit_means(billing.organization) is None
    services.means_set_default(means=paypal, user=billing.user, now=NOW)
    before = _snapshot(billing.organization)
    with pytest.raises(RuleViolation, match="not available") as refused:
        services.means_set_default(means=card, user=billing.user, now=NOW)
    assert refused.value.rule == "BIL-4"
    assert _snapshot(billing.organization) == before
    assert default_auto_debit_means(billing.organization) == paypal


def test_bil12_no_default_without_one_chosen() -> None:
    billing = member("billing")
    _add_card(billing, make_default=False)

    assert default_auto_debit_means(billing.organization) is None


# --- removal ---------------------------------------------------------------------------------


def test_bil4_removing_a_means_revokes_it_and_keeps_the_row() -> None:
    # given: the default card
    billing = member("billing")
    means = _add_card(billing)

    # when
    removed = services.means_remove(means=means, user=billing.user, now=NOW)

    # then
    removed.refresh_from_db()
    assert (removed.revoked_at, removed.is_default) == (NOW, False)
    assert PaymentMeans.objects.filter(pk=means.pk).exists()
    assert default_auto_debit_means(billing.organization) is None
    event = AuditEvent.objects.latest("id")
    assert (event.action, event.rule, event.organization_id) == (
        "payment_means.removed",
        "BIL-4",
        billing.organization.pk,
    )
    assert event.before["is_default"] is True
    # a removed means is gone for every further action
    before = _snapshot(billing.organization)
    for action in (services.means_remove, services.means_set_default):
        with pytest.raises(RuleViolation, match="was removed") as refused:
            action(means=means, user=billing.user, now=NOW)
        assert (refused.value.rule, refused.value.status) == ("BIL-4", 404)
    assert _snapshot(billing.organization) == before


def test_org2_a_blocked_organization_cannot_change_its_means() -> None:
    billing = member("billing")
    visa = _add_card(billing, make_default=False)
    Organization.objects.filter(pk=billing.organization.pk).update(status=Organization.Status.BLOCKED)
    before = _snapshot(billing.organization)

    for action in (services.means_remove, services.means_set_default):
        with pytest.raises(RuleViolation, match="blocked") as refused:
            action(means=visa, user=billing.user, now=NOW)
        assert refused.value.rule == "ORG-2"

    assert _snapshot(billing.organization) == before


# --- tenancy ---------------------------------------------------------------------------------


@pytest.mark.parametrize("action", [services.means_set_default, services.means_remove])
def test_org5_a_user_of_another_organization_cannot_touch_our_means(action: Any) -> None:
    # given: our card, and a Legal Responsible of another Organization
    ours = member("billing")
    card = _add_card(ours, make_default=False)
    stranger = member("legal_responsible")
    _add_card(stranger)
    before = _snapshot(ours.organization)
    theirs_before = _snapshot(stranger.organization)

    # when
    with pytest.raises(RuleViolation, match="not a member") as refused:
        action(means=card, user=stranger.user, now=NOW)

    # then: nothing changed, on either side
    assert (refused.value.rule, refused.value.status) == ("ORG-5", 404)
    assert _snapshot(ours.organization) == before
    assert _snapshot(stranger.organization) == theirs_before


@pytest.mark.parametrize("action", [services.means_set_default, services.means_remove])
def test_org5_a_technical_member_cannot_touch_the_means(action: Any) -> None:
    billing = member("billing")
    card = _add_card(billing, make_default=False)
    technical = member("technical", organization=billing.organization)
    before = _snapshot(billing.organization)

    with pytest.raises(RuleViolation) as refused:
        action(means=card, user=technical.user, now=NOW)

    assert (refused.value.rule, refused.value.status) == ("ORG-5", 403)
    assert _snapshot(billing.organization) == before


# --- staff restrictions ----------------------------------------------------------------------


def test_bil4_staff_restrict_and_unrestrict_a_kind_with_a_reason() -> None:
    # given
    billing = member("billing")
    card = _add_card(billing)
    staff = _staff()

    # when: restricted
    restriction = services.means_restrict(
        organization=billing.organization, kind="card", reason="repeated chargebacks", staff_user=staff, now=NOW
    )

    # then
    assert (restriction.organization, restriction.kind, restriction.reason, restriction.created_by) == (
        billing.organization,
        "card",
        "repeated chargebacks",
        staff,
    )
    event = AuditEvent.objects.latest("id")
    assert (event.action, event.rule, event.organization_id, event.actor_type) == (
        "payment_means.restricted",
        "BIL-4",
        billing.organization.pk,
        "staff",
    )
    assert event.after == {"kind": "card", "reason": "repeated chargebacks", "means_on_file": [card.pk]}

    # when: lifted
    services.means_unrestrict(
        organization=billing.organization, kind="card", reason="settled", staff_user=staff, now=NOW
    )

    # then: the row is gone, the evidence stays, and the card is debited again
    assert MeansRestriction.objects.count() == 0
    event = AuditEvent.objects.latest("id")
    assert (event.action, event.rule, event.object_id) == ("payment_means.unrestricted", "BIL-4", str(restriction.pk))
    assert event.before["reason"] == "repeated chargebacks"
    assert default_auto_debit_means(billing.organization) == card


@pytest.mark.parametrize(
    ("staff", "kind", "reason", "status", "message"),
    [
        (False, "card", "fraud", 403, "Only staff"),
        (True, "cash", "fraud", 400, "Unknown means"),
        (True, "card", "  ", 400, "reason is required"),
    ],
)
def test_bil4_a_bad_restriction_request_changes_nothing(
    staff: bool, kind: str, reason: str, status: int, message: str
) -> None:
    organization = OrganizationFactory()

    for action in (services.means_restrict, services.means_unrestrict):
        with pytest.raises(RuleViolation, match=message) as refused:
            action(organization=organization, kind=kind, reason=reason, staff_user=UserFactory(is_staff=staff), now=NOW)
        assert (refused.value.rule, refused.value.status) == ("BIL-4", status)

    assert MeansRestriction.objects.count() == 0
    assert AuditEvent.objects.count() == 0


def test_bil4_a_kind_is_restricted_once_and_lifted_once() -> None:
    organization = OrganizationFactory()
    staff = _staff()
    services.means_restrict(organization=organization, kind="paypal", reason="abuse", staff_user=staff, now=NOW)
    before = _snapshot(organization)

    with pytest.raises(RuleViolation, match="already restricted"):
        services.means_restrict(organization=organization, kind="paypal", reason="again", staff_user=staff, now=NOW)
    assert _snapshot(organization) == before

    services.means_unrestrict(organization=organization, kind="paypal", reason="ok", staff_user=staff, now=NOW)
    after_lift = _snapshot(organization)
    with pytest.raises(RuleViolation, match="not restricted"):
        services.means_unrestrict(organization=organization, kind="paypal", reason="ok", staff_user=staff, now=NOW)
    assert _snapshot(organization) == after_lift
