"""Every change of state of the accounts app (SPEC §1). Each one locks what it changes, checks the
rule that allows it, and writes an audit event naming the actor and the rule id (EVD-1)."""

import datetime as dt
import logging
import secrets
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils.translation import gettext as _
from django_countries import countries

from accounts import hooks, selectors
from accounts.models import (
    DocumentVersion,
    GuardianAuthorization,
    Invitation,
    Language,
    Membership,
    Organization,
    User,
)
from accounts.permissions import require_changeable, require_manager, require_member
from accounts.validators import normalize_phone, normalize_vat_number
from audit.services import Actor, audit_record
from core import clock
from core.countries import EU_COUNTRIES
from core.errors import RuleViolation
from notifications.models import Notification
from notifications.services import notify

Role = Membership.Role
logger = logging.getLogger(__name__)

# Contact Information a customer may set (ORG-1, ORG-10); required ones first.
REQUIRED_CONTACT_FIELDS = (
    "name",
    "contact_first_name",
    "contact_last_name",
    "contact_email",
    "mobile",
    "street",
    "postal_code",
    "city",
    "country",
    "billing_country",
    "language",
)
OPTIONAL_CONTACT_FIELDS = ("secondary_email", "landline", "vat_number", "currency")
CONTACT_FIELDS = REQUIRED_CONTACT_FIELDS + OPTIONAL_CONTACT_FIELDS
CONTACT_MAX_LENGTHS = {
    field.name: field.max_length for field in Organization._meta.fields if field.name in CONTACT_FIELDS
}

# ORG-10 / BIL-7: VAT numbers are checked against the billing country: CH/LI take a Swiss number,
# EU countries their own (Greece's VAT prefix is EL).
VAT_PREFIX_EXCEPTIONS = {"GR": "EL"}


# --- validation ------------------------------------------------------------------------------


def clean_contact(data: dict[str, Any], *, partial: bool = False) -> dict[str, Any]:
    """Clean Contact Information (ORG-1, ORG-10), all or (`partial`) the fields given; one error names every bad one."""
    unknown = set(data) - set(CONTACT_FIELDS)
    if unknown:
        raise ValidationError({field: _("This field cannot be changed here.") for field in sorted(unknown)})
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    for field in CONTACT_FIELDS:
        if field not in data:
            if not partial and field in REQUIRED_CONTACT_FIELDS:
                errors[field] = [_("This field is required.")]
            continue
        value = data[field]
        value = value.strip() if isinstance(value, str) else value
        if field in REQUIRED_CONTACT_FIELDS and not value:
            errors[field] = [_("This field is required.")]
            continue
        max_length = CONTACT_MAX_LENGTHS.get(field)
        if isinstance(value, str) and max_length and len(value) > max_length:
            errors[field] = [_("At most %(count)d characters.") % {"count": max_length}]
            continue
        try:
            cleaned[field] = _clean_field(field, value or "")
        except ValidationError as error:
            errors[field] = error.messages
    if "vat_number" in cleaned and cleaned["vat_number"] and "billing_country" in cleaned:
        try:
            _check_vat_country(cleaned["vat_number"], str(cleaned["billing_country"]))
        except ValidationError as error:
            errors["vat_number"] = error.messages
    if errors:
        raise ValidationError(errors)
    return cleaned


def _clean_field(field: str, value: str) -> Any:
    if field in ("contact_email", "secondary_email"):
        if value:
            validate_email(value)
        return value.lower()
    if field == "mobile":
        return normalize_phone(value, mobile=True)
    if field == "landline":
        return normalize_phone(value, mobile=False) if value else ""
    if field in ("country", "billing_country"):
        code = value.upper()
        if code not in countries:
            raise ValidationError(_("Choose a country (ISO 3166 code, e.g. CH)."))
        return code
    if field == "vat_number":
        return normalize_vat_number(value) if value else ""
    if field == "currency":
        value = value or Organization.Currency.CHF
        if value not in Organization.Currency.values:
            raise ValidationError(_("The currency must be CHF or EUR."))
        return value
    if field == "language":
        if value not in Language.values:
            raise ValidationError(_("Choose one of French, English, German, Italian or Spanish."))
        return value
    return value


