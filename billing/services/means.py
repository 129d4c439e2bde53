"""Means of payment (SPEC BIL-4, BIL-12): cards, PayPal, PostCard and bank transfer on file, the one
default debited automatically, and the kinds staff forbid to an Organization.

Every change locks the Organization row first (so two requests cannot both set a default), checks the
rule, and writes an audit event naming the actor and the rule id (EVD-1). Refusals raise RuleViolation
before anything is written. A card reaches the portal only as far as the gateway's `tokenize_card`:
the full number and the CVC are never stored, logged or put in an audit event.
"""

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.models import Membership, Organization, User
from accounts.permissions import require_billing_member, require_changeable
from audit.services import Actor, audit_record
from billing import hooks
from billing.gateway import CardRejected, get_gateway
from billing.models import MeansKind, MeansRestriction, PaymentMeans
from billing.models.payments import AUTO_DEBIT_KINDS
from core import clock
from core.errors import RuleViolation

# A card whose expiry is further away than this is a typing mistake (card schemes issue for at most
# a few years; Stripe refuses beyond 50).
MAX_CARD_YEARS_AHEAD = 20

# The gateway's CardRejected codes, as the field and the message shown (translated when raised).
CARD_REJECTIONS = {
    "invalid_number": ("number", gettext_noop("This card number is not valid.")),
    "invalid_expiry": ("exp_month", gettext_noop("This expiry date is not valid.")),
    "invalid_cvc": ("cvc", gettext_noop("The security code must have 3 or 4 digits.")),
    "card_declined": ("number", gettext_noop("Your bank declined this card. Please use another card.")),
}


# --- reads -----------------------------------------------------------------------------------


def card_is_valid_on(means: PaymentMeans, day: dt.date) -> bool:
    """BIL-4: a card is valid on `day` (a Zurich calendar date) if it is not revoked and not expired;
    a card expiring 03/2026 is valid through 31 March 2026. A removed card is never valid again, also
    for a run "as of" an earlier day: removing it withdrew the consent to debit it. Other kinds are
    not cards and are never valid cards."""
    if means.kind != MeansKind.CARD or means.card_exp_month is None or means.card_exp_year is None:
        return False
    if means.revoked_at is not None:
        return False
    return (day.year, day.month) <= (means.card_exp_year, means.card_exp_month)


# --- helpers ---------------------------------------------------------------------------------


def _lock_organization(organization_id: int) -> Organization:
    return Organization.objects.select_for_update(no_key=True).get(pk=organization_id)


def _require_means_manager(organization: Organization, user: User) -> Membership:
    """ORG-5: a member (else 404, the Organization is none of their business) with a billing role."""
    return require_billing_member(
        organization,
        user,
        refusal=_("Only a Legal Responsible, an administrator or a billing member can manage the means of payment."),
    )


def _require_not_restricted(organization: Organization, kind: str) -> None:
    if MeansRestriction.objects.filter(organization=organization, kind=kind).exists():
        raise RuleViolation(
            _("This means of payment is not available to your organization. Please contact support."),
            rule="BIL-4",
            field="kind",
        )


def _lock_means(organization: Organization, means: PaymentMeans) -> PaymentMeans:
    """The means, locked; 404 if it is removed or not this Organization's (the Organization is the one
    the caller's membership was checked against)."""
    locked = (
        PaymentMeans.objects.select_for_update()
        .filter(pk=means.pk, organization=organization, revoked_at__isnull=True)
        .first()
    )
    if locked is None:
        raise RuleViolation(_("This means of payment was removed."), rule="BIL-4", status=404)
    return locked


def _current_default(organization: Organization) -> PaymentMeans | None:
    return (
        PaymentMeans.objects.select_for_update()
        .filter(organization=organization, is_default=True, revoked_at__isnull=True)
        .order_by("pk")
        .first()
    )


def _describe(means: PaymentMeans) -> dict[str, Any]:
    """What an audit event says of a means: never a token, never more of a card than its last four."""
    described: dict[str, Any] = {"kind": means.kind, "is_default": means.is_default}
    if means.kind == MeansKind.CARD:
        described |= {
            "brand": means.card_brand,
            "last4": means.card_last4,
            "expiry": f"{means.card_exp_month:02d}/{means.card_exp_year}",
            "fingerprint": means.card_fingerprint,
        }
    if means.kind == MeansKind.PAYPAL:
        described["paypal_email"] = means.paypal_email
    return described


