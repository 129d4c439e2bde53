"""The doors of enforcement: the customer's breach notices page and API (ENF-2, with tenancy), the
staff admin (ENF-1, ENF-2, ENF-3, RW-6, ORG-9 from a ticket), and RW-5's copy to the Legal
Responsible."""

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import Membership, Organization, User
from audit.models import AuditEvent
from enforcement.models import Breach, CauseTermination
from enforcement.services import Evidence, breach_open
from notifications.services import NoticeSpec
from subscriptions.models import Service
from subscriptions.services.warranty import legal_responsible_copies
from support.models import Ticket
from support.services import ticket_open, ticket_open_by_staff
from tests.enforcement.helpers import NOW, PDF, TODAY, customer, hosting, snapshot, upload
from tests.factories import UserFactory, member

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen():  # noqa: ANN201
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def agent() -> User:
    return UserFactory(is_staff=True, is_superuser=True, email="agent@example.com")


@pytest.fixture
def admin_client(agent: User) -> Client:
    device = TOTPDevice.objects.create(user=agent, name="phone", confirmed=True)
    client = Client()
    client.force_login(agent)
    code = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift).token()
    client.post(reverse("accounts:staff_otp"), {"token": f"{code:06d}", "next": "/admin/"})
    return client


def _logged_in(membership: Membership) -> Client:
    client = Client()
    client.force_login(membership.user)
    return client


def _breach(legal: Membership, agent: User, **fields: Any) -> Breach:
    ticket = ticket_open_by_staff(
        organization=legal.organization,
        staff_user=agent,
        kind="technical",
        subject="Spam from your server",
        body="We received complaints.",
        language="en",
        now=NOW,
    )
    arguments: dict[str, Any] = {
        "organization": legal.organization,
        "staff_user": agent,
        "category": Breach.Category.AUP_CRYPTO,
        "reason": "Mining crypto-currencies.",
        "services": [hosting(legal)],
        "remedy_deadline": TODAY + dt.timedelta(days=7),
        "evidence": [
            Evidence(ticket=ticket, visible_to_customer=True),
            Evidence(file=upload(PDF, "shown.pdf"), visible_to_customer=True),
            Evidence(file=upload(PDF, "hidden.pdf"), visible_to_customer=False),
        ],
        "now": NOW,
    } | fields
    return breach_open(**arguments)


# --- ENF-2: what the customer sees ----------------------------------------------------------------


