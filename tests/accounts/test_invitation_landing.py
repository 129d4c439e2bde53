"""A logged-out invitation link lands on a page that says who invited whom to what, with log-in and
sign-up links that come back to it."""

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts import services
from accounts.models import Invitation, Membership
from tests.factories import member

pytestmark = pytest.mark.django_db


def _invite(role: str = "billing") -> Invitation:
    legal = member(first_name="Anna", last_name="Muster")
    legal.organization.name = "Alpenblick AG"
    legal.organization.save(update_fields=["name"])
    return services.member_invite(
        organization=legal.organization, user=legal.user, email="newbie@example.com", role=role, now=timezone.now()
    )


def test_a_logged_out_link_says_who_invites_whom_to_what_with_links_back() -> None:
    invitation = _invite()
    page = reverse("accounts:invitation", args=[invitation.token])

    response = Client().get(page)

    html = response.content.decode()
    assert response.status_code == 200
    assert "Invitation to join Alpenblick AG" in html
    assert "Anna Muster invites newbie@example.com to join Alpenblick AG as: billing." in html
    assert f'href="{reverse("accounts:login")}?next={page}"' in html
    assert f'href="{reverse("accounts:signup")}?next={page}"' in html
    assert "Accept the invitation" not in html


def test_logging_in_from_the_link_comes_back_to_the_invitation() -> None:
    invitation = _invite()
    page = reverse("accounts:invitation", args=[invitation.token])
    newbie = member(email="newbie@example.com")
    newbie.user.set_password("a-long-pass-phrase")
    newbie.user.save()
    client = Client()

    logged_in = client.post(
        f"{reverse('accounts:login')}?next={page}",
        {"username": "newbie@example.com", "password": "a-long-pass-phrase", "next": page},
    )

    assert (logged_in.status_code, logged_in.url) == (302, page)
    assert "Accept the invitation" in client.get(page).content.decode()


def test_a_logged_out_post_accepts_nothing_and_asks_to_log_in() -> None:
    invitation = _invite()
    page = reverse("accounts:invitation", args=[invitation.token])
    before = Membership.objects.count()

    response = Client().post(page)

    assert response.status_code == 302
    assert response.url == f"{reverse('accounts:login')}?next={page}"
    invitation.refresh_from_db()
    assert (invitation.accepted_at, Membership.objects.count()) == (None, before)


def test_a_withdrawn_invitation_tells_so_without_the_details() -> None:
    invitation = _invite()
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])

    html = Client().get(reverse("accounts:invitation", args=[invitation.token])).content.decode()

    assert "This invitation is no longer valid; please ask for a new one." in html
    assert "newbie@example.com" not in html


def test_an_unknown_token_is_404() -> None:
    assert Client().get(reverse("accounts:invitation", args=["no-such-token"])).status_code == 404
