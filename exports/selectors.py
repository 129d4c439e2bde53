"""Reads of the exports app: which exports a member or a user sees (tenancy, EVD-4, EVD-5).

A statement is seen by the members of its Organization who may export one (exports.services:
STATEMENT_ROLES, not limited to some Services); a personal export by its person alone. Anything
else answers 404, never a hint that it exists.
"""

from django.db.models import QuerySet
from django.http import Http404

from accounts.models import Membership, User
from core.errors import RuleViolation
from exports.models import Export
from exports.services import statement_member

# The exports a page lists: the latest ones (older ones are removed after a week anyway).
LISTED = 20


def statements_of(membership: Membership) -> QuerySet[Export]:
    return (
        Export.objects.filter(kind=Export.Kind.STATEMENT, organization_id=membership.organization_id)
        .select_related("user")
        .order_by("-requested_at", "-id")
    )


def statement_for(*, organization_id: int, user: User, export_id: int) -> Export:
    """A statement of the Organization, for a member who may export one; else 404."""
    try:
        membership = statement_member(organization_id, user)
    except RuleViolation as refused:
        raise Http404("No such export.") from refused
    found = statements_of(membership).filter(pk=export_id).first()
    if found is None:
        raise Http404("No such export.")
    return found


def personal_exports_of(user: User) -> QuerySet[Export]:
    return Export.objects.filter(kind=Export.Kind.PERSONAL, user=user).order_by("-requested_at", "-id")


def personal_export_for(*, user: User, export_id: int) -> Export:
    found = personal_exports_of(user).filter(pk=export_id).first()
    if found is None:
        raise Http404("No such export.")
    return found