def _check_vat_country(vat_number: str, billing_country: str) -> None:
    if vat_number.startswith("CHE"):
        if billing_country not in ("CH", "LI"):
            raise ValidationError(_("A Swiss VAT number needs a billing address in Switzerland or Liechtenstein."))
        return
    if billing_country not in EU_COUNTRIES:
        raise ValidationError(_("An EU VAT number needs a billing address in the European Union."))
    if not vat_number.startswith(VAT_PREFIX_EXCEPTIONS.get(billing_country, billing_country)):
        raise ValidationError(_("This VAT number does not belong to the billing country."))


def _snapshot(instance: Any, fields: tuple[str, ...] | list[str]) -> dict[str, Any]:
    return {field: str(getattr(instance, field)) for field in fields}


# --- users -----------------------------------------------------------------------------------


def user_register(
    *,
    email: str,
    password: str,
    first_name: str,
    last_name: str,
    language: str,
    date_of_birth: dt.date | None = None,
    client_address: str | None = None,
    now: dt.datetime,
) -> User:
    """Sign-up, step 1: the person who logs in."""
    email = email.strip().lower()
    errors: dict[str, list[str]] = {}
    try:
        validate_email(email)
    except ValidationError as error:
        errors["email"] = error.messages
    if language not in Language.values:
        errors["language"] = [_("Choose one of French, English, German, Italian or Spanish.")]
    if not first_name.strip():
        errors["first_name"] = [_("This field is required.")]
    if not last_name.strip():
        errors["last_name"] = [_("This field is required.")]
    if date_of_birth and date_of_birth > clock.business_date(now):
        errors["date_of_birth"] = [_("The date of birth cannot be in the future.")]
    candidate = User(email=email, first_name=first_name.strip(), last_name=last_name.strip())
    try:
        validate_password(password, candidate)
    except ValidationError as error:
        errors["password"] = error.messages
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            user = User.objects.create_user(
                email,
                password,
                first_name=first_name.strip(),
                last_name=last_name.strip(),
                language=language,
                date_of_birth=date_of_birth,
            )
            audit_record(
                actor=Actor(type="user", label=email, user=user, client_address=client_address),
                action="user.registered",
                rule="ORG-1",
                obj=user,
                after={"email": email, "language": language},
                at=now,
            )
    except IntegrityError as error:
        raise ValidationError({"email": [_("An account with this e-mail address already exists.")]}) from error
    return user


# --- organizations ---------------------------------------------------------------------------


def _lock_organization(organization: Organization) -> Organization:
    return Organization.objects.select_for_update(no_key=True).get(pk=organization.pk)