def _make_default(
    *, organization: Organization, means: PaymentMeans, actor: Actor, now: dt.datetime
) -> PaymentMeans | None:
    """BIL-12: `means` becomes the one default; the old one (returned) is cleared first, since the
    database allows one default per Organization. The caller holds the Organization's lock."""
    previous = _current_default(organization)
    if previous is not None:
        previous.is_default = False
        previous.save(update_fields=["is_default"])
    means.is_default = True
    means.save(update_fields=["is_default"])
    audit_record(
        actor=actor,
        action="payment_means.default_set",
        rule="BIL-12",
        obj=means,
        organization=organization,
        before={"default_means": previous.pk if previous else None},
        after={"default_means": means.pk},
        at=now,
    )
    default_means_follow(organization=organization, actor=actor, now=now)
    return previous


def default_means_follow(*, organization: Organization, actor: Actor, now: dt.datetime) -> None:
    """REN-6, BIL-12: once the Organization's default means allows automatic debit (a card valid
    today, or PayPal, of a kind staff have not restricted), what waits for one follows it (the
    running trials of subscriptions, through billing.hooks). The caller holds the Organization's lock."""
    from billing.selectors import default_auto_debit_means

    means = default_auto_debit_means(organization)
    if means is None or (means.kind == MeansKind.CARD and not card_is_valid_on(means, clock.business_date(now))):
        return
    hooks.default_means_usable(organization=organization, means=means, actor=actor, now=now)


def _check_card_expiry(*, exp_month: int, exp_year: int, today: dt.date) -> None:
    if not 1 <= exp_month <= 12:
        raise RuleViolation(
            _("The expiry month must be between 1 and 12."), rule="BIL-4", status=400, field="exp_month"
        )
    if exp_year < 1000:
        raise RuleViolation(
            _("Enter the expiry year with four digits, e.g. %(year)d.") % {"year": today.year + 3},
            rule="BIL-4",
            status=400,
            field="exp_year",
        )
    if (exp_year, exp_month) < (today.year, today.month):
        raise RuleViolation(_("This card has expired."), rule="BIL-4", status=400, field="exp_year")
    if exp_year > today.year + MAX_CARD_YEARS_AHEAD:
        raise RuleViolation(_("This expiry date is not valid."), rule="BIL-4", status=400, field="exp_year")


# --- customers -------------------------------------------------------------------------------


def means_add_card(
    *,
    organization: Organization,
    user: User,
    number: str,
    exp_month: int,
    exp_year: int,
    cvc: str,
    make_default: bool,
    client_address: str | None = None,
    now: dt.datetime,
) -> PaymentMeans:
    """BIL-4: put a card on file, as the gateway's token with brand, last four digits, expiry and
    fingerprint; with `make_default`, it becomes the means debited automatically (BIL-12). A card
    already on file is refused."""
    means, _added = card_on_file(
        organization=organization,
        user=user,
        number=number,
        exp_month=exp_month,
        exp_year=exp_year,
        cvc=cvc,
        make_default=make_default,
        reuse=False,
        client_address=client_address,
        now=now,
    )
    return means


