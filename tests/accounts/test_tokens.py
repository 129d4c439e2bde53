"""API tokens (issue 14, item 6): expiry, last use, the owner's list and revocation (API and portal),
revocation on a password change, and the scopes of the machine accounts. Each test attacks the way a
stolen or forgotten token would be used; a refusal changes nothing."""

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.response import Response
from rest_framework.test import APIClient, APIRequestFactory
from rest_framework.views import APIView

from accounts.models import ApiToken
from accounts.permissions import HasTokenScope, scopes_accepted_by
from accounts.tokens import key_digest, token_issue
from audit.models import AuditEvent
from tests.factories import PASSWORD, UserFactory, member

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)
NEW_PASSWORD = "a-brand-new-passphrase-2026"


@pytest.fixture(autouse=True)
def _on_a_fixed_day() -> Any:
    """Tokens issued on NOW are used on NOW (a test travels further when it means to)."""
    with time_machine.travel(NOW, tick=True):
        yield


def _ask_token(email: str, password: str = PASSWORD, **extra: Any) -> Any:
    return APIClient().post("/api/v1/auth/token/", {"email": email, "password": password, **extra}, format="json")


def _client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def _tokens() -> list[tuple]:
    return list(ApiToken.objects.order_by("pk").values_list("pk", "user_id", "revoked_at", "last_used_at", "scope"))


def _monitoring_account() -> Any:
    user = UserFactory(email="monitoring@provider.example")
    user.user_permissions.add(Permission.objects.get(codename="add_incident", content_type__app_label="sla"))
    return user


# --- expiry and last use ---------------------------------------------------------------------


def test_token_expires_after_api_token_days_with_a_clear_json_error(settings) -> None:
    # given a token issued on NOW, with tokens valid for 90 days
    settings.API_TOKEN_DAYS = 90
    legal = member()
    with time_machine.travel(NOW, tick=False):
        issued = _ask_token(legal.user.email)
    key = issued.json()["token"]

    # when it is used on its last valid instant, then one second later
    with time_machine.travel(NOW + dt.timedelta(days=90) - dt.timedelta(seconds=1), tick=False):
        last_day = _client(key).get("/api/v1/me/")
    before = (_tokens(), AuditEvent.objects.count())
    with time_machine.travel(NOW + dt.timedelta(days=90), tick=False):
        expired = _client(key).get("/api/v1/me/")

    # then it worked until it expired; then refused with the API's error body, nothing written
    assert issued.json()["expires_at"] == "2026-06-08T11:00:00+02:00"  # NOW + 90 days, in Zurich time
    assert last_day.status_code == 200
    assert expired.status_code == 401
    assert expired.json() == {"detail": "This token expired on 2026-06-08: ask for a new one.", "rule": None}
    assert (_tokens(), AuditEvent.objects.count()) == before


def test_api_token_days_is_a_setting(settings) -> None:
    settings.API_TOKEN_DAYS = 7
    legal = member()
    with time_machine.travel(NOW, tick=False):
        token, key = token_issue(user=legal.user, now=NOW)
    with time_machine.travel(NOW + dt.timedelta(days=7), tick=False):
        assert _client(key).get("/api/v1/me/").status_code == 401
    assert token.expires_at == NOW + dt.timedelta(days=7)


def test_last_use_is_written_at_most_once_a_minute() -> None:
    legal = member()
    token, key = token_issue(user=legal.user, now=NOW)
    client = _client(key)
    seen = []
    for seconds in (0, 30, 59, 60, 61):
        with time_machine.travel(NOW + dt.timedelta(seconds=seconds), tick=False):
            assert client.get("/api/v1/me/").status_code == 200
        token.refresh_from_db()
        seen.append(token.last_used_at)
    assert seen == [NOW, NOW, NOW, NOW + dt.timedelta(seconds=60), NOW + dt.timedelta(seconds=60)]


# --- the owner's list and revocation ---------------------------------------------------------


