"""The customers' second factor (issue 14, item 7): TOTP (django-otp, as for staff) with one-time
recovery codes, and the Organization's requirement of it.

- A member turns it on in the portal (Account → Security): a QR code (and the key) for an
  authenticator app, then a first code confirms it; ten recovery codes are shown once, kept only as
  digests, each usable once, and can be made anew (with the password). Turning it off needs the
  password and is refused while an Organization of theirs requires it.
- Staff do not enrol here: theirs is issued by an administrator (accounts.otp), never self-service.
- Log-in (the portal's log-in page, and `POST /api/v1/auth/token/`) asks for a code after the
  password; a wrong code counts as a failed log-in (accounts.lockout), so five wrong passwords or
  codes, in any mix, pause the account.
- A Legal Responsible may require it of every member (ORG-5: the holder of the contract decides
  how it is reached). From then on, members without it are sent to enrolment before any other page
  and get no API token; their tokens issued before are revoked at once.

Evidence (EVD-1): enabled, disabled, recovery codes made, a recovery code used, the requirement
set or lifted (ORG-5).
"""

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import ApiToken, Membership, Organization, RecoveryCode, User
from accounts.selectors import user_memberships
from accounts.services import reauthenticate
from accounts.tokens import tokens_revoke_all
from audit.services import Actor, audit_record
from core.errors import RuleViolation

DEVICE_NAME = "totp"  # a customer's device; a staff device is "staff-totp" (accounts.otp)
RECOVERY_CODE_COUNT = 10
RECOVERY_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"  # 31 letters and digits, none mistaken for another
RECOVERY_CODE_LENGTH = 12  # about 59 random bits, shown as xxxx-xxxx-xxxx


# --- reads -----------------------------------------------------------------------------------


def customer_device(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, name=DEVICE_NAME, confirmed=True).first()


def has_two_factor(user: User) -> bool:
    return TOTPDevice.objects.filter(user=user, name=DEVICE_NAME, confirmed=True).exists()


def required_of(user: User) -> bool:
    """An Organization of the user requires a second factor of its members."""
    return Membership.objects.filter(user=user, organization__requires_two_factor=True).exists()


@dataclass(frozen=True)
class MembershipsCheck:
    needs_enrolment: bool  # ORG-5: required of the user by an Organization and not turned on
    organizations: int  # the Organizations the user is a member of


def needs_enrolment(user: User) -> bool:
    """Required of the user and not turned on (ORG-5). Never for staff: their second factor is
    issued by an administrator and asked for by the staff site."""
    return not user.is_staff and memberships_check(user).needs_enrolment


def memberships_check(user: User) -> MembershipsCheck:
    """needs_enrolment(user) and the number of the user's Organizations, in one query: the portal asks
    both on every page (TwoFactorRequiredMiddleware, and the navigation's "Switch organization")."""
    memberships = user_memberships(user)  # the page's membership_for reads them too (once per request)
    needs = not user.is_staff and any(
        m.organization.requires_two_factor and not m.enrolled  # type: ignore[attr-defined]
        for m in memberships
    )
    return MembershipsCheck(needs_enrolment=needs, organizations=len(memberships))


def recovery_codes_left(user: User) -> int:
    return RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()


# --- enrolment -------------------------------------------------------------------------------


def _actor(user: User, client_address: str | None) -> Actor:
    return Actor.for_user(user, client_address=client_address)


def enrolment_device(user: User) -> TOTPDevice:
    """The unconfirmed device the enrolment page shows (made on first visit, kept until confirmed)."""
    if user.is_staff:
        raise RuleViolation(_("Staff second factors are issued by an administrator."), rule="EVD-1", status=403)
    if has_two_factor(user):
        raise RuleViolation(_("Your second factor is already on."), rule="EVD-1", status=409)
    device = TOTPDevice.objects.filter(user=user, name=DEVICE_NAME, confirmed=False).order_by("-pk").first()
    return device or TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)


def _normalize(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


def _digest(user: User, code: str) -> str:
    return hashlib.sha256(f"{user.pk}:{_normalize(code)}".encode()).hexdigest()


def _new_recovery_codes(user: User, now: dt.datetime) -> list[str]:
    RecoveryCode.objects.filter(user=user).delete()
    codes = []
    for _index in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _char in range(RECOVERY_CODE_LENGTH))
        codes.append("-".join(raw[i : i + 4] for i in range(0, RECOVERY_CODE_LENGTH, 4)))
    RecoveryCode.objects.bulk_create(
        [RecoveryCode(user=user, code_digest=_digest(user, code), created_at=now) for code in codes]
    )
    return codes


def two_factor_enable(
    *, user: User, device: TOTPDevice, code: str, client_address: str | None = None, now: dt.datetime
) -> list[str]:
    """Confirm the enrolment with a first code; returns the recovery codes (shown once)."""
    if device.user_id != user.pk or device.name != DEVICE_NAME or device.confirmed:
        raise RuleViolation(_("This enrolment is no longer valid: start again."), rule="EVD-1", status=409)
    if not device.verify_token(_normalize(code)):
        raise RuleViolation(
            _("This code is not valid. Wait for the next one and try again."), rule="EVD-1", field="code"
        )
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user, name=DEVICE_NAME).exclude(pk=device.pk).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        codes = _new_recovery_codes(user, now)
        audit_record(
            actor=_actor(user, client_address),
            action="two_factor.enabled",
            rule="EVD-1",
            obj=user,
            after={"recovery_codes": len(codes)},
            at=now,
        )
    return codes