def card_on_file(
    *,
    organization: Organization,
    user: User,
    number: str,
    exp_month: int,
    exp_year: int,
    cvc: str,
    make_default: bool,
    reuse: bool,
    client_address: str | None = None,
    now: dt.datetime,
) -> tuple[PaymentMeans, bool]:
    """`means_add_card`, and with `reuse` the card already on file (same fingerprint) instead of a
    refusal, as a customer entering a card to pay with expects. Returns the means and whether it
    was added now."""
    today = clock.business_date(now)
    with transaction.atomic():
        locked = _lock_organization(organization.pk)
        _require_means_manager(locked, user)
        require_changeable(locked)
        _require_not_restricted(locked, MeansKind.CARD)
        _check_card_expiry(exp_month=exp_month, exp_year=exp_year, today=today)
        try:
            card = get_gateway().tokenize_card(
                number=number,
                exp_month=exp_month,
                exp_year=exp_year,
                cvc=cvc,
                customer_reference=f"organization:{locked.pk}",  # one Stripe Customer per Organization
            )
        except CardRejected as rejected:
            field, message = CARD_REJECTIONS.get(rejected.code, CARD_REJECTIONS["invalid_number"])
            raise RuleViolation(_(message), rule="BIL-4", status=400, field=field) from None
        on_file = (
            PaymentMeans.objects.filter(
                organization=locked, kind=MeansKind.CARD, card_fingerprint=card.fingerprint, revoked_at__isnull=True
            )
            .order_by("pk")
            .first()
        )
        if on_file is not None and reuse:
            return on_file, False
        if on_file is not None:
            raise RuleViolation(
                _("This card is already on file. Remove it first to enter it again."), rule="BIL-4", field="number"
            )
        means = PaymentMeans.objects.create(
            organization=locked,
            kind=MeansKind.CARD,
            card_brand=card.brand,
            card_last4=card.last4,
            card_exp_month=card.exp_month,
            card_exp_year=card.exp_year,
            card_fingerprint=card.fingerprint,
            gateway_token=card.token,
            created_at=now,
        )
        actor = Actor.for_user(user, client_address=client_address)
        audit_record(
            actor=actor,
            action="payment_means.added",
            rule="BIL-4",
            obj=means,
            organization=locked,
            after=_describe(means),
            at=now,
        )
        if make_default:
            _make_default(organization=locked, means=means, actor=actor, now=now)
    return means, True


def means_add_other(
    *,
    organization: Organization,
    user: User,
    kind: str,
    paypal_email: str = "",
    make_default: bool = False,
    client_address: str | None = None,
    now: dt.datetime,
) -> PaymentMeans:
    """BIL-4: put PayPal, PostCard or bank transfer on file. Only PayPal can be the default (BIL-12):
    PostCard and bank transfer are paid by hand, invoice by invoice."""
    if kind not in (MeansKind.PAYPAL, MeansKind.POSTCARD, MeansKind.BANK_TRANSFER):
        raise RuleViolation(
            _("Choose PayPal, PostCard or bank transfer (cards are entered with their number)."),
            rule="BIL-4",
            status=400,
            field="kind",
        )
    paypal_email = paypal_email.strip().lower() if kind == MeansKind.PAYPAL else ""
    with transaction.atomic():
        locked = _lock_organization(organization.pk)
        _require_means_manager(locked, user)
        require_changeable(locked)
        _require_not_restricted(locked, kind)
        if kind == MeansKind.PAYPAL:
            try:
                validate_email(paypal_email)
            except ValidationError:
                raise RuleViolation(
                    _("Enter the e-mail address of your PayPal account."),
                    rule="BIL-4",
                    status=400,
                    field="paypal_email",
                ) from None
        if make_default and kind not in AUTO_DEBIT_KINDS:
            raise RuleViolation(
                _("Only a card or PayPal can be debited automatically."),
                rule="BIL-12",
                status=400,
                field="make_default",
            )
        if PaymentMeans.objects.filter(
            organization=locked, kind=kind, paypal_email=paypal_email, revoked_at__isnull=True
        ).exists():
            raise RuleViolation(_("This means of payment is already on file."), rule="BIL-4", field="kind")
        means = PaymentMeans.objects.create(organization=locked, kind=kind, paypal_email=paypal_email, created_at=now)
        actor = Actor.for_user(user, client_address=client_address)
        audit_record(
            actor=actor,
            action="payment_means.added",
            rule="BIL-4",
            obj=means,
            organization=locked,
            after=_describe(means),
            at=now,
        )
        if make_default:
            _make_default(organization=locked, means=means, actor=actor, now=now)
    return means


def means_set_default(
    *, means: PaymentMeans, user: User, client_address: str | None = None, now: dt.datetime
) -> PaymentMeans:
    """BIL-12: the means debited automatically from now on: a card valid today or PayPal, of a kind
    staff have not restricted (BIL-4). The previous default stays on file, no longer the default."""
    with transaction.atomic():
        locked_organization = _lock_organization(means.organization_id)
        _require_means_manager(locked_organization, user)
        require_changeable(locked_organization)
        locked = _lock_means(locked_organization, means)
        if locked.kind not in AUTO_DEBIT_KINDS:
            raise RuleViolation(_("Only a card or PayPal can be debited automatically."), rule="BIL-12", field="means")
        _require_not_restricted(locked_organization, locked.kind)
        if locked.kind == MeansKind.CARD and not card_is_valid_on(locked, clock.business_date(now)):
            raise RuleViolation(_("This card has expired."), rule="BIL-4", field="means")
        if not locked.is_default:
            _make_default(
                organization=locked_organization,
                means=locked,
                actor=Actor.for_user(user, client_address=client_address),
                now=now,
            )
    return locked