def test_list_shows_my_tokens_only_with_created_expires_and_last_use() -> None:
    mine = member()
    theirs = member()
    with time_machine.travel(NOW, tick=False):
        own, key = token_issue(user=mine.user, name="backup script", now=NOW)
        token_issue(user=theirs.user, now=NOW)
        listed = _client(key).get("/api/v1/auth/tokens/")
    assert listed.status_code == 200
    assert listed.json() == [
        {
            "id": own.pk,
            "name": "backup script",
            "prefix": key[:8],
            "scope": "full",
            "created_at": "2026-03-10T10:00:00+01:00",
            "expires_at": "2026-06-08T11:00:00+02:00",
            "last_used_at": "2026-03-10T10:00:00+01:00",
            "expired": False,
        }
    ]


def test_revoked_token_is_refused_and_recorded() -> None:
    # given two tokens of one user
    legal = member()
    doomed, doomed_key = token_issue(user=legal.user, now=NOW)
    _kept, kept_key = token_issue(user=legal.user, now=NOW)

    # when one is revoked through the API with the other
    revoked = _client(kept_key).delete(f"/api/v1/auth/tokens/{doomed.pk}/")

    # then it no longer authenticates; the other still does; the revocation is evidence
    assert revoked.status_code == 204
    assert _client(doomed_key).get("/api/v1/me/").status_code == 401
    assert _client(doomed_key).get("/api/v1/me/").json() == {"detail": "Invalid token.", "rule": None}
    assert _client(kept_key).get("/api/v1/me/").status_code == 200
    doomed.refresh_from_db()
    assert doomed.revoked_because == "user"
    event = AuditEvent.objects.filter(action="api_token.revoked").get()
    assert (event.rule, event.actor_user_id, event.object_id) == ("EVD-1", legal.user.pk, str(doomed.pk))


def test_tenancy_another_users_token_cannot_be_revoked_or_listed() -> None:
    # given my token and someone else's
    mine = member()
    theirs = member()
    _own, key = token_issue(user=mine.user, now=NOW)
    other, other_key = token_issue(user=theirs.user, now=NOW)
    assert _client(key).get("/api/v1/me/").status_code == 200  # my token's last use: now, not again this minute
    before = (_tokens(), AuditEvent.objects.count())

    # when I try to revoke theirs through the API and the portal, and list tokens
    by_api = _client(key).delete(f"/api/v1/auth/tokens/{other.pk}/")
    browser = Client()
    browser.force_login(mine.user)
    by_portal = browser.post(reverse("accounts:token_revoke", args=[other.pk]))
    page = browser.get(reverse("accounts:security"))

    # then 404 both ways, as for an unknown id; nothing changed; their token still works
    assert by_api.status_code == 404
    assert by_api.json()["rule"] is None
    assert by_portal.status_code == 404
    assert (_tokens(), AuditEvent.objects.count()) == before
    assert _client(other_key).get("/api/v1/me/").status_code == 200
    assert other.prefix not in page.content.decode()


def test_portal_revocation_needs_the_csrf_token() -> None:
    legal = member()
    token, _key = token_issue(user=legal.user, now=NOW)
    before = (_tokens(), AuditEvent.objects.count())
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(legal.user)

    one = browser.post(reverse("accounts:token_revoke", args=[token.pk]))
    every = browser.post(reverse("accounts:tokens_revoke_all"))

    assert (one.status_code, every.status_code) == (403, 403)
    assert (_tokens(), AuditEvent.objects.count()) == before


def test_portal_lists_and_revokes_all_my_tokens() -> None:
    legal = member()
    first, first_key = token_issue(user=legal.user, name="laptop", now=NOW)
    token_issue(user=legal.user, now=NOW)
    browser = Client()
    browser.force_login(legal.user)

    page = browser.get(reverse("accounts:security"))
    done = browser.post(reverse("accounts:tokens_revoke_all"))

    assert page.status_code == 200
    assert f"{first.prefix}…" in page.content.decode() and "laptop" in page.content.decode()
    assert done.status_code == 302
    assert not ApiToken.objects.filter(user=legal.user, revoked_at__isnull=True).exists()
    assert _client(first_key).get("/api/v1/me/").status_code == 401
    event = AuditEvent.objects.filter(action="api_token.revoked_all").get()
    assert (event.rule, event.after) == ("EVD-1", {"count": 2, "because": "user"})


