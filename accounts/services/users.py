"""Users: registration (ORG-1) and re-authentication by password before a grave step (ORG-9)."""

import datetime as dt

from django.contrib.auth.password_validation import validate_password
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from accounts.models import (
    Language,
    User,
)
from audit.services import Actor, audit_record
from core import clock
from core.errors import RuleViolation

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



# Re-authentication (ORG-9): wrong passwords allowed per user before a pause, and the pause.
REAUTH_FAILURE_LIMIT = 5
REAUTH_PAUSE_SECONDS = 15 * 60


def reauthenticate(user: User, password: str, *, rule: str) -> None:
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
