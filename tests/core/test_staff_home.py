"""The staff home (issue 17): the admin index opens with what needs a person today — SLA claims to
decide, escalated tickets waiting for us, charges of unknown outcome, breach deadlines passed without a
decision, cash-out requests waiting — each with its count and a link to the admin list filtered to
exactly those rows; the ticket queue's columns stay short; every model names itself in words."""

import datetime as dt
import re
from decimal import Decimal

import pytest
import time_machine
from django.contrib import admin
from django.contrib.admin.templatetags.admin_list import result_headers
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from django.utils import formats
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import Organization, User
from billing.models import CashOutRequest, Payment, PrepaidAccount
from enforcement.models import Breach
from sla.models import Claim
from subscriptions.models import RenewalAttempt
from support.models import Ticket
from tests.billing.factories import ServiceFactory
from tests.factories import UserFactory, member

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 20, 9, 30, tzinfo=dt.UTC)  # Friday 20 March 2026 in Zurich


@pytest.fixture(autouse=True)
def frozen():  # noqa: ANN201
    with time_machine.travel(NOW, tick=False):
        yield


def verified(user: User) -> Client:
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    client = Client()
    client.force_login(user)
    code = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift).token()
    client.post(reverse("accounts:staff_otp"), {"token": f"{code:06d}", "next": "/admin/"})
    return client


@pytest.fixture
def agent() -> Client:
    return verified(UserFactory(is_staff=True, is_superuser=True, email="agent@example.com"))


def ticket(organization: Organization, opener: User, **fields: object) -> Ticket:
    values: dict[str, object] = {
        "organization": organization,
        "kind": Ticket.Kind.TECHNICAL,
        "subject": "Site down",
        "language": "en",
        "opened_by": opener,
        "created_at": NOW - dt.timedelta(days=2),
        "updated_at": NOW - dt.timedelta(days=2),
    }
    return Ticket.objects.create(**(values | fields))


def home_rows(html: str) -> list[tuple[str, str, str]]:
    """(link, label, count) of each row of the staff home, in order."""
    table = re.search(r'<div class="module" id="staff-today">.*?</table>', html, re.S)
    assert table is not None
    rows = re.findall(r'<th scope="row"><a href="([^"]+)">([^<]+)</a></th>\s*<td>(.*?)</td>', table.group(0), re.S)
    return [(url.replace("&amp;", "&"), label, re.sub(r"<[^>]+>", "", count)) for url, label, count in rows]


def listed(client: Client, url: str) -> list[int]:
    response = client.get(url)
    assert response.status_code == 200
    return sorted(row.pk for row in response.context["cl"].result_list)


