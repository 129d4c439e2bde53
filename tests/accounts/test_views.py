"""The browser portal: sign-up, log-in (throttled), organization pages — and tenancy on every page and
action: another Organization's id answers 404 and changes nothing."""

import datetime as dt

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts import services
from accounts.models import Acceptance, Invitation, Membership, Organization, User
from audit.models import AuditEvent
from notifications.models import Notification
from notifications.services import notify
from tests.factories import PASSWORD, DocumentVersionFactory, UserFactory, member

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def tcu():
    return DocumentVersionFactory(label="2026-01", published_on=dt.date(2026, 1, 1))


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_signup_then_organization_then_dashboard(tcu, django_capture_on_commit_callbacks) -> None:
    client = Client()

    step1 = client.post(
        reverse("accounts:signup"),
        {
            "email": "Neo@Example.com",
            "first_name": "Neo",
            "last_name": "Anderson",
            "language": "fr",
            "date_of_birth": "1990-02-03",
            "password": "a-long-pass-phrase",
            "password_again": "a-long-pass-phrase",
        },
    )
    assert step1.status_code == 302
    assert step1.url == reverse("accounts:organization_create")

    form = client.get(step1.url)
    assert form.status_code == 200
    assert b"Summary of the terms for tests." in form.content

    with django_capture_on_commit_callbacks(execute=True):
        step2 = client.post(
            step1.url,
            {
                "name": "Matrix SA",
                "contact_first_name": "Neo",
                "contact_last_name": "Anderson",
                "contact_email": "neo@example.com",
                "mobile": "+41 79 555 12 34",
                "street": "Rue 1",
                "postal_code": "1000",
                "city": "Lausanne",
                "country": "CH",
                "billing_country": "CH",
                "currency": "CHF",
                "language": "fr",
                "date_of_birth": "1990-02-03",
                "accept_tcu": "on",
                "tcu_version": tcu.pk,
            },
        )
    organization = Organization.objects.get(name="Matrix SA")
    assert step2.status_code == 302
    assert step2.url == reverse("dashboard:home", args=[organization.pk])  # a new organization lands on its dashboard
    assert User.objects.get(email="neo@example.com").language == "fr"
    assert Acceptance.objects.get(organization=organization).version == tcu
    assert client.get(step2.url).status_code == 200
    assert len(mail.outbox) == 1


def test_signup_refusals_show_the_reason_and_create_nothing(tcu) -> None:
    UserFactory(email="taken@example.com")
    client = Client()

    response = client.post(
        reverse("accounts:signup"),
        {
            "email": "TAKEN@example.com",
            "first_name": "T",
            "last_name": "K",
            "language": "en",
            "password": "a-long-pass-phrase",
            "password_again": "a-long-pass-phrase",
        },
    )

    assert response.status_code == 200
    assert "An account with this e-mail address already exists." in response.content.decode()
    assert User.objects.count() == 1


def test_organization_form_refuses_a_landline_and_keeps_the_input(tcu) -> None:
    client = logged_in(UserFactory())

    response = client.post(
        reverse("accounts:organization_create"),
        {
            "name": "Keep Me",
            "contact_first_name": "K",
            "contact_last_name": "M",
            "contact_email": "k@example.com",
            "mobile": "+41 44 123 45 67",
            "street": "Rue 1",
            "postal_code": "1000",
            "city": "Lausanne",
            "country": "CH",
            "billing_country": "CH",
            "currency": "CHF",
            "language": "en",
            "accept_tcu": "on",
            "tcu_version": tcu.pk,
        },
    )

    body = response.content.decode()
    assert response.status_code == 200
    assert "This is not a mobile phone number." in body
    assert 'value="Keep Me"' in body
    assert Organization.objects.count() == 0


def test_login_is_throttled_per_account_after_five_failures(settings) -> None:
    user = UserFactory(email="victim@example.com")
    client = Client()

    for _ in range(5):
        client.post(reverse("accounts:login"), {"username": user.email, "password": "wrong"})
    locked = client.post(reverse("accounts:login"), {"username": user.email, "password": PASSWORD})

    # a paused account answers as a wrong password does (accounts.lockout)
    assert locked.status_code == 200
    assert "or log-in is paused after too many attempts" in locked.content.decode()
    assert "_auth_user_id" not in client.session


def test_login_works_with_the_email(tcu) -> None:
    user = UserFactory()
    client = Client()

    response = client.post(reverse("accounts:login"), {"username": user.email.upper(), "password": PASSWORD})

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)


def test_pages_need_a_login() -> None:
    organization = member().organization

    response = Client().get(reverse("accounts:organization", args=[organization.pk]))

    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:login"))


PAGES = [
    "subscriptions:services",
    "subscriptions:order",
    "billing:invoices",
    "organization",
    "organization_contact",
    "documents",
    "inbox",
    "organization_terminate",
    "billing:prepaid",
    "support:tickets",
    "sla:overview",
]


