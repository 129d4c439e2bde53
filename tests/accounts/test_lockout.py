"""Log-in lockout per account and per client address (OWASP ASVS 6.3.1), on both doors: the log-in
page and `POST /api/v1/auth/token/`. Attacked as the probe of issue 14 did: one account, many client
addresses behind the trusted proxy. A locked account answers exactly as a wrong password does."""

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from accounts import lockout
from accounts.models import ApiToken
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

PROXY = "10.0.0.1"  # the reverse proxy (TRUSTED_PROXY_COUNT = 1): REMOTE_ADDR of every request
REFUSED = (
    "The e-mail address or the password is not correct, or log-in is paused after too many attempts: "
    "try again in 15 minutes."
)


@pytest.fixture(autouse=True)
def _behind_one_proxy(settings) -> None:
    settings.TRUSTED_PROXY_COUNT = 1


def _via_proxy(client_address: str) -> dict[str, str]:
    """What the proxy hands on: the address it saw appended to X-Forwarded-For."""
    return {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": client_address}


def _login(email: str, password: str, client_address: str) -> tuple[Client, object]:
    client = Client(**_via_proxy(client_address))
    return client, client.post(reverse("accounts:login"), {"username": email, "password": password})


def _token(email: str, password: str, client_address: str) -> object:
    return APIClient(**_via_proxy(client_address)).post(
        "/api/v1/auth/token/", {"email": email, "password": password}, format="json"
    )


def test_asvs_6_3_1_login_page_locks_the_account_after_failures_from_twelve_addresses() -> None:
    # given: twelve wrong passwords for one account, each from its own client address
    user = UserFactory(email="victim@example.com")
    wrong = [_login(user.email, "wrong", f"198.51.100.{i}")[1] for i in range(1, 13)]

    # when: the right password comes from a thirteenth address
    client, locked = _login(user.email, PASSWORD, "198.51.100.13")

    # then: refused, with the very answer a wrong password gets; no session opened
    assert {response.status_code for response in wrong} == {200}
    assert locked.status_code == wrong[-1].status_code == 200
    assert REFUSED in locked.content.decode()
    assert REFUSED in wrong[0].content.decode()
    assert REFUSED in wrong[-1].content.decode()
    assert "Too many" not in locked.content.decode()
    assert "_auth_user_id" not in client.session
    # every failure is counted against the account (axes' username is never NULL)
    assert set(AccessAttempt.objects.values_list("username", flat=True)) == {"victim@example.com"}
    assert AccessAttempt.objects.count() == 13


def test_asvs_6_3_1_token_endpoint_locks_the_account_after_failures_from_twelve_addresses() -> None:
    # given: twelve wrong passwords for one account through the API, spelled in several ways
    user = UserFactory(email="victim@example.com")
    spellings = ["victim@example.com", "Victim@Example.com", " VICTIM@example.com "]
    wrong = [_token(spellings[i % 3], "wrong", f"203.0.113.{i}") for i in range(1, 13)]

    # when: the right password comes from a thirteenth address
    locked = _token(user.email, PASSWORD, "203.0.113.13")

    # then: refused exactly as a wrong password is; no token issued
    assert {response.status_code for response in wrong} == {400}
    assert (locked.status_code, locked.json()) == (400, {"detail": REFUSED, "rule": None})
    assert wrong[0].json() == wrong[-1].json() == {"detail": REFUSED, "rule": None}
    assert ApiToken.objects.count() == 0
    assert set(AccessAttempt.objects.values_list("username", flat=True)) == {"victim@example.com"}


def test_asvs_6_3_1_failures_on_one_door_lock_the_other() -> None:
    user = UserFactory(email="victim@example.com")
    for i in range(1, 6):
        _token(user.email, "wrong", f"203.0.113.{i}")

    client, locked = _login(user.email, PASSWORD, "198.51.100.99")

    assert REFUSED in locked.content.decode()
    assert "_auth_user_id" not in client.session


def test_asvs_6_3_1_another_account_is_not_locked_by_the_attack() -> None:
    victim = UserFactory(email="victim@example.com")
    bystander = UserFactory(email="bystander@example.com")
    for i in range(1, 13):
        _login(victim.email, "wrong", f"198.51.100.{i}")

    client, response = _login(bystander.email, PASSWORD, "198.51.100.50")

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(bystander.pk)


def test_asvs_6_3_1_a_locked_refusal_hashes_the_password_like_a_check(monkeypatch: pytest.MonkeyPatch) -> None:
    # given: a locked account
    user = UserFactory(email="victim@example.com")
    for i in range(1, 6):
        _token(user.email, "wrong", f"203.0.113.{i}")
    hashed: list[str | None] = []
    monkeypatch.setattr(lockout, "make_password", lambda password: hashed.append(password) or "")

    # when: the right password is tried
    _token(user.email, PASSWORD, "203.0.113.6")

    # then: the refusal took a password hash, as a wrong password does (no timing tell)
    assert hashed == [PASSWORD]


def test_asvs_6_3_1_logging_into_an_own_account_between_guesses_does_not_reset_the_lock() -> None:
    # given: an attacker with an account of their own guesses the victim's password, four times from
    # each address, then logs into their own account from it (axes' reset forgot the address's failures)
    victim = UserFactory(email="victim@example.com")
    attacker = UserFactory(email="attacker@example.com")
    for round_ in range(1, 4):
        for _ in range(4):
            _login(victim.email, "wrong", f"192.0.2.{round_}")
        _, own = _login(attacker.email, PASSWORD, f"192.0.2.{round_}")
        assert own.status_code == 302, round_

    # when: the right password comes from another address
    client, locked = _login(victim.email, PASSWORD, "198.51.100.13")

    # then: the victim's account is locked; the attacker's own log-ins forgot only their own failures
    assert REFUSED in locked.content.decode()
    assert "_auth_user_id" not in client.session
    assert AccessAttempt.objects.filter(username="victim@example.com").count() == 4  # one row per address
    assert not AccessAttempt.objects.filter(username="attacker@example.com").exists()
