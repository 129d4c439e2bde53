"""Every change of state of the accounts app (SPEC §1). Each one locks what it changes, checks the
rule that allows it, and writes an audit event naming the actor and the rule id (EVD-1).

The modules: `contact` (the Contact Information's fields and checks), `users` (registration,
re-authentication), `organizations`, `order_hold` (ENF-4), `members` (invitations, roles, removal);
contract documents and minors are accounts.document_services'. Import the services from here; who may act is
accounts.permissions'.
"""

from accounts.services.contact import (
    CONTACT_FIELDS,
    CONTACT_MAX_LENGTHS,
    OPTIONAL_CONTACT_FIELDS,
    REQUIRED_CONTACT_FIELDS,
    VAT_PREFIX_EXCEPTIONS,
    check_vat_country,
    clean_contact,
    snapshot,
)
from accounts.services.members import (
    INVITATION_VALID_DAYS,
    invitation_accept,
    invitation_revoke,
    member_change_role,
    member_invite,
    member_remove,
)
from accounts.services.order_hold import organization_hold_orders, organization_release_orders
from accounts.services.organizations import (
    lock_organization,
    organization_block,
    organization_create,
    organization_terminate,
    organization_unblock,
    organization_update_contact,
    organization_validate,
)
from accounts.services.users import (
    REAUTH_FAILURE_LIMIT,
    REAUTH_PAUSE_SECONDS,
    reauthenticate,
    user_register,
)

__all__ = [
    "CONTACT_FIELDS",
    "CONTACT_MAX_LENGTHS",
    "INVITATION_VALID_DAYS",
    "OPTIONAL_CONTACT_FIELDS",
    "REAUTH_FAILURE_LIMIT",
    "REAUTH_PAUSE_SECONDS",
    "REQUIRED_CONTACT_FIELDS",
    "VAT_PREFIX_EXCEPTIONS",
    "check_vat_country",
    "clean_contact",
    "invitation_accept",
    "invitation_revoke",
    "lock_organization",
    "member_change_role",
    "member_invite",
    "member_remove",
    "organization_block",
    "organization_create",
    "organization_hold_orders",
    "organization_release_orders",
    "organization_terminate",
    "organization_unblock",
    "organization_update_contact",
    "organization_validate",
    "reauthenticate",
    "snapshot",
    "user_register",
]