def organization_create(
    *,
    user: User,
    contact: dict[str, Any],
    accepted_tcu: DocumentVersion | None,
    date_of_birth: dt.date | None = None,
    client_address: str | None = None,
    now: dt.datetime,
) -> Organization:
    """Sign-up, step 2: the Organization with its Contact Information (ORG-1), the user as its first
    Legal Responsible (ORG-5), and the acceptance of the TCU in force (ORG-7)."""
    today = clock.business_date(now)
    cleaned = clean_contact(contact)
    current = selectors.current_tcu(today)
    if current is None:
        raise RuleViolation(_("No Terms and Conditions are published yet; please try again later."), rule="ORG-7")
    if accepted_tcu is None or accepted_tcu.pk != current.pk:
        raise RuleViolation(
            _("Please accept the Terms and Conditions of Use in force (version %(label)s).") % {"label": current.label},
            rule="ORG-7",
            status=400,
            field="accept_tcu",
        )
    if user.date_of_birth and date_of_birth and date_of_birth != user.date_of_birth:
        raise ValidationError(
            {"date_of_birth": [_("Your date of birth is already on file; please contact support to correct it.")]}
        )
    birth = user.date_of_birth or date_of_birth
    if birth is None:
        raise ValidationError(
            {"date_of_birth": [_("The Legal Responsible's date of birth is required (adults only).")]}
        )
    if birth > today:
        raise ValidationError({"date_of_birth": [_("The date of birth cannot be in the future.")]})
    actor = Actor.for_user(user, client_address=client_address)
    with transaction.atomic():
        if user.date_of_birth is None:
            user.date_of_birth = birth
            user.save(update_fields=["date_of_birth"])
            audit_record(
                actor=actor,
                action="user.date_of_birth_recorded",
                rule="ORG-4",
                obj=user,
                after={"date_of_birth": birth.isoformat()},
                at=now,
            )
        organization = Organization.objects.create(created_at=now, **cleaned)
        membership = Membership.objects.create(
            organization=organization, user=user, role=Role.LEGAL_RESPONSIBLE, created_at=now
        )
        audit_record(
            actor=actor,
            action="organization.created",
            rule="ORG-1",
            obj=organization,
            organization=organization,
            after=_snapshot(organization, CONTACT_FIELDS),
            at=now,
        )
        audit_record(
            actor=actor,
            action="membership.created",
            rule="ORG-5",
            obj=membership,
            organization=organization,
            after={"user": user.email, "role": membership.role},
            at=now,
        )
        from accounts.document_services import _accept  # imports this module: at call time

        _accept(organization=organization, version=current, user=user, actor=actor, now=now)
        if user.is_minor_on(today):
            authorization = GuardianAuthorization.objects.create(organization=organization, minor=user)
            audit_record(
                actor=actor,
                action="guardian_authorization.requested",
                rule="ORG-4",
                obj=authorization,
                organization=organization,
                after={"minor": user.email},
                at=now,
            )
        notify(organization=organization, template="organization_created", now=now, related=organization)
    return organization


def organization_update_contact(
    *,
    organization: Organization,
    user: User,
    changes: dict[str, Any],
    client_address: str | None = None,
    now: dt.datetime,
) -> Organization:
    """Change Contact Information (ORG-1, ORG-10); refused while blocked (ORG-2) or terminated."""
    cleaned = clean_contact(changes, partial=True)
    if "vat_number" in cleaned and "billing_country" not in cleaned and cleaned["vat_number"]:
        try:
            _check_vat_country(cleaned["vat_number"], str(organization.billing_country))
        except ValidationError as error:
            raise ValidationError({"vat_number": error.messages}) from error
    if "billing_country" in cleaned and "vat_number" not in cleaned and organization.vat_number:
        try:
            _check_vat_country(organization.vat_number, cleaned["billing_country"])
        except ValidationError as error:
            raise ValidationError({"billing_country": error.messages}) from error
    with transaction.atomic():
        locked = _lock_organization(organization)
        require_manager(locked, user)
        require_changeable(locked)
        changed = [field for field, value in cleaned.items() if str(getattr(locked, field)) != str(value)]
        if not changed:
            return locked
        hooks.contact_changing(locked, {field: cleaned[field] for field in changed}, user=user, now=now)  # ENF-6
        if locked.validation != Organization.Validation.UNVALIDATED:
            # ORG-2: validated or corrected, the new details go back to staff for validation.
            cleaned["validation"] = Organization.Validation.UNVALIDATED
            changed.append("validation")
        before = _snapshot(locked, changed)
        for field in changed:
            setattr(locked, field, cleaned[field])
        locked.save(update_fields=changed)
        audit_record(
            actor=Actor.for_user(user, client_address=client_address),
            action="organization.contact_changed",
            rule="ORG-1",
            obj=locked,
            organization=locked,
            before=before,
            after=_snapshot(locked, changed),
            at=now,
        )
    return locked


