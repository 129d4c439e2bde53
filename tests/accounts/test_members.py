"""SPEC ORG-5: roles, and the invariant "at least one Legal Responsible", also under concurrency."""

import datetime as dt
import threading

import pytest
from django.core import mail
from django.db import connection

from accounts import services
from accounts.models import GuardianAuthorization, Invitation, Membership
from audit.models import AuditEvent
from core.errors import RuleViolation
from tests.factories import OrganizationFactory, UserFactory, member

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)


def _roles(organization) -> dict[str, str]:
    return dict(Membership.objects.filter(organization=organization).values_list("user__email", "role"))


def test_org5_an_invitation_is_emailed_and_makes_a_member_when_accepted(
    django_capture_on_commit_callbacks, settings
) -> None:
    settings.PORTAL_URL = "https://portal.example"
    admin = member("administrator")

    with django_capture_on_commit_callbacks(execute=True):
        invitation = services.member_invite(
            organization=admin.organization, user=admin.user, email=" NEW@example.com", role="billing", now=NOW
        )
    assert Membership.objects.count() == 1  # not a member before accepting
    assert [m.to for m in mail.outbox] == [["new@example.com"]]
    assert f"https://portal.example/invitations/{invitation.token}/" in mail.outbox[0].body
    newcomer = UserFactory(email="new@example.com")

    joined = services.invitation_accept(token=invitation.token, user=newcomer, now=NOW + dt.timedelta(days=2))

    assert (joined.user, joined.role, joined.organization) == (newcomer, "billing", admin.organization)
    invitation.refresh_from_db()
    assert (invitation.accepted_at, invitation.accepted_by) == (NOW + dt.timedelta(days=2), newcomer)
    assert list(AuditEvent.objects.values_list("action", "rule")) == [
        ("invitation.created", "ORG-5"),
        ("membership.created", "ORG-5"),
    ]
    with pytest.raises(RuleViolation, match="no longer valid"):
        services.invitation_accept(token=invitation.token, user=newcomer, now=NOW + dt.timedelta(days=3))


@pytest.mark.parametrize(
    ("email", "role", "message", "status"),
    [
        ("not an address", "technical", "valid e-mail", 400),
        ("new@example.com", "owner", "Unknown role", 400),
    ],
)
def test_org5_invite_refusals_change_nothing(email: str, role: str, message: str, status: int) -> None:
    admin = member("administrator")

    with pytest.raises(RuleViolation, match=message) as refused:
        services.member_invite(organization=admin.organization, user=admin.user, email=email, role=role, now=NOW)

    assert (refused.value.rule, refused.value.status) == ("ORG-5", status)
    assert Invitation.objects.count() == 0
    assert AuditEvent.objects.count() == 0
    assert mail.outbox == []


def test_org5_an_invitation_is_accepted_only_by_its_address_and_only_in_time() -> None:
    admin = member("administrator")
    invitation = services.member_invite(
        organization=admin.organization, user=admin.user, email="new@example.com", role="technical", now=NOW
    )
    someone_else = UserFactory(email="other@example.com")
    late = UserFactory(email="new@example.com")

    with pytest.raises(RuleViolation, match="another e-mail address") as wrong:
        services.invitation_accept(token=invitation.token, user=someone_else, now=NOW)
    with pytest.raises(RuleViolation, match="no longer valid") as expired:
        services.invitation_accept(token=invitation.token, user=late, now=NOW + dt.timedelta(days=14))
    with pytest.raises(RuleViolation, match="does not exist"):
        services.invitation_accept(token="forged", user=late, now=NOW)

    assert (wrong.value.status, expired.value.status) == (403, 410)
    assert Membership.objects.count() == 1
    assert AuditEvent.objects.filter(action="membership.created").count() == 0


