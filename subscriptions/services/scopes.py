"""ORG-6: management rights of a member limited to chosen Services."""

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import Membership, Organization
from accounts.permissions import LIMITABLE_ROLES, require_manager
from audit.services import Actor, audit_record
from core.errors import RuleViolation
from subscriptions.models import MembershipServiceScope, Service


def membership_scope_set(
    *,
    membership: Membership,
    service_ids: list[int],
    user: Any,
    client_address: str | None = None,
    now: dt.datetime,
) -> list[int]:
    """Limit a member to these Services (an empty list lifts the limit). Only a Legal Responsible or an
    administrator decides, for billing and technical members."""
    with transaction.atomic():
        organization = Organization.objects.select_for_update(no_key=True).get(pk=membership.organization_id)
        require_manager(organization, user)
        if organization.status != Organization.Status.ACTIVE:
            raise RuleViolation(_("This organization's data cannot be changed now."), rule="ORG-2")
        member = Membership.objects.select_for_update().get(pk=membership.pk, organization=organization)
        if member.role not in LIMITABLE_ROLES:
            raise RuleViolation(
                _("Only billing and technical members can be limited to some Services."), rule="ORG-6", status=400
            )
        wanted = sorted(set(service_ids))
        found = list(Service.objects.filter(organization=organization, pk__in=wanted).values_list("pk", flat=True))
        if sorted(found) != wanted:
            raise RuleViolation(_("No such service."), rule="ORG-6", status=404, field="service_ids")
        before = sorted(MembershipServiceScope.objects.filter(membership=member).values_list("service_id", flat=True))
        if before == wanted:
            return wanted
        MembershipServiceScope.objects.filter(membership=member).delete()
        MembershipServiceScope.objects.bulk_create(
            [MembershipServiceScope(membership=member, service_id=service_id) for service_id in wanted]
        )
        audit_record(
            actor=Actor.for_user(user, client_address=client_address),
            action="membership.scope_changed",
            rule="ORG-6",
            obj=member,
            organization=organization,
            before={"services": before},
            after={"services": wanted, "user": member.user.email},
            at=now,
        )
    return wanted
