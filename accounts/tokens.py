"""API tokens (issue 14, item 6): issue, list, revoke, revoke all; the scope of a machine account.

A token is issued by `POST /api/v1/auth/token/` (e-mail, password, and the second factor when the
user has one: accounts.two_factor). Its key is shown once; the database keeps its SHA-256 digest, a
prefix to recognise it, when it was created, when it expires (`API_TOKEN_DAYS` later) and when it
was last used (at most once a minute: accounts.authentication). Revoking keeps the row, marked, so
the owner's list and the evidence agree; every issue and revocation is an audit event (EVD-1: who,
when, which token, why).

Scopes. A token is "full" (what its user may do, everywhere a token is accepted) or carries the one
job of a machine account: "monitoring" (SLA-8: records incidents) or "metering" (USE-2: reports
usage). A machine account is a user who holds a scope's permission (SCOPE_PERMISSIONS) and is
neither staff nor a member of any Organization; its tokens always get its scope (the first in
SCOPE_PERMISSIONS' order when it holds several, unless it asks for another it holds), never "full".
Anyone else gets "full" unless they ask for a scope whose permission they hold. A scoped token is
refused by every endpoint that does not accept its scope (accounts.authentication and
accounts.permissions.HasTokenScope).
"""

import datetime as dt
import hashlib
import secrets

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from accounts.models import ApiToken, Membership, User
from audit.services import Actor, audit_record
from core.errors import RuleViolation

Scope = ApiToken.Scope

# The permission(s) that make an account a machine account of a scope, in order of precedence. The
# apps are named, never imported: "metering" is the usage app's metering account (USE-2).
SCOPE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    Scope.MONITORING: ("sla.add_incident",),
    Scope.METERING: ("usage.report_usage",),
}
KEY_BYTES = 32  # 256 random bits: 43 URL-safe characters


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def scopes_held(user: User) -> list[str]:
    """The machine scopes whose permission the user holds, in SCOPE_PERMISSIONS' order."""
    return [scope for scope, perms in SCOPE_PERMISSIONS.items() if any(user.has_perm(perm) for perm in perms)]


def is_machine_account(user: User) -> bool:
    return bool(scopes_held(user)) and not user.is_staff and not Membership.objects.filter(user=user).exists()


def scope_for(user: User, requested: str | None) -> str:
    """The scope of a new token for `user`; refused (400) when they ask for one they may not have."""
    held = scopes_held(user)
    allowed = held if is_machine_account(user) else [Scope.FULL, *held]
    if requested is None:
        return str(allowed[0])
    if requested not in allowed:
        raise RuleViolation(
            _("This account cannot have a token of that scope."), rule="EVD-1", status=400, field="scope"
        )
    return requested


def tokens_of(user: User) -> QuerySet[ApiToken]:
    """The user's own tokens not revoked (expired ones too, marked by their date), newest first."""
    return ApiToken.objects.filter(user=user, revoked_at__isnull=True).order_by("-created_at", "-pk")


def token_of(*, user: User, token_id: int) -> ApiToken | None:
    """One of the user's own tokens, never another user's (None: 404 at the door)."""
    return tokens_of(user).filter(pk=token_id).first()


def token_issue(
    *, user: User, name: str = "", scope: str | None = None, client_address: str | None = None, now: dt.datetime
) -> tuple[ApiToken, str]:
    """Issue a token; returns it and its key (shown once, never stored)."""
    chosen = scope_for(user, scope)
    key = secrets.token_urlsafe(KEY_BYTES)
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user,
            name=name.strip()[:100],
            key_digest=key_digest(key),
            prefix=key[:8],
            scope=chosen,
            created_at=now,
            expires_at=now + dt.timedelta(days=settings.API_TOKEN_DAYS),
        )
        audit_record(
            actor=Actor.for_user(user, client_address=client_address),
            action="api_token.issued",
            rule="EVD-1",
            obj=token,
            after={"prefix": token.prefix, "scope": chosen, "name": token.name, "expires_at": token.expires_at},
            at=now,
        )
    return token, key


def token_revoke(*, token: ApiToken, user: User, client_address: str | None = None, now: dt.datetime) -> ApiToken:
    """The owner revokes one of their tokens (another user's answers as unknown: 404)."""
    with transaction.atomic():
        locked = ApiToken.objects.select_for_update().filter(pk=token.pk, user=user, revoked_at__isnull=True).first()
        if locked is None:
            raise RuleViolation(_("No such token."), rule="EVD-1", status=404)
        locked.revoked_at = now
        locked.revoked_because = ApiToken.RevokedBecause.USER
        locked.save(update_fields=["revoked_at", "revoked_because"])
        audit_record(
            actor=Actor.for_user(user, client_address=client_address),
            action="api_token.revoked",
            rule="EVD-1",
            obj=locked,
            after={"prefix": locked.prefix, "because": locked.revoked_because},
            at=now,
        )
    return locked


def tokens_revoke_all(
    *, user: User, because: str, actor: Actor, client_address: str | None = None, now: dt.datetime
) -> int:
    """Revoke every live token of `user` (their own wish, a password change, a second factor their
    Organization now requires); one event naming how many. Call inside the transaction of the cause."""
    with transaction.atomic():
        ids = list(
            ApiToken.objects.select_for_update()
            .filter(user=user, revoked_at__isnull=True)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if ids:
            ApiToken.objects.filter(pk__in=ids).update(revoked_at=now, revoked_because=because)
        audit_record(
            actor=actor,
            action="api_token.revoked_all",
            rule="EVD-1",
            obj=user,
            after={"count": len(ids), "because": because},
            at=now,
        )
    return len(ids)
