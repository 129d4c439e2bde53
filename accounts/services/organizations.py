"""Organizations: creation, Contact Information, validation, blocking and termination (ORG-1,
ORG-2, ORG-9, ORG-10)."""

import datetime as dt
import logging
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts import hooks, selectors
from accounts.models import (
    DocumentVersion,
    GuardianAuthorization,
    Membership,
    Organization,
    User,
)
from accounts.permissions import require_changeable, require_manager, require_member
from accounts.services.contact import CONTACT_FIELDS, check_vat_country, clean_contact, snapshot
from accounts.services.users import reauthenticate
from audit.services import Actor, audit_record
from core import clock
from core.errors import RuleViolation
from notifications.services import notify

Role = Membership.Role
logger = logging.getLogger(__name__)

# --- organizations ---------------------------------------------------------------------------


def lock_organization(organization: Organization) -> Organization:
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
            after=snapshot(organization, CONTACT_FIELDS),
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
        from accounts.document_services import acceptance_record  # imports this package: at call time

        acceptance_record(organization=organization, version=current, user=user, actor=actor, now=now)
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
            check_vat_country(cleaned["vat_number"], str(organization.billing_country))
        except ValidationError as error:
            raise ValidationError({"vat_number": error.messages}) from error
    if "billing_country" in cleaned and "vat_number" not in cleaned and organization.vat_number:
        try:
            check_vat_country(organization.vat_number, cleaned["billing_country"])
        except ValidationError as error:
            raise ValidationError({"billing_country": error.messages}) from error
    with transaction.atomic():
        locked = lock_organization(organization)
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
        before = snapshot(locked, changed)
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
            after=snapshot(locked, changed),
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
        locked = lock_organization(organization)
        before = snapshot(locked, ["validation"])
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
        locked = lock_organization(organization)
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
        locked = lock_organization(organization)
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

def organization_terminate(
    *, organization: Organization, user: User, password: str, client_address: str | None = None, now: dt.datetime
) -> Organization:
    """ORG-9: a Legal Responsible ends the contract, after re-entering the password, once every
    Service is terminated and no invoice is open (the billing app answers through accounts.hooks)."""
    reauthenticate(user, password, rule="ORG-9")
    with transaction.atomic():
        locked = lock_organization(organization)
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