@pytest.mark.parametrize("name", PAGES)
def test_every_organization_page_renders_for_a_member(name: str, tcu) -> None:
    legal = member()

    response = logged_in(legal.user).get(
        reverse(name if ":" in name else f"accounts:{name}", args=[legal.organization_id])
    )

    assert response.status_code == 200
    assert legal.organization.name.encode() in response.content


@pytest.mark.parametrize("name", PAGES)
def test_tenancy_every_page_of_another_organization_is_404(name: str) -> None:
    mine, theirs = member(), member()

    response = logged_in(mine.user).get(
        reverse(name if ":" in name else f"accounts:{name}", args=[theirs.organization_id])
    )

    assert response.status_code == 404
    assert theirs.organization.name.encode() not in response.content


def test_tenancy_every_action_on_another_organization_is_404_and_changes_nothing(tcu) -> None:
    mine, theirs = member(), member()
    member("technical", organization=theirs.organization)
    (message,) = notify(organization=theirs.organization, template="organization_created", channels=("inbox",), now=NOW)
    UserFactory(email="intruder@example.com")
    their_invitation = services.member_invite(
        organization=theirs.organization, user=theirs.user, email="guest@example.com", role="billing", now=NOW
    )
    org = theirs.organization_id
    before = (
        list(Organization.objects.values()),
        list(Membership.objects.values()),
        list(Invitation.objects.values()),
        list(Notification.objects.values()),
        Acceptance.objects.count(),
        AuditEvent.objects.count(),
    )
    client = logged_in(mine.user)

    responses = [
        client.post(reverse("accounts:organization_contact", args=[org]), {"city": "Hacked"}),
        client.post(
            reverse("accounts:member_invite", args=[org]), {"email": "intruder@example.com", "role": "administrator"}
        ),
        client.post(reverse("accounts:member_role", args=[org, theirs.pk]), {"role": "technical"}),
        client.post(reverse("accounts:member_remove", args=[org, theirs.pk]), {}),
        client.post(reverse("accounts:invitation_revoke", args=[org, their_invitation.pk]), {}),
        client.post(reverse("accounts:invitation_revoke", args=[mine.organization_id, their_invitation.pk]), {}),
        client.post(reverse("accounts:document_accept", args=[org, tcu.pk]), {}),
        client.get(reverse("accounts:document_version", args=[org, tcu.pk])),
        client.get(reverse("accounts:inbox_message", args=[org, message.pk])),
        client.post(reverse("accounts:inbox_message", args=[org, message.pk]), {"reaction": "accepted"}),
        client.post(reverse("accounts:organization_terminate", args=[org]), {"password": PASSWORD, "confirm": "on"}),
        # my organization, their member or message
        client.post(reverse("accounts:member_role", args=[mine.organization_id, theirs.pk]), {"role": "technical"}),
        client.get(reverse("accounts:inbox_message", args=[mine.organization_id, message.pk])),
    ]

    assert [r.status_code for r in responses] == [404] * len(responses)
    assert (
        list(Organization.objects.values()),
        list(Membership.objects.values()),
        list(Invitation.objects.values()),
        list(Notification.objects.values()),
        Acceptance.objects.count(),
        AuditEvent.objects.count(),
    ) == before


def test_dashboard_lists_only_my_organizations() -> None:
    first = member()
    second = member(organization=None)
    Membership.objects.create(organization=second.organization, user=first.user, role="billing", created_at=NOW)
    stranger = member()

    response = logged_in(first.user).get(reverse("accounts:dashboard"))

    body = response.content.decode()
    assert first.organization.name in body
    assert second.organization.name in body
    assert stranger.organization.name not in body


def test_contact_edit_page_saves_changes() -> None:
    legal = member()
    client = logged_in(legal.user)
    url = reverse("accounts:organization_contact", args=[legal.organization_id])
    form = client.get(url).context["form"]
    data = {**{k: v for k, v in form.initial.items() if v is not None}, "city": "Sion"}

    response = client.post(url, data)

    assert response.status_code == 302
    legal.organization.refresh_from_db()
    assert legal.organization.city == "Sion"
    assert list(AuditEvent.objects.values_list("before", "after")) == [({"city": "Genève"}, {"city": "Sion"})]


def test_last_legal_responsible_refusal_is_shown_and_nothing_changes() -> None:
    legal = member()
    client = logged_in(legal.user)

    response = client.post(
        reverse("accounts:member_role", args=[legal.organization_id, legal.pk]), {"role": "technical"}, follow=True
    )

    assert "The last Legal Responsible cannot be removed" in response.content.decode()
    legal.refresh_from_db()
    assert legal.role == "legal_responsible"


def test_inbox_message_is_marked_read_then_accepted() -> None:
    legal = member()
    (message,) = notify(organization=legal.organization, template="organization_created", channels=("inbox",), now=NOW)
    client = logged_in(legal.user)
    url = reverse("accounts:inbox_message", args=[legal.organization_id, message.pk])

    client.get(url)
    message.refresh_from_db()
    assert message.read_at is not None
    client.post(url, {"reaction": "accepted"})
    message.refresh_from_db()
    assert message.reaction == "accepted"