def test_org5_a_new_invitation_replaces_the_open_one_and_can_be_withdrawn() -> None:
    admin = member("administrator")
    first = services.member_invite(
        organization=admin.organization, user=admin.user, email="new@example.com", role="technical", now=NOW
    )
    second = services.member_invite(
        organization=admin.organization, user=admin.user, email="new@example.com", role="billing", now=NOW
    )
    first.refresh_from_db()
    assert first.revoked_at == NOW

    services.invitation_revoke(invitation=second, user=admin.user, now=NOW)

    with pytest.raises(RuleViolation, match="no longer valid"):
        services.invitation_accept(token=second.token, user=UserFactory(email="new@example.com"), now=NOW)
    assert Membership.objects.count() == 1


def test_org5_a_member_cannot_be_invited_twice() -> None:
    admin = member("administrator")
    other = member("technical", organization=admin.organization)

    with pytest.raises(RuleViolation, match="already a member"):
        services.member_invite(
            organization=admin.organization, user=admin.user, email=other.user.email.upper(), role="billing", now=NOW
        )

    assert _roles(admin.organization)[other.user.email] == "technical"
    assert Invitation.objects.count() == 0
    assert AuditEvent.objects.count() == 0
    assert mail.outbox == []


def test_org4_an_invitation_as_legal_responsible_is_refused_to_an_unauthorised_minor() -> None:
    legal = member()
    invitation = services.member_invite(
        organization=legal.organization, user=legal.user, email="kid@example.com", role="legal_responsible", now=NOW
    )
    kid = UserFactory(email="kid@example.com", date_of_birth=dt.date(2012, 1, 1))

    with pytest.raises(RuleViolation, match="legal representative") as refused:
        services.invitation_accept(token=invitation.token, user=kid, now=NOW)

    assert refused.value.rule == "ORG-4"
    assert not Membership.objects.filter(user=kid).exists()


def test_org5_only_a_legal_responsible_invites_a_legal_responsible() -> None:
    admin = member("administrator")

    with pytest.raises(RuleViolation, match="Only a Legal Responsible can make") as refused:
        services.member_invite(
            organization=admin.organization,
            user=admin.user,
            email="x@example.com",
            role="legal_responsible",
            now=NOW,
        )

    assert refused.value.status == 403
    assert Invitation.objects.count() == 0


def test_org5_only_a_legal_responsible_makes_a_legal_responsible() -> None:
    admin = member("administrator")
    technical = member("technical", organization=admin.organization)

    with pytest.raises(RuleViolation, match="Only a Legal Responsible can make") as refused:
        services.member_change_role(membership=technical, user=admin.user, role="legal_responsible", now=NOW)

    assert refused.value.status == 403
    technical.refresh_from_db()
    assert technical.role == "technical"


def test_org5_working_roles_cannot_manage_members() -> None:
    billing = member("billing")
    technical = member("technical", organization=billing.organization)

    with pytest.raises(RuleViolation, match="Only a Legal Responsible or an administrator"):
        services.member_remove(membership=technical, user=billing.user, now=NOW)

    assert Membership.objects.filter(pk=technical.pk).exists()


def test_org4_a_minor_cannot_be_made_legal_responsible_without_authorization() -> None:
    legal = member()
    minor = member("technical", organization=legal.organization, date_of_birth=dt.date(2012, 6, 1))

    with pytest.raises(RuleViolation, match="legal representative") as refused:
        services.member_change_role(membership=minor, user=legal.user, role="legal_responsible", now=NOW)
    assert refused.value.rule == "ORG-4"
    minor.refresh_from_db()
    assert minor.role == "technical"

    GuardianAuthorization.objects.create(
        organization=legal.organization,
        minor=minor.user,
        decision="approved",
        letter_received_at=NOW,
        identity_verified_at=NOW,
    )
    services.member_change_role(membership=minor, user=legal.user, role="legal_responsible", now=NOW)
    minor.refresh_from_db()
    assert minor.role == "legal_responsible"


