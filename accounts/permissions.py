"""Who may do what: the role sets and `require_*` checks every app's services call (ORG-5), and the
token scopes on API endpoints (accounts.tokens: "full", "monitoring", "metering").

Each check returns what it found (the membership) or raises a RuleViolation with the rule id: 404 when
the Organization is none of the user's business, 403 when their role cannot do it. The message names
who can: callers whose action has its own words pass them (`refusal=`).

Token scopes: every endpoint accepts "full" tokens only, unless it declares otherwise; a scoped token (a machine
account's) is refused (403) everywhere else. That default needs nothing from a view: the token
authentication (accounts.authentication) reads the scopes the view's permission classes declare.

How an endpoint declares the scopes it accepts — put `HasTokenScope(...)` among its permissions:

    class UsageReportView(APIView):
        # the metering account's tokens only (a "full" token is refused here too):
        permission_classes = [IsAuthenticated, HasTokenScope("metering")]

    class StaffIncidentListView(APIView):
        # the monitoring account's tokens, and full tokens (its other permissions decide who):
        permission_classes = [IsAuthenticated, HasTokenScope("monitoring", "full"), IsStaffOrMonitoring]

The scopes are a token's, not a user's: a request authenticated by a session (the portal, staff
with their second factor) is not restricted by them; the view's other permissions decide.
"""

from collections.abc import Collection
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from accounts.models import ApiToken, Membership, Organization, User
from core.errors import RuleViolation

Role = Membership.Role

# ORG-5: the roles of an Organization's members, by what they may do.
# Its contact details and members; terminating a Service (Membership.can_manage_organization).
ORGANIZATION_MANAGER_ROLES = frozenset({Role.LEGAL_RESPONSIBLE, Role.ADMINISTRATOR})
TERMINATING_ROLES = ORGANIZATION_MANAGER_ROLES
# Ordering, paying, the Prepaid Account, the means of payment.
BILLING_ROLES = frozenset({Role.LEGAL_RESPONSIBLE, Role.ADMINISTRATOR, Role.BILLING})
# Acting on a Service (renewal settings, budgets, money-back, SLA claims' terminations aside).
SERVICE_MANAGER_ROLES = BILLING_ROLES
# ORG-6: the roles a manager may limit to some of the Organization's Services: a Legal Responsible holds
# the whole contract and an administrator manages the whole Organization, so neither is limited.
LIMITABLE_ROLES = frozenset({Role.BILLING, Role.TECHNICAL})


def require_member(organization_id: int, user: User, *, refusal: str | None = None) -> Membership:
    """ORG-5: `user`'s membership of the Organization; else 404 (it is none of their business)."""
    membership = Membership.objects.filter(organization_id=organization_id, user=user).first()
    if membership is None:
        raise RuleViolation(refusal or _("You are not a member of this organization."), rule="ORG-5", status=404)
    return membership


def require_role(membership: Membership, roles: Collection[str], *, refusal: str) -> Membership:
    """ORG-5: the membership, if its role is one of `roles`; else 403 with `refusal`."""
    if membership.role not in roles:
        raise RuleViolation(refusal, rule="ORG-5", status=403)
    return membership


def require_manager(organization: Organization, user: User) -> Membership:
    """ORG-5: a Legal Responsible or an administrator of the Organization."""
    return require_role(
        require_member(organization.pk, user),
        ORGANIZATION_MANAGER_ROLES,
        refusal=_("Only a Legal Responsible or an administrator can change the organization."),
    )


def require_billing_member(organization: Organization, user: User, *, refusal: str) -> Membership:
    """ORG-5: a Legal Responsible, an administrator or a billing member; `refusal` says of what."""
    return require_role(require_member(organization.pk, user), BILLING_ROLES, refusal=refusal)


def require_staff(user: User | AnonymousUser, *, rule: str, refusal: str | None = None) -> None:
    """Staff only (403), under the rule of the action."""
    if not user.is_staff:
        raise RuleViolation(refusal or _("Only our staff may do this."), rule=rule, status=403)


def require_staff_second_factor(request: Request, *, rule: str) -> None:
    """Staff act through the API only from a session whose second factor was checked (the admin's
    log-in, django-otp): a password alone — an API token — never carries staff powers (403)."""
    user = request.user
    is_verified = getattr(user, "is_verified", None)
    if user.is_staff and not (callable(is_verified) and is_verified()):
        raise RuleViolation(
            _("Staff use this endpoint from a session opened with their second factor (the staff site's log-in)."),
            rule=rule,
            status=403,
        )


def require_changeable(organization: Organization) -> None:
    """ORG-2: a blocked Organization's data cannot be changed; ORG-9: nor a terminated one's."""
    if organization.status == Organization.Status.BLOCKED:
        raise RuleViolation(
            _("This organization is blocked: its data cannot be changed. Please contact support."), rule="ORG-2"
        )
    if organization.status == Organization.Status.TERMINATED:
        raise RuleViolation(_("This organization's contract is terminated."), rule="ORG-9")


def require_orders_accepted(organization: Organization) -> None:
    """ENF-4 (TCU 6.3): while staff hold the Organization's orders (an invoice unpaid past its due
    date), new orders and the renewals a member asks for are refused; paying invoices never is."""
    if organization.orders_held_at is not None:
        raise RuleViolation(orders_held_message(), rule="ENF-4")


def orders_held_message() -> str:
    """What a member is told while orders are held (ENF-4), in the active language."""
    return _(
        "New orders and renewals are on hold because an invoice is unpaid past its due date. "
        "Please pay your overdue invoices (under Invoices) or contact support."
    )


DEFAULT_SCOPES = frozenset({ApiToken.Scope.FULL.value})


def HasTokenScope(*scopes: str) -> type[BasePermission]:  # noqa: N802 (a class factory, used like a class)
    """A permission class accepting tokens of these scopes only (sessions pass: see above)."""
    unknown = set(scopes) - set(ApiToken.Scope.values)
    if not scopes or unknown:
        raise ValueError(f"unknown token scopes: {sorted(unknown) or 'none given'}")

    class TokenScope(BasePermission):
        token_scopes = frozenset(scopes)

        def has_permission(self, request: Request, view: Any) -> bool:
            token = request.auth
            if not isinstance(token, ApiToken) or token.scope in self.token_scopes:
                return True
            raise exceptions.PermissionDenied(_("This token cannot be used here."))

    TokenScope.__name__ = TokenScope.__qualname__ = f"HasTokenScope({', '.join(scopes)})"
    return TokenScope


def scopes_accepted_by(view: Any) -> frozenset[str]:
    """The token scopes a view accepts: those its permission classes declare, else "full" alone."""
    declared: set[str] = set()
    for permission in getattr(view, "permission_classes", ()):
        declared |= getattr(permission, "token_scopes", frozenset())
    return frozenset(declared) or DEFAULT_SCOPES