def organization_validate(
    *, organization: Organization, staff_user: User, valid: bool, reason: str = "", now: dt.datetime
) -> Organization:
    """ORG-2: staff validate the details, or ask for corrections (the customer is told why)."""
    if not valid and not reason.strip():
        raise RuleViolation(_("Say what must be corrected."), rule="ORG-2", status=400, field="reason")
    with transaction.atomic():
        locked = _lock_organization(organization)
        before = _snapshot(locked, ["validation"])
        locked.validation = Organization.Validation.VALIDATED if valid else Organization.Validation.REJECTED
        locked.validated_at = now
        locked.validated_by = staff_user
        locked.save(update_fields=["validation", "validated_at", "validated_by"])
        audit_record(
            actor=Actor.for_user(staff_user),
            action="organization.validated" if valid else "organization.rejected",
            rule="ORG-2",
            obj=locked,
            organization=locked,
            before=before,
            after={"validation": locked.validation, "reason": reason},
            at=now,
        )
        if not valid:
            notify(
                organization=locked,
                template="organization_correction",
                context={"reason": reason},
                related=locked,
                now=now,
            )
    return locked


def organization_block(*, organization: Organization, staff_user: User, reason: str, now: dt.datetime) -> Organization:
    """ORG-2: block (incomplete or wrong data, suspected unauthorized use); the customer is told why."""
    if not reason.strip():
        raise RuleViolation(_("A reason is required to block an organization."), rule="ORG-2", status=400)
    with transaction.atomic():
        locked = _lock_organization(organization)
        if locked.status != Organization.Status.ACTIVE:
            raise RuleViolation(_("Only an active organization can be blocked."), rule="ORG-2")
        locked.status = Organization.Status.BLOCKED
        locked.status_reason = reason
        locked.save(update_fields=["status", "status_reason"])
        audit_record(
            actor=Actor.for_user(staff_user),
            action="organization.blocked",
            rule="ORG-2",
            obj=locked,
            organization=locked,
            before={"status": "active"},
            after={"status": "blocked", "reason": reason},
            at=now,
        )
        notify(
            organization=locked, template="organization_blocked", context={"reason": reason}, related=locked, now=now
        )
    return locked


def organization_unblock(
    *, organization: Organization, staff_user: User, reason: str, now: dt.datetime
) -> Organization:
    if not reason.strip():
        raise RuleViolation(_("A reason is required to unblock an organization."), rule="ORG-2", status=400)
    with transaction.atomic():
        locked = _lock_organization(organization)
        if locked.status != Organization.Status.BLOCKED:
            raise RuleViolation(_("This organization is not blocked."), rule="ORG-2")
        locked.status = Organization.Status.ACTIVE
        locked.status_reason = ""
        locked.save(update_fields=["status", "status_reason"])
        audit_record(
            actor=Actor.for_user(staff_user),
            action="organization.unblocked",
            rule="ORG-2",
            obj=locked,
            organization=locked,
            before={"status": "blocked"},
            after={"status": "active", "reason": reason},
            at=now,
        )
        notify(
            organization=locked, template="organization_unblocked", context={"reason": reason}, related=locked, now=now
        )
    return locked


# Re-authentication (ORG-9): wrong passwords allowed per user before a pause, and the pause.
REAUTH_FAILURE_LIMIT = 5
REAUTH_PAUSE_SECONDS = 15 * 60


def _reauthenticate(user: User, password: str, *, rule: str) -> None:
    """Confirm the user's identity by their password; after repeated failures, pause (shared cache)."""
    key = f"reauth-failures:{user.pk}"
    if cache.get(key, 0) >= REAUTH_FAILURE_LIMIT:
        raise RuleViolation(
            _("Too many wrong passwords. Please try again in 15 minutes."), rule=rule, status=429, field="password"
        )
    if not user.check_password(password):
        cache.add(key, 0, REAUTH_PAUSE_SECONDS)
        cache.incr(key)
        raise RuleViolation(_("The password is not correct."), rule=rule, status=400, field="password")
    cache.delete(key)


