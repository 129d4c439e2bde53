"""SPEC ORG-1, ORG-2, ORG-4, ORG-7, ORG-9, ORG-10: the Organization's life in the services."""

import datetime as dt

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from accounts import document_services, hooks, selectors, services
from accounts.models import Acceptance, GuardianAuthorization, Membership, Organization
from audit.models import AuditEvent
from core.errors import RuleViolation
from notifications.models import Notification
from tests.factories import PASSWORD, DocumentVersionFactory, UserFactory, member

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)

CONTACT = {
    "name": "Acme Sàrl",
    "contact_first_name": "Ada",
    "contact_last_name": "Lovelace",
    "contact_email": "Ada@Example.com",
    "mobile": "+41 79 123 45 67",
    "street": "Rue du Rhône 1",
    "postal_code": "1204",
    "city": "Genève",
    "country": "ch",
    "billing_country": "CH",
    "language": "fr",
}


@pytest.fixture
def tcu():
    return DocumentVersionFactory(label="2026-01", published_on=dt.date(2026, 1, 1))


def _snapshot() -> tuple[int, int, int, int, int]:
    return (
        Organization.objects.count(),
        Membership.objects.count(),
        Acceptance.objects.count(),
        AuditEvent.objects.count(),
        Notification.objects.count(),
    )


def test_org1_org5_org7_sign_up_creates_the_organization_its_legal_responsible_and_the_acceptance(
    tcu, django_capture_on_commit_callbacks
) -> None:
    user = UserFactory(date_of_birth=dt.date(1990, 4, 2))

    with django_capture_on_commit_callbacks(execute=True):
        organization = services.organization_create(
            user=user, contact=CONTACT, accepted_tcu=tcu, client_address="203.0.113.9", now=NOW
        )

    organization.refresh_from_db()
    assert (organization.name, organization.contact_email, organization.mobile) == (
        "Acme Sàrl",
        "ada@example.com",
        "+41791234567",
    )
    assert (organization.country.code, organization.currency, organization.status, organization.validation) == (
        "CH",
        "CHF",
        "active",
        "unvalidated",
    )
    membership = Membership.objects.get(organization=organization)
    assert (membership.user, membership.role) == (user, "legal_responsible")
    acceptance = Acceptance.objects.get(organization=organization)
    assert (
        acceptance.version,
        acceptance.user,
        acceptance.method,
        acceptance.accepted_at,
        acceptance.client_address,
    ) == (tcu, user, "explicit", NOW, "203.0.113.9")
    assert list(AuditEvent.objects.order_by("id").values_list("action", "rule")) == [
        ("organization.created", "ORG-1"),
        ("membership.created", "ORG-5"),
        ("document.explicit_accepted", "ORG-7"),
    ]
    assert [m.to for m in mail.outbox] == [["ada@example.com"]]
    assert Notification.objects.filter(organization=organization, channel="inbox").count() == 1


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"mobile": "+41 44 123 45 67"}, "mobile", "not a mobile"),
        ({"mobile": ""}, "mobile", "required"),
        ({"contact_email": "not-an-email"}, "contact_email", "valid email"),
        ({"country": "XX"}, "country", "ISO 3166"),
        ({"vat_number": "CHE-116.281.711 MWST"}, "vat_number", "not a valid"),
        ({"vat_number": "DE136695976"}, "vat_number", "European Union"),
        ({"billing_country": "FR", "vat_number": "DE136695976"}, "vat_number", "does not belong"),
        ({"billing_country": "US", "vat_number": "CHE-116.281.710 MWST"}, "vat_number", "Switzerland"),
        ({"currency": "USD"}, "currency", "CHF or EUR"),
        ({"language": "pt"}, "language", "French, English"),
    ],
)
def test_org1_org10_invalid_contact_is_refused_and_nothing_is_created(
    tcu, changes: dict, field: str, message: str
) -> None:
    user = UserFactory()
    before = _snapshot()

    with pytest.raises(ValidationError) as refused:
        services.organization_create(user=user, contact={**CONTACT, **changes}, accepted_tcu=tcu, now=NOW)

    assert message in " ".join(refused.value.message_dict[field])
    assert _snapshot() == before
    assert mail.outbox == []


