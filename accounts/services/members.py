"""Members: invitations, roles, removal (ORG-4, ORG-5)."""

import datetime as dt
import logging
import secrets

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.models import (
    GuardianAuthorization,
    Invitation,
    Membership,
    Organization,
    User,
)
from accounts.permissions import require_changeable, require_manager, require_member
from accounts.services.organizations import lock_organization
from audit.services import Actor, audit_record
from core import clock
from core.errors import RuleViolation
from notifications.models import Notification
from notifications.services import notify

Role = Membership.Role
logger = logging.getLogger(__name__)

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
        locked = lock_organization(organization)
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
        locked = lock_organization(invitation.organization)
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
        locked = lock_organization(invitation.organization)
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
        locked = lock_organization(membership.organization)
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
        locked = lock_organization(membership.organization)
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