def test_the_staff_home_counts_what_needs_a_person_and_links_to_exactly_those_rows(agent: Client) -> None:
    # given one row that waits and one that does not, of each kind
    legal = member()
    organization, customer = legal.organization, legal.user
    service = ServiceFactory(organization=organization)
    pending = Claim.objects.create(
        ticket=ticket(organization, customer, kind=Ticket.Kind.SLA_CLAIM),
        organization=organization,
        service=service,
        claimed_start=NOW - dt.timedelta(hours=5),
        claimed_end=NOW - dt.timedelta(hours=4),
        filed_at=NOW - dt.timedelta(hours=3),
    )
    Claim.objects.create(
        ticket=ticket(organization, customer, kind=Ticket.Kind.SLA_CLAIM),
        organization=organization,
        service=service,
        claimed_start=NOW - dt.timedelta(hours=5),
        claimed_end=NOW - dt.timedelta(hours=4),
        filed_at=NOW - dt.timedelta(hours=3),
        status=Claim.Status.REFUSED,
        refusal_cause="other",
        refusal_reason="No incident",
        decided_at=NOW,
    )
    waiting_since = NOW - dt.timedelta(days=2)
    escalated = ticket(
        organization,
        customer,
        status=Ticket.Status.WAITING_PROVIDER,
        waiting_since=waiting_since,
        escalated_at=waiting_since + dt.timedelta(days=1),
    )
    ticket(organization, customer, status=Ticket.Status.RESOLVED, escalated_at=waiting_since)  # answered since
    unknown = Payment.objects.create(
        organization=organization,
        kind="card",
        amount=Decimal("10.00"),
        currency="CHF",
        status="unknown",
        created_at=NOW,
    )
    Payment.objects.create(
        organization=organization, kind="card", amount=Decimal("10.00"), currency="CHF", status="failed", created_at=NOW
    )
    in_doubt = RenewalAttempt.objects.create(
        service=service, term=2, day=dt.date(2026, 3, 19), outcome=RenewalAttempt.Outcome.UNKNOWN, created_at=NOW
    )
    RenewalAttempt.objects.create(
        service=service, term=2, day=dt.date(2026, 3, 18), outcome=RenewalAttempt.Outcome.DECLINED, created_at=NOW
    )
    staff = UserFactory(is_staff=True)
    breach = {"organization": organization, "category": "security", "reason": "Scan", "opened_by": staff}
    late = Breach.objects.create(**breach, remedy_deadline=dt.date(2026, 3, 19), opened_at=NOW - dt.timedelta(days=9))
    Breach.objects.create(**breach, remedy_deadline=dt.date(2026, 3, 20), opened_at=NOW)  # the customer's day still
    account = PrepaidAccount.objects.create(organization=organization, currency="CHF", balance=Decimal("50.00"))
    cash_out = CashOutRequest.objects.create(
        account=account, amount=Decimal("50.00"), requested_by=customer, requested_at=NOW
    )

    # when
    html = agent.get(reverse("admin:index")).content.decode()

    # then the home lists the queues in the order, with their counts
    rows = home_rows(html)
    assert [(label, count) for _url, label, count in rows] == [
        ("SLA claims to decide (SLA-5)", "1"),
        ("Escalated tickets waiting for us (SUP-7)", "1"),
        ("Card payments of unknown outcome (REN-8)", "1"),
        ("Renewal debits of unknown outcome (REN-8)", "1"),
        ("Breach deadlines passed without a decision (ENF-2)", "1"),
        ("Cash-out requests waiting (PRE-4)", "1"),
    ]
    assert "Needs a person today" in html
    # and each link lists exactly the rows counted
    assert [listed(agent, url) for url, _label, _count in rows] == [
        [pending.pk],
        [escalated.pk],
        [unknown.pk],
        [in_doubt.pk],
        [late.pk],
        [cash_out.pk],
    ]


def test_a_clear_queue_says_none(agent: Client) -> None:
    rows = home_rows(agent.get(reverse("admin:index")).content.decode())
    assert len(rows) == 6
    assert {count for _url, _label, count in rows} == {"none"}


def test_staff_see_only_the_queues_their_permissions_open() -> None:
    # given a staff member who may view tickets only
    user = UserFactory(is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_ticket"))
    rows = home_rows(verified(user).get(reverse("admin:index")).content.decode())
    assert [(label, count) for _url, label, count in rows] == [("Escalated tickets waiting for us (SUP-7)", "none")]


def test_the_ticket_queue_keeps_its_columns_short(agent: Client) -> None:
    legal = member()
    long_subject = "The database of our shop stops answering every night at three " * 3
    shown = ticket(legal.organization, legal.user, subject=long_subject.strip(), escalated_at=NOW)
    response = agent.get(reverse("admin:support_ticket_changelist"))
    html = response.content.decode()
    headers = [str(header["text"]) for header in result_headers(response.context["cl"])][1:]  # after the checkbox
    assert headers == ["ID", "subject", "organization", "kind", "status", "priority", "language", "opened", "flags"]
    truncated = "The database of our shop stops answering every night at thr…"  # 60 characters
    assert f'<span title="{long_subject.strip()}">{truncated}</span>' in html
    opened = formats.date_format(dt.date(2026, 3, 18), "SHORT_DATE_FORMAT")
    assert f'<td class="field-opened">{opened}</td><td class="field-flags">escalated</td>' in html
    assert shown.pk in listed(agent, reverse("admin:support_ticket_changelist"))


def test_every_model_in_the_staff_site_names_itself_in_words() -> None:
    names = {model._meta.label: str(model._meta.verbose_name_plural) for model in admin.site._registry}
    assert names["billing.LedgerEntry"] == "ledger entries"
    assert names["billing.PaymentMeans"] == "payment means"
    assert names["billing.VatRate"] == "VAT rates"
    assert names["billing.CashOutRequest"] == "cash-out requests"
    assert names["subscriptions.MoneyBackRefund"] == "money-back refunds"
    assert names["billing.AddOn"] == "add-ons"
    project = [label for label in names if label.split(".")[0] not in {"auth", "axes", "otp_totp"}]
    # no plural made by a bare "s" after an "s" or a "y" ("meanss", "entrys")
    assert [label for label in project if re.search(r"(ss|ys)$", names[label])] == []