def test_issue_is_recorded_without_the_key() -> None:
    legal = member()
    issued = _ask_token(legal.user.email, name="ci")
    event = AuditEvent.objects.filter(action="api_token.issued").get()
    assert event.rule == "EVD-1"
    assert event.after["scope"] == "full" and event.after["name"] == "ci"
    assert issued.json()["token"] not in str(event.after)
    assert not ApiToken.objects.filter(key_digest=issued.json()["token"]).exists()  # only the digest is kept


# --- password change ---------------------------------------------------------------------------


def test_password_change_revokes_all_tokens() -> None:
    # given a user with two tokens
    legal = member()
    _one, key_one = token_issue(user=legal.user, now=NOW)
    _two, key_two = token_issue(user=legal.user, now=NOW)
    browser = Client()
    browser.force_login(legal.user)

    # when they change their password in the portal
    changed = browser.post(
        reverse("accounts:password_change"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    # then both tokens are refused; the session goes on; recorded
    assert changed.status_code == 302
    assert [_client(key).get("/api/v1/me/").status_code for key in (key_one, key_two)] == [401, 401]
    assert set(ApiToken.objects.values_list("revoked_because", flat=True)) == {"password"}
    assert browser.get(reverse("accounts:security")).status_code == 200
    assert AuditEvent.objects.filter(action="user.password_changed", rule="EVD-1").count() == 1


def test_wrong_old_password_changes_nothing() -> None:
    legal = member()
    _token, key = token_issue(user=legal.user, now=NOW)
    before = (_tokens(), AuditEvent.objects.count())
    browser = Client()
    browser.force_login(legal.user)

    refused = browser.post(
        reverse("accounts:password_change"),
        {"old_password": "wrong", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert refused.status_code == 200
    assert (_tokens(), AuditEvent.objects.count()) == before
    assert _client(key).get("/api/v1/me/").status_code == 200


def test_password_reset_revokes_all_tokens() -> None:
    legal = member()
    _token, key = token_issue(user=legal.user, now=NOW)
    uid = urlsafe_base64_encode(force_bytes(legal.user.pk))
    browser = Client()
    link = browser.get(
        reverse("accounts:password_reset_confirm", args=[uid, default_token_generator.make_token(legal.user)])
    )

    done = browser.post(link["Location"], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})

    assert done.status_code == 302
    assert _client(key).get("/api/v1/me/").status_code == 401
    legal.user.refresh_from_db()
    assert legal.user.check_password(NEW_PASSWORD)
    assert not mail.outbox


def test_staff_setting_a_password_revokes_all_tokens() -> None:
    # given a customer's token, and staff verified by their second factor
    legal = member()
    _token, key = token_issue(user=legal.user, now=NOW)
    admin = UserFactory(is_staff=True, is_superuser=True)
    device = TOTPDevice.objects.create(user=admin, name="staff-totp", confirmed=True)
    browser = Client()
    browser.force_login(admin)
    code = f"{TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift).token():06d}"
    assert browser.post(reverse("accounts:staff_otp"), {"token": code, "next": "/admin/"}).status_code == 302

    # when staff set a new password on the staff site
    done = browser.post(
        reverse("admin:auth_user_password_change", args=[legal.user.pk]),
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    )

    # then the customer's tokens are revoked, by that staff user
    assert done.status_code == 302
    assert _client(key).get("/api/v1/me/").status_code == 401
    event = AuditEvent.objects.filter(action="api_token.revoked_all").get()
    assert (event.actor_user_id, event.after) == (admin.pk, {"count": 1, "because": "password"})


# --- scopes ----------------------------------------------------------------------------------


def test_monitoring_token_is_refused_on_customer_endpoints() -> None:
    # given the monitoring account (sla.add_incident, no membership) and its token
    monitoring = _monitoring_account()
    issued = _ask_token(monitoring.email)
    client = _client(issued.json()["token"])
    legal = member()
    before = AuditEvent.objects.count()

    # when it calls customer endpoints, and the monitoring ones
    answers = {
        path: client.get(path).status_code for path in ["/api/v1/me/", "/api/v1/organizations/", "/api/v1/auth/tokens/"]
    }
    terminate = client.post(f"/api/v1/organizations/{legal.organization_id}/terminate/", {"password": PASSWORD})
    incidents = client.get("/api/v1/sla/incidents/")

    # then the token has the monitoring scope; refused everywhere but its own job
    assert issued.json()["scope"] == "monitoring"
    assert answers == {"/api/v1/me/": 403, "/api/v1/organizations/": 403, "/api/v1/auth/tokens/": 403}
    assert terminate.status_code == 403
    assert terminate.json() == {
        "detail": "This token is limited to monitoring only and cannot be used here.",
        "rule": None,
    }
    assert incidents.status_code == 200
    assert AuditEvent.objects.count() == before


def test_monitoring_account_cannot_ask_for_a_full_token() -> None:
    monitoring = _monitoring_account()
    before = (_tokens(), AuditEvent.objects.count())

    refused = _ask_token(monitoring.email, scope="full")

    assert refused.status_code == 400
    assert refused.json() == {
        "detail": "This account cannot have a token of that scope.",
        "rule": "EVD-1",
        "field": "scope",
    }
    assert (_tokens(), AuditEvent.objects.count()) == before


def test_a_member_gets_a_full_token_and_may_ask_for_a_scope_they_hold() -> None:
    legal = member()
    legal.user.user_permissions.add(Permission.objects.get(codename="add_incident", content_type__app_label="sla"))

    full = _ask_token(legal.user.email)
    scoped = _ask_token(legal.user.email, scope="monitoring")
    metering = _ask_token(legal.user.email, scope="metering")

    assert (full.json()["scope"], scoped.json()["scope"]) == ("full", "monitoring")
    assert metering.status_code == 400


class _MeteringView(APIView):
    permission_classes = [HasTokenScope("metering")]

    def get(self, request: Any) -> Response:
        return Response({"ok": True})


def test_an_endpoint_declares_the_scopes_it_accepts() -> None:
    # given a metering endpoint, and a full and a monitoring token
    legal = member()
    _full, full_key = token_issue(user=legal.user, now=NOW)
    _monitoring, monitoring_key = token_issue(user=_monitoring_account(), now=NOW)
    metering_key = "m" * 43  # a metering account's token (the usage app's permission is not needed here)
    ApiToken.objects.create(
        user=UserFactory(),
        key_digest=key_digest(metering_key),
        prefix="mmmmmmmm",
        scope="metering",
        created_at=NOW,
        expires_at=NOW + dt.timedelta(days=90),
    )
    view = _MeteringView.as_view()
    factory = APIRequestFactory()

    def call(key: str) -> int:
        return view(factory.get("/", HTTP_AUTHORIZATION=f"Token {key}")).status_code

    # then only its scope passes; the declaration is read from the permission classes
    assert scopes_accepted_by(_MeteringView()) == {"metering"}
    assert scopes_accepted_by(APIView()) == {"full"}
    with time_machine.travel(NOW, tick=False):
        assert (call(full_key), call(monitoring_key), call(metering_key)) == (403, 403, 200)
    # and the metering token is refused elsewhere
    with time_machine.travel(NOW, tick=False):
        assert _client(metering_key).get("/api/v1/sla/incidents/").status_code == 403
    with pytest.raises(ValueError, match="unknown token scopes"):
        HasTokenScope("everything")
