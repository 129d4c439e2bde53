"""The customers' second factor (issue 14, item 7): enrolment with a QR code and recovery codes, the
code asked after the password on both doors (log-in page, token endpoint) under the log-in lockout,
recovery codes used once, and an Organization's requirement of it. A refusal changes nothing."""

import datetime as dt
import re
from typing import Any

import pytest
import time_machine
from axes.models import AccessAttempt
from django.test import Client
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from accounts import two_factor
from accounts.models import ApiToken, Membership, Organization, RecoveryCode
from accounts.tokens import token_issue
from audit.models import AuditEvent
from tests.factories import PASSWORD, member

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)
CODE_REFUSED = "The code is not correct, or log-in is paused after too many attempts: try again in 15 minutes."


@pytest.fixture(autouse=True)
def _fixed_time_no_otp_throttle(settings) -> Any:
    # django-otp's own throttle (a pause after each wrong code) is off here: the lockout is what is tested.
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    with time_machine.travel(NOW, tick=True):
        yield


def _code(device: TOTPDevice, *, later: int = 0) -> str:
    device.refresh_from_db()
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = totp.time + later
    return f"{totp.token():06d}"


def _enrolled(user: Any) -> tuple[TOTPDevice, list[str]]:
    device = two_factor.enrolment_device(user)
    codes = two_factor.two_factor_enable(user=user, device=device, code=_code(device), now=NOW)
    return device, codes


def _password_step(client: Client, email: str) -> Any:
    return client.post(reverse("accounts:login"), {"username": email, "password": PASSWORD})


def _state() -> tuple:
    return (
        list(TOTPDevice.objects.order_by("pk").values_list("pk", "confirmed")),
        list(RecoveryCode.objects.order_by("pk").values_list("pk", "used_at")),
        list(ApiToken.objects.order_by("pk").values_list("pk", "revoked_at")),
        list(Organization.objects.order_by("pk").values_list("pk", "requires_two_factor")),
        AuditEvent.objects.count(),
    )


# --- enrolment -------------------------------------------------------------------------------


def test_enrolment_shows_a_qr_code_then_confirms_with_a_code_and_shows_recovery_codes_once() -> None:
    legal = member()
    browser = Client()
    browser.force_login(legal.user)

    page = browser.get(reverse("accounts:two_factor_enrol"))
    device = TOTPDevice.objects.get(user=legal.user)
    wrong = browser.post(reverse("accounts:two_factor_enrol"), {"code": "000000"})
    right = browser.post(reverse("accounts:two_factor_enrol"), {"code": _code(device)})

    assert page.status_code == 200 and "<svg" in page.content.decode()
    assert wrong.status_code == 200 and "This code is not valid" in wrong.content.decode()
    assert right.status_code == 200 and right["Cache-Control"] == "private, no-store"
    shown = re.findall(r"<code>([a-z0-9-]+)</code>", right.content.decode())
    assert len(shown) == 10 and all(re.fullmatch(r"[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}", code) for code in shown)
    device.refresh_from_db()
    assert device.confirmed and two_factor.has_two_factor(legal.user)
    assert RecoveryCode.objects.filter(user=legal.user, used_at__isnull=True).count() == 10
    digests = set(RecoveryCode.objects.values_list("code_digest", flat=True))
    assert len(digests) == 10 and not digests & set(shown)  # only digests are kept
    event = AuditEvent.objects.get(action="two_factor.enabled")
    assert (event.rule, event.actor_user_id) == ("EVD-1", legal.user.pk)


def test_staff_do_not_enrol_themselves_here() -> None:
    staff = member().user
    staff.is_staff = True
    staff.save()
    browser = Client()
    browser.force_login(staff)
    assert browser.get(reverse("accounts:two_factor_enrol")).status_code == 404
    assert not TOTPDevice.objects.exists()


# --- log-in page -----------------------------------------------------------------------------