def test_org1_every_missing_field_is_named_at_once(tcu) -> None:
    with pytest.raises(ValidationError) as refused:
        services.organization_create(user=UserFactory(), contact={"name": "X"}, accepted_tcu=tcu, now=NOW)

    assert set(refused.value.message_dict) == {
        "contact_first_name",
        "contact_last_name",
        "contact_email",
        "mobile",
        "street",
        "postal_code",
        "city",
        "country",
        "billing_country",
        "language",
    }


def test_org7_an_older_tcu_version_is_refused(tcu) -> None:
    newer = DocumentVersionFactory(document=tcu.document, label="2026-02", published_on=dt.date(2026, 3, 1))
    before = _snapshot()

    with pytest.raises(RuleViolation, match="version 2026-02") as refused:
        services.organization_create(user=UserFactory(), contact=CONTACT, accepted_tcu=tcu, now=NOW)

    assert (refused.value.rule, refused.value.field, newer.label) == ("ORG-7", "accept_tcu", "2026-02")
    assert _snapshot() == before


def test_org7_without_published_tcu_no_organization_can_be_created() -> None:
    with pytest.raises(RuleViolation, match="No Terms and Conditions") as refused:
        services.organization_create(user=UserFactory(), contact=CONTACT, accepted_tcu=None, now=NOW)

    assert refused.value.rule == "ORG-7"
    assert Organization.objects.count() == 0


def test_org4_date_of_birth_is_required(tcu) -> None:
    with pytest.raises(ValidationError) as refused:
        services.organization_create(user=UserFactory(date_of_birth=None), contact=CONTACT, accepted_tcu=tcu, now=NOW)

    assert "date_of_birth" in refused.value.message_dict
    assert Organization.objects.count() == 0


def test_org4_a_minor_needs_letter_and_verified_representative_before_approval(tcu) -> None:
    # given: 17 years old on 10 March 2026 (18 on 11 March)
    minor = UserFactory(date_of_birth=dt.date(2008, 3, 11))
    staff = UserFactory(is_staff=True)
    organization = services.organization_create(user=minor, contact=CONTACT, accepted_tcu=tcu, now=NOW)
    authorization = GuardianAuthorization.objects.get(organization=organization)
    assert selectors.unauthorised_minors(organization, dt.date(2026, 3, 10)) == [minor]
    assert selectors.unauthorised_minors(organization, dt.date(2026, 3, 11)) == []  # of age that day

    # when: approval without evidence is refused
    with pytest.raises(RuleViolation, match="Record the authorization letter") as refused:
        document_services.guardian_authorization_decide(
            authorization=authorization, staff_user=staff, approve=True, now=NOW
        )
    assert refused.value.rule == "ORG-4"
    authorization.refresh_from_db()
    assert authorization.decision == "pending"

    # then: letter + identity, then approval
    document_services.guardian_authorization_record(
        authorization=authorization, staff_user=staff, letter=True, representative_name="Parent Lovelace", now=NOW
    )
    document_services.guardian_authorization_record(
        authorization=authorization, staff_user=staff, identity=True, now=NOW
    )
    approved = document_services.guardian_authorization_decide(
        authorization=authorization, staff_user=staff, approve=True, now=NOW
    )
    assert (approved.decision, approved.decided_by) == ("approved", staff)
    assert selectors.unauthorised_minors(organization, dt.date(2026, 3, 10)) == []
    assert list(AuditEvent.objects.filter(rule="ORG-4").values_list("action", flat=True)) == [
        "guardian_authorization.requested",
        "guardian_authorization.evidence_recorded",
        "guardian_authorization.evidence_recorded",
        "guardian_authorization.approved",
    ]