def organization_terminate(
    *, organization: Organization, user: User, password: str, client_address: str | None = None, now: dt.datetime
) -> Organization:
    """ORG-9: a Legal Responsible ends the contract, after re-entering the password, once every
    Service is terminated and no invoice is open (the billing app answers through accounts.hooks)."""
    _reauthenticate(user, password, rule="ORG-9")
    with transaction.atomic():
        locked = _lock_organization(organization)
        membership = require_member(locked.pk, user)
        if membership.role != Role.LEGAL_RESPONSIBLE:
            raise RuleViolation(_("Only a Legal Responsible can terminate the contract."), rule="ORG-9", status=403)
        if locked.status == Organization.Status.TERMINATED:
            raise RuleViolation(_("This organization's contract is terminated."), rule="ORG-9")
        blockers = hooks.termination_blockers(locked)
        if blockers:
            raise RuleViolation(
                _("The contract cannot be terminated yet: %(reasons)s") % {"reasons": "; ".join(blockers)},
                rule="ORG-9",
            )
        before = {"status": locked.status}
        locked.status = Organization.Status.TERMINATED
        locked.terminated_at = now
        locked.status_reason = _("terminated by its Legal Responsible")
        locked.save(update_fields=["status", "terminated_at", "status_reason"])
        audit_record(
            actor=Actor.for_user(user, client_address=client_address),
            action="organization.terminated",
            rule="ORG-9",
            obj=locked,
            organization=locked,
            before=before,
            after={"status": "terminated"},
            at=now,
        )
        notify(organization=locked, template="organization_terminated", related=locked, now=now)
    return locked


# --- members ---------------------------------------------------------------------------------


def _check_role(role: str) -> None:
    if role not in Role.values:
        raise RuleViolation(_("Unknown role."), rule="ORG-5", status=400, field="role")


def _check_minor_may_be_legal_responsible(*, organization: Organization, user: User, today: dt.date) -> None:
    """ORG-4: a minor becomes Legal Responsible only with an approved guardian authorization."""
    approved = GuardianAuthorization.objects.filter(
        organization=organization, minor=user, decision=GuardianAuthorization.Decision.APPROVED
    ).exists()
    if user.is_minor_on(today) and not approved:
        raise RuleViolation(
            _(
                "A minor can be Legal Responsible only with a legal representative's authorization "
                "verified by our staff."
            ),
            rule="ORG-4",
        )


def _require_legal_responsible_actor(actor_membership: Membership) -> None:
    """ORG-5: only a Legal Responsible makes someone a joint holder of the contract."""
    if actor_membership.role != Role.LEGAL_RESPONSIBLE:
        raise RuleViolation(
            _("Only a Legal Responsible can make someone a Legal Responsible."), rule="ORG-5", status=403
        )


def _check_legal_responsible_grant(
    *, organization: Organization, actor_membership: Membership, user: User, today: dt.date
) -> None:
    _require_legal_responsible_actor(actor_membership)
    _check_minor_may_be_legal_responsible(organization=organization, user=user, today=today)


# An invitation is valid this long (ORG-5).
INVITATION_VALID_DAYS = 14


