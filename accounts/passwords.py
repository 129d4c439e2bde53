"""Setting a user's password, from every door (the portal's change page, the reset link, the staff
site): it revokes all their API tokens (accounts.tokens), recorded with it (EVD-1). A token is a
password's stand-in, so it must not outlive the password it was obtained with."""

import datetime as dt

from django.db import transaction

from accounts.models import ApiToken, User
from accounts.tokens import tokens_revoke_all
from audit.services import Actor, audit_record


def password_set(*, user: User, password: str, actor: Actor, now: dt.datetime) -> int:
    """Set the (already validated) password and revoke every token; returns how many were revoked."""
    with transaction.atomic():
        locked = User.objects.select_for_update(no_key=True).get(pk=user.pk)
        locked.set_password(password)
        locked.save(update_fields=["password"])
        user.password = locked.password
        revoked = tokens_revoked_for_password(user=locked, actor=actor, now=now)
    return revoked


def tokens_revoked_for_password(*, user: User, actor: Actor, now: dt.datetime) -> int:
    """The password of `user` was changed (here or by the staff site's own form): record it and
    revoke every token of theirs."""
    with transaction.atomic():
        revoked = tokens_revoke_all(user=user, because=ApiToken.RevokedBecause.PASSWORD, actor=actor, now=now)
        audit_record(
            actor=actor,
            action="user.password_changed",
            rule="EVD-1",
            obj=user,
            after={"tokens_revoked": revoked},
            at=now,
        )
    return revoked