def test_documents_page_accepts_the_current_terms(tcu) -> None:
    legal = member()
    client = logged_in(legal.user)

    client.post(reverse("accounts:document_accept", args=[legal.organization_id, tcu.pk]))

    acceptance = Acceptance.objects.get(organization=legal.organization)
    assert (acceptance.user, acceptance.version, acceptance.client_address) == (legal.user, tcu, "127.0.0.1")


def test_language_switcher_sets_the_preferred_language() -> None:
    user = UserFactory(language="en")
    client = logged_in(user)

    client.post(reverse("accounts:set_language"), {"language": "de", "next": "/"})
    user.refresh_from_db()
    page = client.get(reverse("accounts:login"), follow=True)

    assert user.language == "de"
    assert page.headers["Content-Language"] == "de"


def test_preferred_language_applies_after_login() -> None:
    user = UserFactory(language="it")
    legal = Membership.objects.create(organization=member().organization, user=user, role="billing", created_at=NOW)

    page = logged_in(user).get(reverse("accounts:organization", args=[legal.organization_id]))

    assert page.headers["Content-Language"] == "it"


def test_password_reset_sends_a_link() -> None:
    user = UserFactory(email="forgot@example.com")

    Client().post(reverse("accounts:password_reset"), {"email": user.email})

    assert len(mail.outbox) == 1
    assert "/password-reset/" in mail.outbox[0].body


def test_htmx_role_change_answers_the_members_section_only() -> None:
    legal = member()
    technical = member("technical", organization=legal.organization)
    client = logged_in(legal.user)

    changed = client.post(
        reverse("accounts:member_role", args=[legal.organization_id, technical.pk]),
        {"role": "billing"},
        headers={"HX-Request": "true"},
    )
    refused = client.post(
        reverse("accounts:member_role", args=[legal.organization_id, legal.pk]),
        {"role": "billing"},
        headers={"HX-Request": "true"},
    )

    assert changed.status_code == 200
    assert changed.content.decode().startswith('<section class="card" id="members">')
    assert "Role changed." in changed.content.decode()
    assert "The last Legal Responsible cannot be removed" in refused.content.decode()
    assert "<html" not in refused.content.decode()
    assert dict(Membership.objects.values_list("pk", "role")) == {
        legal.pk: "legal_responsible",
        technical.pk: "billing",
    }


def test_phone_numbers_are_shown_in_international_format() -> None:
    legal = member()

    page = logged_in(legal.user).get(reverse("accounts:organization", args=[legal.organization_id]))

    assert "+41 79 123 45 67" in page.content.decode()


def test_login_is_throttled_per_address_across_accounts() -> None:
    users = [UserFactory() for _ in range(6)]
    client = Client(REMOTE_ADDR="198.51.100.23")

    for user in users[:5]:
        client.post(reverse("accounts:login"), {"username": user.email, "password": "wrong"})
    locked = client.post(reverse("accounts:login"), {"username": users[5].email, "password": PASSWORD})
    elsewhere = Client(REMOTE_ADDR="198.51.100.24").post(
        reverse("accounts:login"), {"username": users[5].email, "password": PASSWORD}
    )

    assert locked.status_code == 200
    assert "or log-in is paused after too many attempts" in locked.content.decode()
    assert elsewhere.status_code == 302


def test_invitation_page_lets_the_invited_person_join_after_signing_up(django_capture_on_commit_callbacks) -> None:
    legal = member()
    invitation = services.member_invite(
        organization=legal.organization,
        user=legal.user,
        email="newbie@example.com",
        role="technical",
        now=timezone.now(),
    )
    page = reverse("accounts:invitation", args=[invitation.token])
    client = Client()

    landing = client.get(page).content.decode()
    signup_link = f"{reverse('accounts:signup')}?next={page}"
    assert signup_link in landing
    assert f"{reverse('accounts:login')}?next={page}" in landing
    signed_up = client.post(
        signup_link,
        {
            "email": "newbie@example.com",
            "first_name": "New",
            "last_name": "Bie",
            "language": "en",
            "password": "a-long-pass-phrase",
            "password_again": "a-long-pass-phrase",
            "next": page,
        },
    )
    assert signed_up.url == page
    shown = client.get(page)
    assert "Accept the invitation" in shown.content.decode()
    joined = client.post(page)

    assert joined.url == reverse("accounts:organization", args=[legal.organization_id])
    assert Membership.objects.get(user__email="newbie@example.com").role == "technical"


def test_invitation_page_for_another_address_explains_and_changes_nothing() -> None:
    legal = member()
    invitation = services.member_invite(
        organization=legal.organization,
        user=legal.user,
        email="someone@example.com",
        role="administrator",
        now=timezone.now(),
    )
    client = logged_in(UserFactory(email="intruder@example.com"))

    page = client.get(reverse("accounts:invitation", args=[invitation.token]))
    accept = client.post(reverse("accounts:invitation", args=[invitation.token]), follow=True)

    assert "sent to another e-mail address" in page.content.decode()
    assert "Accept the invitation" not in page.content.decode()
    assert "sent to another e-mail address" in accept.content.decode()
    assert Membership.objects.count() == 1