def test_login_without_the_code_is_refused_once_totp_is_on() -> None:
    # given a member with the second factor on
    legal = member()
    device, _codes = _enrolled(legal.user)
    browser = Client()

    # when they give the right password, then try to use the portal without the code
    password = _password_step(browser, legal.user.email)
    page = browser.get(reverse("accounts:organization", args=[legal.organization_id]))

    # then they are asked for the code and are not logged in
    assert password.status_code == 302 and password["Location"] == reverse("accounts:login_code")
    assert "_auth_user_id" not in browser.session
    assert page.status_code == 302 and page["Location"].startswith(reverse("accounts:login"))

    # and with the code they are
    done = browser.post(reverse("accounts:login_code"), {"code": _code(device, later=30)})
    assert done.status_code == 302
    assert browser.session["_auth_user_id"] == str(legal.user.pk)


def test_wrong_codes_count_towards_the_lockout() -> None:
    # given a member with the second factor on, past the password step
    legal = member()
    device, _codes = _enrolled(legal.user)
    browser = Client()
    _password_step(browser, legal.user.email)

    # when five wrong codes are given, then the right one
    wrong = [browser.post(reverse("accounts:login_code"), {"code": f"{n:06d}"}) for n in range(100001, 100006)]
    late = browser.post(reverse("accounts:login_code"), {"code": _code(device, later=30)})

    # then each wrong code counted as a failed log-in of the account; the right code is paused too
    assert all(CODE_REFUSED in response.content.decode() for response in wrong)
    assert AccessAttempt.objects.get(username=legal.user.email).failures_since_start == 5
    assert late.status_code == 200 and CODE_REFUSED in late.content.decode()
    assert "_auth_user_id" not in browser.session
    # and the password alone is now refused as well
    again = _password_step(Client(), legal.user.email)
    assert again.status_code == 200


def test_recovery_code_works_once() -> None:
    legal = member()
    _device, codes = _enrolled(legal.user)

    first = Client()
    _password_step(first, legal.user.email)
    used = first.post(reverse("accounts:login_code"), {"code": codes[3].upper()})
    second = Client()
    _password_step(second, legal.user.email)
    again = second.post(reverse("accounts:login_code"), {"code": codes[3]})

    assert used.status_code == 302 and first.session["_auth_user_id"] == str(legal.user.pk)
    assert again.status_code == 200 and "_auth_user_id" not in second.session
    assert RecoveryCode.objects.filter(user=legal.user, used_at__isnull=True).count() == 9
    event = AuditEvent.objects.get(action="two_factor.recovery_code_used")
    assert (event.rule, event.after) == ("EVD-1", {"recovery_codes_left": 9})


def test_new_recovery_codes_replace_the_old_ones() -> None:
    legal = member()
    _device, old = _enrolled(legal.user)
    browser = Client()
    browser.force_login(legal.user)

    page = browser.post(reverse("accounts:recovery_codes_renew"), {"password": PASSWORD})

    assert page.status_code == 200
    assert not two_factor.second_factor_verify(user=legal.user, code=old[0], now=NOW)
    new = re.findall(r"<code>([a-z0-9-]+)</code>", page.content.decode())[0]
    assert two_factor.second_factor_verify(user=legal.user, code=new, now=NOW)


def test_turning_off_needs_the_password() -> None:
    legal = member()
    _enrolled(legal.user)
    browser = Client()
    browser.force_login(legal.user)
    before = _state()

    refused = browser.post(reverse("accounts:two_factor_disable"), {"password": "wrong"})
    after_refusal = _state()
    done = browser.post(reverse("accounts:two_factor_disable"), {"password": PASSWORD})

    assert refused.status_code == 302 and after_refusal == before
    assert done.status_code == 302
    assert not TOTPDevice.objects.exists() and not RecoveryCode.objects.exists()
    assert AuditEvent.objects.filter(action="two_factor.disabled", rule="EVD-1").count() == 1


# --- token endpoint --------------------------------------------------------------------------


def _ask_token(email: str, **extra: Any) -> Any:
    return APIClient().post("/api/v1/auth/token/", {"email": email, "password": PASSWORD, **extra}, format="json")