def two_factor_disable(*, user: User, password: str, client_address: str | None = None, now: dt.datetime) -> None:
    """Turn the second factor off (the password again); refused while an Organization requires it."""
    if required_of(user):
        raise RuleViolation(
            _("An organization you belong to requires a second factor: it cannot be turned off."),
            rule="ORG-5",
            status=403,
        )
    reauthenticate(user, password, rule="EVD-1")
    with transaction.atomic():
        removed, _detail = TOTPDevice.objects.filter(user=user, name=DEVICE_NAME).delete()
        RecoveryCode.objects.filter(user=user).delete()
        if removed:
            audit_record(
                actor=_actor(user, client_address), action="two_factor.disabled", rule="EVD-1", obj=user, at=now
            )


def recovery_codes_renew(
    *, user: User, password: str, client_address: str | None = None, now: dt.datetime
) -> list[str]:
    """New recovery codes (the password again); the old ones stop working."""
    if not has_two_factor(user):
        raise RuleViolation(_("Turn on the second factor first."), rule="EVD-1", status=409)
    reauthenticate(user, password, rule="EVD-1")
    with transaction.atomic():
        codes = _new_recovery_codes(user, now)
        audit_record(
            actor=_actor(user, client_address),
            action="two_factor.recovery_codes_renewed",
            rule="EVD-1",
            obj=user,
            after={"recovery_codes": len(codes)},
            at=now,
        )
    return codes


# --- at log-in -------------------------------------------------------------------------------


def second_factor_verify(*, user: User, code: str, client_address: str | None = None, now: dt.datetime) -> bool:
    """A 6-digit code of the user's authenticator, or one of their recovery codes (used up)."""
    normalized = _normalize(code)
    if not normalized:
        return False
    device = customer_device(user)
    if device is None:
        return False
    if normalized.isdigit() and len(normalized) == 6:
        return bool(device.verify_token(normalized))
    with transaction.atomic():
        used = RecoveryCode.objects.filter(
            user=user, code_digest=_digest(user, normalized), used_at__isnull=True
        ).update(used_at=now)
        if not used:
            return False
        audit_record(
            actor=_actor(user, client_address),
            action="two_factor.recovery_code_used",
            rule="EVD-1",
            obj=user,
            after={"recovery_codes_left": recovery_codes_left(user)},
            at=now,
        )
    return True


# --- the Organization's requirement ----------------------------------------------------------


def organization_require_two_factor(
    *, organization: Organization, user: User, required: bool, client_address: str | None = None, now: dt.datetime
) -> Organization:
    """ORG-5: a Legal Responsible requires a second factor of every member, or lifts it. They must
    have theirs on first; members without one lose their API tokens at once."""
    with transaction.atomic():
        locked = Organization.objects.select_for_update(no_key=True).get(pk=organization.pk)
        membership = Membership.objects.filter(organization=locked, user=user).first()
        if membership is None:
            raise RuleViolation(_("You are not a member of this organization."), rule="ORG-5", status=404)
        if membership.role != Membership.Role.LEGAL_RESPONSIBLE:
            raise RuleViolation(
                _("Only a Legal Responsible can require a second factor of the members."), rule="ORG-5", status=403
            )
        if required and not has_two_factor(user):
            raise RuleViolation(_("Turn on your own second factor first."), rule="ORG-5", status=409)
        if locked.requires_two_factor == required:
            return locked
        unenrolled: list[User] = []
        if required:
            enrolled = TOTPDevice.objects.filter(user=OuterRef("pk"), name=DEVICE_NAME, confirmed=True)
            unenrolled = list(
                User.objects.filter(memberships__organization=locked, api_tokens__revoked_at__isnull=True)
                .filter(~Exists(enrolled))
                .distinct()
                .order_by("pk")
            )
            # Every row locked before the audit chain head (docs/decisions.md, "Lock order").
            list(
                ApiToken.objects.select_for_update()
                .filter(user__in=unenrolled, revoked_at__isnull=True)
                .order_by("pk")
                .values_list("pk", flat=True)
            )
        locked.requires_two_factor = required
        locked.save(update_fields=["requires_two_factor"])
        actor = _actor(user, client_address)
        audit_record(
            actor=actor,
            action="organization.two_factor_required" if required else "organization.two_factor_not_required",
            rule="ORG-5",
            obj=locked,
            organization=locked,
            before={"requires_two_factor": not required},
            after={"requires_two_factor": required},
            at=now,
        )
        for member in unenrolled:
            tokens_revoke_all(user=member, because=ApiToken.RevokedBecause.TWO_FACTOR, actor=actor, now=now)
    return locked