def member_invite(
    *,
    organization: Organization,
    user: User,
    email: str,
    role: str,
    client_address: str | None = None,
    now: dt.datetime,
) -> Invitation:
    """Invite someone, by e-mail, to join with a role (ORG-5); they become a member when they accept.
    Works the same whether or not the address has a portal account, so it reveals nothing."""
    _check_role(role)
    email = email.strip().lower()
    try:
        validate_email(email)
    except ValidationError as error:
        raise RuleViolation(_("Enter a valid e-mail address."), rule="ORG-5", status=400, field="email") from error
    with transaction.atomic():
        locked = _lock_organization(organization)
        actor_membership = require_manager(locked, user)
        require_changeable(locked)
        if role == Role.LEGAL_RESPONSIBLE:
            _require_legal_responsible_actor(actor_membership)
        if Membership.objects.filter(organization=locked, user__email__iexact=email).exists():
            raise RuleViolation(_("This person is already a member."), rule="ORG-5", field="email")
        # A new invitation to the same address replaces the one still open.
        for stale in Invitation.objects.select_for_update().filter(
            organization=locked, email=email, accepted_at__isnull=True, revoked_at__isnull=True
        ):
            stale.revoked_at = now
            stale.save(update_fields=["revoked_at"])
        invitation = Invitation.objects.create(
            organization=locked,
            email=email,
            role=role,
            token=secrets.token_urlsafe(32),
            invited_by=user,
            created_at=now,
            expires_at=now + dt.timedelta(days=INVITATION_VALID_DAYS),
        )
        audit_record(
            actor=Actor.for_user(user, client_address=client_address),
            action="invitation.created",
            rule="ORG-5",
            obj=invitation,
            organization=locked,
            after={"email": email, "role": role},
            at=now,
        )
        notify(
            organization=locked,
            template="member_invited",
            context={
                "invitation": invitation,
                "inviter": user,
                "role": invitation.get_role_display(),
                "path": reverse("accounts:invitation", args=[invitation.token]),
            },
            channels=(Notification.Channel.EMAIL,),
            email_to=email,
            related=invitation,
            now=now,
        )
    return invitation


def invitation_accept(*, token: str, user: User, client_address: str | None = None, now: dt.datetime) -> Membership:
    """The invited person, logged in with the invited address, joins (ORG-5; ORG-4 for minors)."""
    with transaction.atomic():
        invitation = Invitation.objects.filter(token=token).select_related("organization").first()
        if invitation is None:
            raise RuleViolation(_("This invitation does not exist."), rule="ORG-5", status=404)
        locked = _lock_organization(invitation.organization)
        invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if not invitation.is_open(now):
            raise RuleViolation(
                _("This invitation is no longer valid; please ask for a new one."), rule="ORG-5", status=410
            )
        if invitation.email != user.email.lower():
            raise RuleViolation(
                _("This invitation was sent to another e-mail address. Log in with that address to accept it."),
                rule="ORG-5",
                status=403,
            )
        require_changeable(locked)
        if Membership.objects.filter(organization=locked, user=user).exists():
            raise RuleViolation(_("You are already a member of this organization."), rule="ORG-5")
        if invitation.role == Role.LEGAL_RESPONSIBLE:
            _check_minor_may_be_legal_responsible(organization=locked, user=user, today=clock.business_date(now))
        membership = Membership.objects.create(organization=locked, user=user, role=invitation.role, created_at=now)
        invitation.accepted_at = now
        invitation.accepted_by = user
        invitation.save(update_fields=["accepted_at", "accepted_by"])
        audit_record(
            actor=Actor.for_user(user, client_address=client_address),
            action="membership.created",
            rule="ORG-5",
            obj=membership,
            organization=locked,
            after={"user": user.email, "role": membership.role, "invitation": invitation.pk},
            at=now,
        )
    return membership


def invitation_revoke(
    *, invitation: Invitation, user: User, client_address: str | None = None, now: dt.datetime
) -> Invitation:
    with transaction.atomic():
        locked = _lock_organization(invitation.organization)
        require_manager(locked, user)
        invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if invitation.accepted_at is not None or invitation.revoked_at is not None:
            raise RuleViolation(_("This invitation is already closed."), rule="ORG-5")
        invitation.revoked_at = now
        invitation.save(update_fields=["revoked_at"])
        audit_record(
            actor=Actor.for_user(user, client_address=client_address),
            action="invitation.revoked",
            rule="ORG-5",
            obj=invitation,
            organization=locked,
            before={"email": invitation.email, "role": invitation.role},
            at=now,
        )
    return invitation


def _lock_member(locked_organization: Organization, membership: Membership) -> Membership:
    member = (
        Membership.objects.select_for_update(of=("self",))
        .select_related("user")
        .filter(pk=membership.pk, organization=locked_organization)
        .first()
    )
    if member is None:
        raise RuleViolation(_("No such member."), rule="ORG-5", status=404)
    return member