def test_token_endpoint_refuses_without_the_code() -> None:
    # given a member with the second factor on
    legal = member()
    device, codes = _enrolled(legal.user)
    before = _state()

    # when a token is asked for with the password alone, or a wrong code
    bare = _ask_token(legal.user.email)
    wrong = _ask_token(legal.user.email, otp="123456")

    # then refused, no token; the wrong code counted as a failed log-in
    message = "This account has a second factor: send its 6-digit code (or a recovery code) as `otp`."
    assert (bare.status_code, bare.json()) == (400, {"detail": message, "rule": None, "errors": {"otp": [message]}})
    assert (wrong.status_code, wrong.json()) == (400, {"detail": CODE_REFUSED, "rule": None})
    assert _state() == before
    assert AccessAttempt.objects.get(username=legal.user.email).failures_since_start == 1

    # and with the code, or a recovery code, a token is issued
    assert _ask_token(legal.user.email, otp=_code(device, later=30)).status_code == 200
    assert _ask_token(legal.user.email, otp=codes[0]).status_code == 200
    assert ApiToken.objects.filter(user=legal.user).count() == 2


# --- the Organization's requirement ----------------------------------------------------------


def test_required_two_factor_sends_members_to_enrolment_and_revokes_their_tokens() -> None:
    # given a Legal Responsible with a second factor, and a colleague without one holding a token
    legal = member()
    colleague = member("technical", organization=legal.organization)
    _enrolled(legal.user)
    _token, key = token_issue(user=colleague.user, now=NOW)
    lr_browser = Client()
    lr_browser.force_login(legal.user)

    # when the Legal Responsible requires it of every member
    done = lr_browser.post(reverse("accounts:organization_two_factor", args=[legal.organization_id]), {"required": "1"})

    # then the colleague is sent to enrolment from any page, and their token is revoked
    browser = Client()
    browser.force_login(colleague.user)
    page = browser.get(reverse("accounts:organization", args=[legal.organization_id]))
    session_api = browser.get("/api/v1/me/")
    token_api = APIClient(HTTP_AUTHORIZATION=f"Token {key}").get("/api/v1/me/")
    enrol = browser.get(reverse("accounts:two_factor_enrol"))

    assert done.status_code == 302
    assert page.status_code == 302 and page["Location"] == reverse("accounts:two_factor_enrol")
    assert session_api.status_code == 403 and session_api.json()["rule"] == "ORG-5"
    assert token_api.status_code == 401
    assert enrol.status_code == 200
    assert ApiToken.objects.get(user=colleague.user).revoked_because == "two_factor"
    assert AuditEvent.objects.filter(action="organization.two_factor_required", rule="ORG-5").count() == 1
    # the Legal Responsible, enrolled, goes on as before
    assert lr_browser.get(reverse("accounts:organization", args=[legal.organization_id])).status_code == 200


def test_token_endpoint_refuses_a_member_the_organization_requires_it_of() -> None:
    legal = member()
    colleague = member("billing", organization=legal.organization)
    Organization.objects.filter(pk=legal.organization_id).update(requires_two_factor=True)
    before = _state()

    refused = _ask_token(colleague.user.email)

    assert refused.status_code == 403
    assert refused.json() == {
        "detail": "An organization you belong to requires a second factor: turn it on in the portal first.",
        "rule": "ORG-5",
    }
    assert _state() == before


def test_only_an_enrolled_legal_responsible_may_require_it() -> None:
    legal = member()
    admin = member("administrator", organization=legal.organization)
    _enrolled(admin.user)
    outsider = member()
    _enrolled(outsider.user)
    before = _state()

    by_admin = Client()
    by_admin.force_login(admin.user)
    by_admin.post(reverse("accounts:organization_two_factor", args=[legal.organization_id]), {"required": "1"})
    by_legal = Client()
    by_legal.force_login(legal.user)
    by_legal.post(reverse("accounts:organization_two_factor", args=[legal.organization_id]), {"required": "1"})
    stranger = Client()
    stranger.force_login(outsider.user)
    other = stranger.post(reverse("accounts:organization_two_factor", args=[legal.organization_id]), {"required": "1"})

    assert other.status_code == 404
    assert _state() == before