def test_enf_2_the_customer_sees_the_breach_in_plain_words_with_the_evidence_they_may_see(agent: User) -> None:
    legal = customer()
    breach = _breach(legal, agent)
    response = _logged_in(legal).get(reverse("enforcement:breaches", args=[legal.organization.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "any activity related to crypto-currencies" in page.lower()
    assert "Mining crypto-currencies." in page
    assert "shown.pdf" in page and "hidden.pdf" not in page
    assert "Spam from your server" in page
    assert reverse("enforcement:breaches", args=[legal.organization.pk]) in page  # linked from the navigation
    assert "SC 5.7" not in page and "ENF-" not in page
    shown = breach.evidence.get(original_name="shown.pdf")
    hidden = breach.evidence.get(original_name="hidden.pdf")
    client = _logged_in(legal)
    download = client.get(reverse("enforcement:evidence_file", args=[legal.organization.pk, breach.pk, shown.pk]))
    assert download.status_code == 200 and download.content == PDF
    assert download["Content-Disposition"].startswith("attachment")
    assert (
        client.get(reverse("enforcement:evidence_file", args=[legal.organization.pk, breach.pk, hidden.pk])).status_code
        == 404
    )


def test_enf_2_another_organizations_breaches_and_files_answer_404(agent: User) -> None:
    legal, stranger = customer(), customer()
    breach = _breach(legal, agent)
    shown = breach.evidence.get(original_name="shown.pdf")
    client = _logged_in(stranger)
    assert client.get(reverse("enforcement:breaches", args=[legal.organization.pk])).status_code == 404
    url = reverse("enforcement:evidence_file", args=[legal.organization.pk, breach.pk, shown.pk])
    assert client.get(url).status_code == 404
    # nor through the stranger's own Organization's address
    url = reverse("enforcement:evidence_file", args=[stranger.organization.pk, breach.pk, shown.pk])
    assert client.get(url).status_code == 404
    assert client.get(f"/api/v1/organizations/{legal.organization.pk}/breaches/").status_code == 404
    own = client.get(f"/api/v1/organizations/{stranger.organization.pk}/breaches/")
    assert own.status_code == 200 and own.json() == []


def test_enf_2_the_api_lists_the_breach_read_only_with_only_the_visible_evidence(agent: User) -> None:
    legal = customer()
    breach = _breach(legal, agent)
    client = _logged_in(legal)
    url = f"/api/v1/organizations/{legal.organization.pk}/breaches/"
    body = client.get(url).json()
    assert len(body) == 1
    item = body[0]
    assert (item["id"], item["category"], item["reason"], item["remedy_deadline"], item["status"]) == (
        breach.pk,
        "aup_crypto",
        "Mining crypto-currencies.",
        "2026-02-17",
        "open",
    )
    assert [(e["kind"], e["file_name"]) for e in item["evidence"]] == [("ticket", ""), ("file", "shown.pdf")]
    assert client.post(url, {}).status_code == 405


def test_enf_1_a_breach_withheld_by_an_authority_is_not_shown_to_the_customer(agent: User) -> None:
    legal = customer()
    _breach(legal, agent, category=Breach.Category.AUTHORITY_REQUEST, notice_withheld=True, evidence=[])
    client = _logged_in(legal)
    assert client.get(f"/api/v1/organizations/{legal.organization.pk}/breaches/").json() == []
    page = client.get(reverse("enforcement:breaches", args=[legal.organization.pk])).content.decode()
    assert "Mining crypto-currencies." not in page


# --- the staff admin ------------------------------------------------------------------------------


def test_enf_1_staff_open_a_breach_from_the_admin_with_a_file(admin_client: Client) -> None:
    legal = customer()
    svc = hosting(legal)
    response = admin_client.post(
        reverse("admin:enforcement_breach_open"),
        {
            "organization": legal.organization.pk,
            "services": [svc.pk],
            "category": "security",
            "reason": "Flooding our network.",
            "file": SimpleUploadedFile("scan.pdf", PDF, content_type="application/pdf"),
            "file_visible": "on",
        },
    )
    breach = Breach.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:enforcement_breach_change", args=[breach.pk])
    svc.refresh_from_db()
    assert svc.status == Service.Status.SUSPENDED
    assert list(breach.evidence.values_list("original_name", "visible_to_customer")) == [("scan.pdf", True)]
    page = admin_client.get(reverse("admin:enforcement_breach_change", args=[breach.pk])).content.decode()
    assert "SC 6" in page  # staff see the clause


def test_enf_1_a_refusal_in_the_admin_shows_the_rule_keeps_the_input_and_changes_nothing(admin_client: Client) -> None:
    legal, stranger = customer(), customer()
    theirs = hosting(stranger)
    before = snapshot()
    response = admin_client.post(
        reverse("admin:enforcement_breach_open"),
        {
            "organization": legal.organization.pk,
            "services": [theirs.pk],
            "category": "security",
            "reason": "Flooding our network.",
        },
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert f"Service {theirs.pk} is not one of this organization&#x27;s. (ENF-1)" in page
    assert "Flooding our network." in page  # the input is kept
    assert snapshot() == before


def test_enf_2_staff_decide_from_the_admin_and_a_second_decision_is_refused_with_its_rule(
    admin_client: Client, agent: User
) -> None:
    legal = customer()
    breach = _breach(legal, agent)
    changelist = reverse("admin:enforcement_breach_changelist")
    admin_client.post(
        changelist,
        {"action": "remedied", "_selected_action": [breach.pk], "apply": "1", "reason": "Mining stopped."},
        follow=True,
    )
    breach.refresh_from_db()
    assert breach.status == Breach.Status.REMEDIED
    response = admin_client.post(
        changelist,
        {"action": "not_remedied", "_selected_action": [breach.pk], "apply": "1", "reason": "Again."},
        follow=True,
    )
    shown = [str(m) for m in response.context["messages"]]
    assert shown == [f"{breach}: This breach is decided already. (ENF-2)"]


def test_enf_3_staff_terminate_for_cause_from_the_admin(admin_client: Client) -> None:
    legal = customer()
    svc = hosting(legal)
    url = reverse("admin:enforcement_terminate")
    unconfirmed = admin_client.post(
        url, {"organization": legal.organization.pk, "cause": "fraud", "reason": "Stolen identity."}
    )
    assert unconfirmed.status_code == 200 and not CauseTermination.objects.exists()
    response = admin_client.post(
        url, {"organization": legal.organization.pk, "cause": "fraud", "reason": "Stolen identity.", "confirm": "on"}
    )
    assert response.status_code == 302
    svc.refresh_from_db()
    legal.organization.refresh_from_db()
    assert svc.status == Service.Status.TERMINATED
    assert legal.organization.status == Organization.Status.TERMINATED


def test_org_9_staff_carry_out_a_termination_request_from_the_ticket_admin(admin_client: Client) -> None:
    legal = customer()
    svc = hosting(legal)
    ticket = ticket_open(
        organization=legal.organization,
        user=legal.user,
        kind="termination",
        subject="End it",
        body="Please terminate our hosting.",
        language="en",
        service=svc,
        now=NOW,
    )
    response = admin_client.post(
        reverse("admin:support_ticket_changelist"),
        {"action": "carry_out_termination", "_selected_action": [ticket.pk], "apply": "1", "reason": "Done."},
        follow=True,
    )
    assert [str(m) for m in response.context["messages"]] == ["1 done."]
    svc.refresh_from_db()
    ticket.refresh_from_db()
    assert (svc.status, ticket.status) == (Service.Status.TERMINATED, Ticket.Status.CLOSED)


def test_rw_6_staff_switch_the_renewal_warranty_from_the_service_admin(admin_client: Client) -> None:
    legal = customer()
    svc = hosting(legal)
    changelist = reverse("admin:subscriptions_service_changelist")
    admin_client.post(
        changelist,
        {"action": "warranty_on", "_selected_action": [svc.pk], "apply": "1", "reason": "Asked by phone."},
        follow=True,
    )
    svc.refresh_from_db()
    assert svc.renewal_warranty is True
    response = admin_client.post(
        changelist,
        {"action": "warranty_on", "_selected_action": [svc.pk], "apply": "1", "reason": "Twice."},
        follow=True,
    )
    assert [str(m) for m in response.context["messages"]] == [f"{svc}: The Renewal Warranty is already on. (RW-6)"]


# --- RW-5: the Legal Responsible's login e-mail ---------------------------------------------------


def test_rw_5_the_escalation_also_reaches_each_legal_responsibles_login_email_once() -> None:
    legal = customer(email="boss@example.com")
    org = legal.organization
    second = member(Membership.Role.LEGAL_RESPONSIBLE, organization=org, email="partner@example.com")
    member(Membership.Role.TECHNICAL, organization=org, email="tech@example.com")
    member(Membership.Role.LEGAL_RESPONSIBLE, organization=org, email=org.contact_email.upper())  # reached already
    notice = NoticeSpec(organization=org, template="warranty_renewed", channels=("email", "sms"), all_contacts=True)
    copies = legal_responsible_copies([notice])
    assert [(c.email_to, c.channels, c.all_contacts) for c in copies] == [
        ("boss@example.com", ("email",), False),
        (second.user.email, ("email",), False),
    ]


def test_enf_1_staff_open_any_evidence_file_from_the_breach_page_recorded(admin_client: Client, agent: User) -> None:
    legal = customer()
    breach = _breach(legal, agent)
    hidden = breach.evidence.get(original_name="hidden.pdf")
    page = admin_client.get(reverse("admin:enforcement_breach_change", args=[breach.pk])).content.decode()
    url = reverse("admin:enforcement_breach_file", args=[hidden.pk])
    assert url in page
    viewed = AuditEvent.objects.filter(action="staff.viewed", rule="EVD-2", object_id=str(breach.pk))
    before = viewed.count()
    response = admin_client.get(url)
    assert response.status_code == 200 and response.content == PDF
    assert viewed.count() == before + 1