def test_org4_staff_may_refuse_even_with_the_evidence(tcu) -> None:
    minor = UserFactory(date_of_birth=dt.date(2010, 1, 1))
    staff = UserFactory(is_staff=True)
    organization = services.organization_create(user=minor, contact=CONTACT, accepted_tcu=tcu, now=NOW)
    authorization = GuardianAuthorization.objects.get(organization=organization)
    document_services.guardian_authorization_record(
        authorization=authorization, staff_user=staff, letter=True, identity=True, now=NOW
    )

    refused = document_services.guardian_authorization_decide(
        authorization=authorization,
        staff_user=staff,
        approve=False,
        reason="Letter not signed by the representative",
        now=NOW,
    )

    assert refused.decision == "refused"
    assert selectors.unauthorised_minors(organization, dt.date(2026, 3, 10)) == [minor]


def test_org1_contact_change_by_an_administrator_is_audited_and_asks_for_new_validation() -> None:
    admin = member("administrator")
    organization = admin.organization
    organization.validation = "validated"
    organization.save()

    updated = services.organization_update_contact(
        organization=organization, user=admin.user, changes={"city": "Lausanne", "mobile": "+41 78 000 11 22"}, now=NOW
    )

    assert (updated.city, updated.mobile, updated.validation) == ("Lausanne", "+41780001122", "unvalidated")
    event = AuditEvent.objects.get(action="organization.contact_changed")
    assert event.before == {"city": "Genève", "mobile": "+41791234567", "validation": "validated"}
    assert event.after == {"city": "Lausanne", "mobile": "+41780001122", "validation": "unvalidated"}
    assert event.rule == "ORG-1"


def test_org5_a_technical_member_cannot_change_the_contact() -> None:
    technical = member("technical")

    with pytest.raises(RuleViolation, match="Only a Legal Responsible or an administrator") as refused:
        services.organization_update_contact(
            organization=technical.organization, user=technical.user, changes={"city": "Lausanne"}, now=NOW
        )

    assert (refused.value.rule, refused.value.status) == ("ORG-5", 403)
    technical.organization.refresh_from_db()
    assert technical.organization.city == "Genève"
    assert AuditEvent.objects.count() == 0


def test_org2_a_blocked_organization_cannot_change_its_data() -> None:
    legal = member()
    organization = legal.organization
    services.organization_block(
        organization=organization, staff_user=UserFactory(is_staff=True), reason="Address incomplete", now=NOW
    )
    events = AuditEvent.objects.count()

    with pytest.raises(RuleViolation, match="blocked") as refused:
        services.organization_update_contact(
            organization=organization, user=legal.user, changes={"city": "Lausanne"}, now=NOW
        )
    with pytest.raises(RuleViolation, match="blocked"):
        services.member_invite(
            organization=organization, user=legal.user, email=UserFactory().email, role="technical", now=NOW
        )

    assert refused.value.rule == "ORG-2"
    organization.refresh_from_db()
    assert (organization.city, organization.status) == ("Genève", "blocked")
    assert Membership.objects.filter(organization=organization).count() == 1
    assert AuditEvent.objects.count() == events


def test_org2_block_and_unblock_tell_the_customer_why(django_capture_on_commit_callbacks) -> None:
    organization = member().organization
    staff = UserFactory(is_staff=True)

    with django_capture_on_commit_callbacks(execute=True):
        services.organization_block(organization=organization, staff_user=staff, reason="Suspected misuse", now=NOW)
        services.organization_unblock(organization=organization, staff_user=staff, reason="Identity confirmed", now=NOW)

    organization.refresh_from_db()
    assert (organization.status, organization.status_reason) == ("active", "")
    assert [m.subject for m in mail.outbox] == ["Your organization is blocked", "Your organization is unblocked"]
    assert "Suspected misuse" in mail.outbox[0].body
    assert "Identity confirmed" in mail.outbox[1].body
    assert list(AuditEvent.objects.values_list("action", "rule", "actor_label")) == [
        ("organization.blocked", "ORG-2", staff.email),
        ("organization.unblocked", "ORG-2", staff.email),
    ]