def means_remove(
    *, means: PaymentMeans, user: User, client_address: str | None = None, now: dt.datetime
) -> PaymentMeans:
    """BIL-4: take a means off file. The row stays (payments point to it): it is revoked, and if it
    was the default, the Organization has no default until another one is chosen (REN-1 then finds
    no valid means and tells the customer)."""
    with transaction.atomic():
        locked_organization = _lock_organization(means.organization_id)
        _require_means_manager(locked_organization, user)
        require_changeable(locked_organization)
        locked = _lock_means(locked_organization, means)
        before = _describe(locked)
        locked.revoked_at = now
        locked.is_default = False
        locked.save(update_fields=["revoked_at", "is_default"])
        audit_record(
            actor=Actor.for_user(user, client_address=client_address),
            action="payment_means.removed",
            rule="BIL-4",
            obj=locked,
            organization=locked_organization,
            before=before,
            after={"revoked_at": now.isoformat(), "is_default": False},
            at=now,
        )
    return locked


# --- staff -----------------------------------------------------------------------------------


def _check_staff_request(*, staff_user: User, kind: str, reason: str) -> None:
    if not staff_user.is_staff:
        raise RuleViolation(_("Only staff can restrict means of payment."), rule="BIL-4", status=403)
    if kind not in MeansKind.values:
        raise RuleViolation(_("Unknown means of payment."), rule="BIL-4", status=400, field="kind")
    if not reason.strip():
        raise RuleViolation(_("A reason is required."), rule="BIL-4", status=400, field="reason")


def means_restrict(
    *, organization: Organization, kind: str, reason: str, staff_user: User, now: dt.datetime
) -> MeansRestriction:
    """BIL-4: staff forbid a kind of means to an Organization. Means of that kind already on file stay
    on file (the customer's data), but can no longer be added, made default or debited automatically
    (`default_auto_debit_means`); lifting the restriction makes them usable again."""
    _check_staff_request(staff_user=staff_user, kind=kind, reason=reason)
    with transaction.atomic():
        locked = _lock_organization(organization.pk)
        if MeansRestriction.objects.filter(organization=locked, kind=kind).exists():
            raise RuleViolation(_("This means of payment is already restricted."), rule="BIL-4", field="kind")
        restriction = MeansRestriction.objects.create(
            organization=locked, kind=kind, reason=reason, created_by=staff_user, created_at=now
        )
        affected = list(
            PaymentMeans.objects.filter(organization=locked, kind=kind, revoked_at__isnull=True)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        audit_record(
            actor=Actor.for_user(staff_user),
            action="payment_means.restricted",
            rule="BIL-4",
            obj=restriction,
            organization=locked,
            after={"kind": kind, "reason": reason, "means_on_file": affected},
            at=now,
        )
    return restriction


def means_unrestrict(*, organization: Organization, kind: str, reason: str, staff_user: User, now: dt.datetime) -> None:
    """BIL-4: staff lift a restriction. The row goes (the table holds restrictions in force); the audit
    trail keeps who set it, when and why."""
    _check_staff_request(staff_user=staff_user, kind=kind, reason=reason)
    with transaction.atomic():
        locked = _lock_organization(organization.pk)
        restriction = MeansRestriction.objects.select_for_update().filter(organization=locked, kind=kind).first()
        if restriction is None:
            raise RuleViolation(_("This means of payment is not restricted."), rule="BIL-4", field="kind")
        audit_record(
            actor=Actor.for_user(staff_user),
            action="payment_means.unrestricted",
            rule="BIL-4",
            obj=restriction,
            organization=locked,
            before={
                "kind": kind,
                "reason": restriction.reason,
                "created_by": restriction.created_by_id,
                "created_at": restriction.created_at.isoformat(),
            },
            after={"reason": reason},
            at=now,
        )
        restriction.delete()
        # REN-6: a default of that kind is usable again
        default_means_follow(organization=locked, actor=Actor.for_user(staff_user), now=now)