def test_org5_the_last_legal_responsible_cannot_be_demoted_or_removed() -> None:
    legal = member()
    admin = member("administrator", organization=legal.organization)

    with pytest.raises(RuleViolation, match="last Legal Responsible") as demote:
        services.member_change_role(membership=legal, user=legal.user, role="administrator", now=NOW)
    with pytest.raises(RuleViolation, match="last Legal Responsible") as leave:
        services.member_remove(membership=legal, user=legal.user, now=NOW)
    with pytest.raises(RuleViolation, match="Only a Legal Responsible can remove"):
        services.member_remove(membership=legal, user=admin.user, now=NOW)

    assert demote.value.rule == leave.value.rule == "ORG-5"
    assert _roles(legal.organization) == {legal.user.email: "legal_responsible", admin.user.email: "administrator"}
    assert AuditEvent.objects.count() == 0


def test_org5_when_the_others_leave_the_remaining_legal_responsible_is_sole_holder() -> None:
    first = member()
    second = member(organization=first.organization)

    services.member_remove(membership=second, user=second.user, now=NOW)

    assert _roles(first.organization) == {first.user.email: "legal_responsible"}
    event = AuditEvent.objects.get(action="organization.sole_holder")
    assert (event.rule, event.after) == ("ORG-5", {"sole_holder": first.user.email})


def test_org5_a_foreign_membership_is_not_found() -> None:
    legal = member()
    stranger = member()

    with pytest.raises(RuleViolation, match="not a member of this organization") as refused:
        services.member_change_role(membership=stranger, user=legal.user, role="technical", now=NOW)

    assert refused.value.status == 404
    stranger.refresh_from_db()
    assert stranger.role == "legal_responsible"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("attempt", range(5))
def test_org5_two_legal_responsibles_demoting_each_other_at_once_leave_one(attempt: int) -> None:
    # given: two Legal Responsibles
    organization = OrganizationFactory()
    alice = member(organization=organization)
    bob = member(organization=organization)
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def demote(actor: Membership, target: Membership, name: str) -> None:
        try:
            barrier.wait(timeout=5)
            services.member_change_role(membership=target, user=actor.user, role="administrator", now=NOW)
            outcomes[name] = "done"
        except RuleViolation as violation:
            outcomes[name] = violation.rule
        finally:
            connection.close()

    # when: each demotes the other, on two connections at the same moment
    threads = [
        threading.Thread(target=demote, args=(alice, bob, "alice")),
        threading.Thread(target=demote, args=(bob, alice, "bob")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)

    # then: exactly one demotion went through; one Legal Responsible is left
    assert sorted(outcomes.values()) == ["ORG-5", "done"]
    assert Membership.objects.filter(organization=organization, role="legal_responsible").count() == 1
    assert AuditEvent.objects.filter(action="membership.role_changed").count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_org5_concurrent_removals_of_two_legal_responsibles_leave_one() -> None:
    organization = OrganizationFactory()
    admin_one = member("legal_responsible", organization=organization)
    admin_two = member("legal_responsible", organization=organization)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def leave(membership: Membership) -> None:
        try:
            barrier.wait(timeout=5)
            services.member_remove(membership=membership, user=membership.user, now=NOW)
            outcomes.append("done")
        except RuleViolation as violation:
            outcomes.append(violation.rule)
        finally:
            connection.close()

    threads = [threading.Thread(target=leave, args=(m,)) for m in (admin_one, admin_two)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)

    assert sorted(outcomes) == ["ORG-5", "done"]
    assert Membership.objects.filter(organization=organization).count() == 1


def test_org5_sole_holder_is_recorded_only_when_a_legal_responsible_leaves() -> None:
    legal = member()
    technical = member("technical", organization=legal.organization)

    services.member_change_role(membership=technical, user=legal.user, role="billing", now=NOW)
    services.member_remove(membership=technical, user=legal.user, now=NOW)

    assert not AuditEvent.objects.filter(action="organization.sole_holder").exists()