@pytest.mark.parametrize("reason", ["", "   "])
def test_org2_blocking_needs_a_reason(reason: str) -> None:
    organization = member().organization

    with pytest.raises(RuleViolation, match="reason is required"):
        services.organization_block(
            organization=organization, staff_user=UserFactory(is_staff=True), reason=reason, now=NOW
        )

    organization.refresh_from_db()
    assert organization.status == "active"
    assert Notification.objects.count() == 0


def test_org2_staff_validate_or_ask_for_corrections() -> None:
    organization = member().organization
    staff = UserFactory(is_staff=True)

    services.organization_validate(
        organization=organization, staff_user=staff, valid=False, reason="The street number is missing", now=NOW
    )
    organization.refresh_from_db()
    assert organization.validation == "rejected"
    assert Notification.objects.get(channel="email").body.endswith("The street number is missing")

    services.organization_validate(organization=organization, staff_user=staff, valid=True, now=NOW)
    organization.refresh_from_db()
    assert (organization.validation, organization.validated_by, organization.validated_at) == ("validated", staff, NOW)


def test_org9_wrong_password_is_refused_and_nothing_changes() -> None:
    legal = member()

    with pytest.raises(RuleViolation, match="password is not correct") as refused:
        services.organization_terminate(organization=legal.organization, user=legal.user, password="nope", now=NOW)

    assert (refused.value.rule, refused.value.field) == ("ORG-9", "password")
    legal.organization.refresh_from_db()
    assert legal.organization.status == "active"
    assert AuditEvent.objects.count() == 0


def test_org9_only_a_legal_responsible_terminates() -> None:
    admin = member("administrator")

    with pytest.raises(RuleViolation, match="Only a Legal Responsible") as refused:
        services.organization_terminate(organization=admin.organization, user=admin.user, password=PASSWORD, now=NOW)

    assert refused.value.status == 403
    admin.organization.refresh_from_db()
    assert admin.organization.status == "active"


def test_org9_billing_blockers_refuse_the_termination() -> None:
    legal = member()

    def open_invoice(organization: Organization) -> list[str]:
        return ["invoice 2026-0042 is open"]

    hooks.register_termination_blocker(open_invoice)
    try:
        with pytest.raises(RuleViolation, match="invoice 2026-0042 is open") as refused:
            services.organization_terminate(
                organization=legal.organization, user=legal.user, password=PASSWORD, now=NOW
            )
    finally:
        hooks.unregister_termination_blocker(open_invoice)

    assert refused.value.rule == "ORG-9"
    legal.organization.refresh_from_db()
    assert legal.organization.status == "active"
    assert Notification.objects.count() == 0


def test_org9_the_billing_app_is_consulted_and_a_new_organization_has_nothing_to_settle() -> None:
    from billing.selectors import organization_termination_blockers

    organization = member().organization

    assert organization_termination_blockers in hooks._termination_blockers
    assert hooks.termination_blockers(organization) == []


def test_org9_a_legal_responsible_terminates_the_contract(django_capture_on_commit_callbacks) -> None:
    legal = member()

    with django_capture_on_commit_callbacks(execute=True):
        terminated = services.organization_terminate(
            organization=legal.organization, user=legal.user, password=PASSWORD, client_address="198.51.100.1", now=NOW
        )

    assert (terminated.status, terminated.terminated_at) == ("terminated", NOW)
    event = AuditEvent.objects.get(action="organization.terminated")
    assert (event.rule, event.actor_label, event.client_address) == ("ORG-9", legal.user.email, "198.51.100.1")
    assert [m.subject for m in mail.outbox] == ["Your contract is terminated"]
    with pytest.raises(RuleViolation, match="terminated"):
        services.organization_terminate(organization=terminated, user=legal.user, password=PASSWORD, now=NOW)