def test_a_member_cannot_turn_it_off_while_required() -> None:
    legal = member()
    _enrolled(legal.user)
    Organization.objects.filter(pk=legal.organization_id).update(requires_two_factor=True)
    browser = Client()
    browser.force_login(legal.user)
    before = _state()

    browser.post(reverse("accounts:two_factor_disable"), {"password": PASSWORD})

    assert _state() == before


def test_a_member_who_joins_after_the_requirement_cannot_use_an_older_token() -> None:
    # given a user holding a token, then joining an Organization that requires a second factor
    legal = member()
    Organization.objects.filter(pk=legal.organization_id).update(requires_two_factor=True)
    newcomer = member("technical")
    _token, key = token_issue(user=newcomer.user, now=NOW)
    newcomer.organization = legal.organization
    newcomer.save()

    refused = APIClient(HTTP_AUTHORIZATION=f"Token {key}").get("/api/v1/me/")

    assert refused.status_code == 403
    assert refused.json()["rule"] == "ORG-5"


def test_a_session_of_another_user_does_not_clear_a_token_that_needs_enrolment() -> None:
    # given the portal's session of a user who needs no second factor, and the token of a newcomer to
    # an Organization that requires one
    legal = member()
    Organization.objects.filter(pk=legal.organization_id).update(requires_two_factor=True)
    _enrolled(legal.user)
    newcomer = member("technical")
    _token, key = token_issue(user=newcomer.user, now=NOW)
    newcomer.organization = legal.organization
    newcomer.save()
    browser = Client(HTTP_AUTHORIZATION=f"Token {key}")
    browser.force_login(legal.user)

    # when a call carries both
    refused = browser.get("/api/v1/me/")

    # then the token's user is checked: refused
    assert refused.status_code == 403
    assert refused.json()["rule"] == "ORG-5"


def test_a_session_and_a_token_of_the_same_user_are_checked_once(django_assert_num_queries) -> None:  # noqa: ANN001
    # given a member with the portal's session and a token
    legal = member()
    _token, key = token_issue(user=legal.user, now=NOW)
    browser = Client(HTTP_AUTHORIZATION=f"Token {key}")
    browser.force_login(legal.user)
    browser.get("/api/v1/me/")  # the token's last use is written (once a minute)

    # when a call carries both: the session and its user, the middleware's check (ORG-5), the token,
    # then the view's user, memberships and Organizations; not a second check of the same user
    with django_assert_num_queries(7):
        answer = browser.get("/api/v1/me/")

    # then it answers as the token's user, whose check the middleware's answered
    assert answer.status_code == 200
    assert answer.json()["email"] == legal.user.email


def test_the_memberships_check_answers_needs_enrolment_and_counts_the_organizations() -> None:
    """The middleware's one query per page (accounts.two_factor.memberships_check): the same answer as
    needs_enrolment, and the count the navigation's "Switch organization" link reads."""
    first = member()
    user = first.user
    second = member(Membership.Role.TECHNICAL, organization=member().organization)
    second.user = user
    second.save()

    def both() -> tuple[bool, int, bool]:
        check = two_factor.memberships_check(user)
        return check.needs_enrolment, check.organizations, two_factor.needs_enrolment(user)

    assert both() == (False, 2, False)
    Organization.objects.filter(pk=second.organization_id).update(requires_two_factor=True)
    assert both() == (True, 2, True)
    _enrolled(user)
    assert both() == (False, 2, False)
    TOTPDevice.objects.filter(user=user).update(confirmed=False)
    assert both() == (True, 2, True)
    user.is_staff = True
    user.save()
    assert both() == (False, 2, False)
    client = Client()
    client.force_login(first.user)
    user.is_staff = False
    user.save()
    TOTPDevice.objects.filter(user=user).update(confirmed=True)
    page = client.get(reverse("dashboard:home", args=[first.organization_id])).content.decode()
    assert "Switch organization" in page
    second.delete()
    page = client.get(reverse("dashboard:home", args=[first.organization_id])).content.decode()
    assert "Switch organization" not in page