def _require_other_legal_responsible(organization: Organization, member: Membership) -> None:
    """ORG-5 invariant: an Organization always keeps at least one Legal Responsible. Called with
    the Organization row locked, so two concurrent demotions are serialized and the second sees
    the first's result."""
    if member.role != Role.LEGAL_RESPONSIBLE:
        return
    others = Membership.objects.filter(organization=organization, role=Role.LEGAL_RESPONSIBLE).exclude(pk=member.pk)
    if not others.exists():
        raise RuleViolation(
            _(
                "The last Legal Responsible cannot be removed or given another role: "
                "make another member Legal Responsible first."
            ),
            rule="ORG-5",
        )


def member_change_role(
    *, membership: Membership, user: User, role: str, client_address: str | None = None, now: dt.datetime
) -> Membership:
    _check_role(role)
    with transaction.atomic():
        locked = _lock_organization(membership.organization)
        actor_membership = require_manager(locked, user)
        require_changeable(locked)
        member = _lock_member(locked, membership)
        if member.role == role:
            return member
        if member.role == Role.LEGAL_RESPONSIBLE and actor_membership.role != Role.LEGAL_RESPONSIBLE:
            raise RuleViolation(
                _("Only a Legal Responsible can change a Legal Responsible's role."), rule="ORG-5", status=403
            )
        if role == Role.LEGAL_RESPONSIBLE:
            _check_legal_responsible_grant(
                organization=locked, actor_membership=actor_membership, user=member.user, today=clock.business_date(now)
            )
        _require_other_legal_responsible(locked, member)
        before = {"role": member.role}
        member.role = role
        member.save(update_fields=["role"])
        audit_record(
            actor=Actor.for_user(user, client_address=client_address),
            action="membership.role_changed",
            rule="ORG-5",
            obj=member,
            organization=locked,
            before=before,
            after={"role": role, "user": member.user.email},
            at=now,
        )
        if before["role"] == Role.LEGAL_RESPONSIBLE:
            _record_sole_holder(locked, user=user, client_address=client_address, now=now)
    return member


def member_remove(*, membership: Membership, user: User, client_address: str | None = None, now: dt.datetime) -> None:
    with transaction.atomic():
        locked = _lock_organization(membership.organization)
        member = _lock_member(locked, membership)
        is_self = member.user_id == user.pk
        actor_membership = require_member(locked.pk, user) if is_self else require_manager(locked, user)
        require_changeable(locked)
        if member.role == Role.LEGAL_RESPONSIBLE and not is_self and actor_membership.role != Role.LEGAL_RESPONSIBLE:
            raise RuleViolation(_("Only a Legal Responsible can remove a Legal Responsible."), rule="ORG-5", status=403)
        _require_other_legal_responsible(locked, member)
        audit_record(
            actor=Actor.for_user(user, client_address=client_address),
            action="membership.removed",
            rule="ORG-5",
            obj=member,
            organization=locked,
            before={"user": member.user.email, "role": member.role},
            at=now,
        )
        was_legal_responsible = member.role == Role.LEGAL_RESPONSIBLE
        member.delete()
        if was_legal_responsible:
            _record_sole_holder(locked, user=user, client_address=client_address, now=now)


def _record_sole_holder(
    organization: Organization, *, user: User, client_address: str | None, now: dt.datetime
) -> None:
    """ORG-5: when the others are removed, the remaining Legal Responsible becomes sole holder.
    Called after a Legal Responsible left or changed role."""
    legal = list(
        Membership.objects.filter(organization=organization, role=Role.LEGAL_RESPONSIBLE).select_related("user")
    )
    if len(legal) == 1:
        audit_record(
            actor=Actor.for_user(user, client_address=client_address),
            action="organization.sole_holder",
            rule="ORG-5",
            obj=organization,
            organization=organization,
            after={"sole_holder": legal[0].user.email},
            at=now,
        )