def test_org4_a_date_of_birth_on_file_cannot_be_replaced_at_sign_up(tcu) -> None:
    minor = UserFactory(date_of_birth=dt.date(2010, 1, 1))
    before = _snapshot()

    with pytest.raises(ValidationError) as refused:
        services.organization_create(
            user=minor, contact=CONTACT, accepted_tcu=tcu, date_of_birth=dt.date(1980, 1, 1), now=NOW
        )

    assert "already on file" in refused.value.message_dict["date_of_birth"][0]
    minor.refresh_from_db()
    assert minor.date_of_birth == dt.date(2010, 1, 1)
    assert _snapshot() == before


def test_org4_a_date_of_birth_given_at_sign_up_is_recorded(tcu) -> None:
    user = UserFactory(date_of_birth=None)

    services.organization_create(
        user=user, contact=CONTACT, accepted_tcu=tcu, date_of_birth=dt.date(1991, 7, 7), now=NOW
    )

    user.refresh_from_db()
    assert user.date_of_birth == dt.date(1991, 7, 7)
    event = AuditEvent.objects.get(action="user.date_of_birth_recorded")
    assert (event.rule, event.after) == ("ORG-4", {"date_of_birth": "1991-07-07"})


def test_org1_too_long_values_are_refused_with_a_message(tcu) -> None:
    before = _snapshot()

    with pytest.raises(ValidationError) as refused:
        services.organization_create(
            user=UserFactory(), contact={**CONTACT, "name": "N" * 201, "city": "C" * 101}, accepted_tcu=tcu, now=NOW
        )

    assert refused.value.message_dict == {"name": ["At most 200 characters."], "city": ["At most 100 characters."]}
    assert _snapshot() == before


def test_evd3_a_long_organization_name_still_fits_the_subject(django_capture_on_commit_callbacks) -> None:
    admin = member("administrator")
    admin.organization.name = "N" * 200
    admin.organization.save()

    with django_capture_on_commit_callbacks(execute=True):
        services.member_invite(
            organization=admin.organization, user=admin.user, email="new@example.com", role="billing", now=NOW
        )

    subject = Notification.objects.get().subject
    assert len(subject) == 200
    assert subject.startswith("Invitation to join NNN")
    assert subject.endswith("…")


def test_org4_a_refused_authorization_blocks_the_organization(tcu) -> None:
    minor = UserFactory(date_of_birth=dt.date(2010, 1, 1))
    staff = UserFactory(is_staff=True)
    organization = services.organization_create(user=minor, contact=CONTACT, accepted_tcu=tcu, now=NOW)
    authorization = GuardianAuthorization.objects.get(organization=organization)

    document_services.guardian_authorization_decide(
        authorization=authorization, staff_user=staff, approve=False, reason="No authorization letter received", now=NOW
    )

    organization.refresh_from_db()
    assert (organization.status, organization.status_reason) == ("blocked", "No authorization letter received")


def test_org2_a_corrected_organization_goes_back_to_staff() -> None:
    legal = member()
    services.organization_validate(
        organization=legal.organization,
        staff_user=UserFactory(is_staff=True),
        valid=False,
        reason="Street number missing",
        now=NOW,
    )

    updated = services.organization_update_contact(
        organization=legal.organization, user=legal.user, changes={"street": "Rue du Test 12"}, now=NOW
    )

    assert updated.validation == "unvalidated"


def test_org9_password_guessing_is_paused_after_five_failures() -> None:
    legal = member()

    for _ in range(5):
        with pytest.raises(RuleViolation, match="password is not correct"):
            services.organization_terminate(organization=legal.organization, user=legal.user, password="guess", now=NOW)
    with pytest.raises(RuleViolation, match="Too many wrong passwords") as paused:
        services.organization_terminate(organization=legal.organization, user=legal.user, password=PASSWORD, now=NOW)

    assert paused.value.status == 429
    legal.organization.refresh_from_db()
    assert legal.organization.status == "active"
    assert AuditEvent.objects.count() == 0
