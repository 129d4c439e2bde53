"""EVD-4: an Organization's statement for a date range — one CSV per kind with exact content, the PDF,
the range and role refusals (with nothing changed), the evidence, the notice to the member."""

import datetime as dt
import io
import zipfile

import pytest
import time_machine
from django.core.files.storage import default_storage
from django.utils import translation
from pypdf import PdfReader

from accounts.models import Membership
from audit.models import AuditEvent
from core.errors import RuleViolation
from exports.models import Export
from exports.services import export_build, export_statement_request
from notifications.models import Notification
from subscriptions.models import MembershipServiceScope
from tests.exports.helpers import MARCH, NOW, seed_other, seed_statement, snapshot
from tests.factories import member

pytestmark = pytest.mark.django_db

Role = Membership.Role

BOM = "\ufeff"


@pytest.fixture(autouse=True)
def frozen():  # noqa: ANN201
    with time_machine.travel(NOW, tick=False), translation.override("en"):
        yield


def built(legal: Membership, start=MARCH[0], end=MARCH[1]) -> Export:  # noqa: ANN001
    export = export_statement_request(
        organization_id=legal.organization_id, user=legal.user, start=start, end=end, now=NOW
    )
    result = export_build(export_id=export.pk, now=NOW)
    assert result is not None
    return result


def members_of(export: Export) -> dict[str, bytes]:
    with default_storage.open(export.file.name, "rb") as handle, zipfile.ZipFile(io.BytesIO(handle.read())) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def csv_text(content: bytes) -> str:
    text = content.decode("utf-8")
    assert text.startswith(BOM)
    return text[len(BOM) :]


def test_evd_4_the_zip_holds_one_csv_per_kind_and_the_pdf() -> None:
    # given an Organization with a row of each kind in March
    legal = member(Role.LEGAL_RESPONSIBLE)
    seed_statement(legal)

    # when its Legal Responsible exports March
    export = built(legal)

    # then the export is ready, kept 7 days, with every kind's file and the PDF
    assert export.status == Export.Status.READY
    assert export.progress == 100
    assert str(export.expires_on) == "2026-04-09"
    files = members_of(export)
    assert list(files) == [
        "orders.csv",
        "invoices.csv",
        "payments.csv",
        "ledger.csv",
        "usage.csv",
        "incidents.csv",
        "tickets.csv",
        "statement.pdf",
    ]
    assert files["statement.pdf"].startswith(b"%PDF-")
    assert files["statement.pdf"].rstrip().endswith(b"%%EOF")


def test_evd_4_each_csv_has_its_header_and_exactly_the_organizations_rows_of_the_period() -> None:
    # given a seeded Organization, and another one with rows in March too
    legal = member(Role.LEGAL_RESPONSIBLE)
    seeded = seed_statement(legal)
    seed_other()
    service = seeded.service.pk

    # when March is exported
    files = members_of(built(legal))

    # then each file holds exactly its header and the Organization's March rows (CRLF, ";", ISO dates, dots)
    assert csv_text(files["orders.csv"]) == (
        "service_id;ordered_at;service_type;plan;period;billing;status;currency;order_invoices\r\n"
        f"{service};2026-03-02T10:00:00+01:00;Jelastic Cloud;Cloud M;monthly;term;active;CHF;00001001\r\n"
    )
    assert csv_text(files["invoices.csv"]) == (
        "number;kind;issue_date;due_date;status;currency;total_excl_vat;total_vat;total_incl_vat;amount_paid;"
        "amount_credited;amount_due;service_id\r\n"
        f"00001001;order;2026-03-02;2026-04-01;paid;CHF;100.00;8.10;108.10;108.10;0.00;0.00;{service}\r\n"
    )
    payments = csv_text(files["payments.csv"]).split("\r\n")
    assert payments[0] == "payment_id;created_at;kind;status;currency;amount;invoice;reference"
    assert [line.split(";", 1)[1] for line in payments[1:-1]] == [
        "2026-03-03T09:00:00+01:00;card;failed;CHF;108.10;00001001;",
        "2026-03-03T09:30:00+01:00;card;succeeded;CHF;108.10;00001001;",
    ]
    ledger = csv_text(files["ledger.csv"]).split("\r\n")
    assert ledger[0] == "entry_id;created_at;kind;currency;amount;balance_after;invoice;reason"
    assert [line.split(";", 1)[1] for line in ledger[1:-1]] == [
        "2026-03-05T13:00:00+01:00;top_up;CHF;1234.50;1234.50;;",
        "2026-03-31T23:59:00+02:00;staff_adjustment;CHF;-1184.50;50.00;;'=1+1 correction",
    ]
    assert csv_text(files["usage.csv"]) == (
        f"service_id;day;resource;unit;quantity\r\n{service};2026-03-10;storage;GB-hour;3.750000\r\n"
    )
    incidents = csv_text(files["incidents.csv"]).split("\r\n")
    assert incidents[0] == "incident_id;service_id;class;cause;title;started_at;resolved_at"
    assert incidents[1].split(";", 1)[1] == (
        f'{service};A;provider;"Outage; zone 2";2026-03-20T11:00:00+01:00;2026-03-20T11:30:00+01:00'
    )
    assert len(incidents) == 3
    tickets = csv_text(files["tickets.csv"]).split("\r\n")
    assert tickets[0] == "ticket_id;opened_at;kind;subject;status;priority;service_id;invoice"
    assert tickets[1].split(";", 1)[1] == '2026-03-25T09:00:00+01:00;technical;"Slow ""deploys""";open;normal;;'
    assert len(tickets) == 3


def test_evd_4_a_period_without_records_gives_headers_only() -> None:
    # given an Organization with nothing in January
    legal = member(Role.BILLING)
    seed_statement(legal)

    # when January is exported
    files = members_of(built(legal, start=MARCH[0].replace(month=1), end=MARCH[0].replace(month=1, day=31)))

    # then every CSV is its header alone, and the PDF still exists
    assert csv_text(files["invoices.csv"]).count("\r\n") == 1
    assert csv_text(files["tickets.csv"]).count("\r\n") == 1
    assert files["statement.pdf"].startswith(b"%PDF-")


def test_evd_4_request_build_are_recorded_and_the_member_told_by_email() -> None:
    # given a billing member
    legal = member(Role.LEGAL_RESPONSIBLE)
    billing = member(Role.BILLING, organization=legal.organization, email="ann@example.com")

    # when they export March
    export = built(billing)

    # then the request and the build are evidence under EVD-4, and the member gets an e-mail
    events = AuditEvent.objects.filter(object_type="exports.export", object_id=str(export.pk)).order_by("id")
    assert [(event.action, event.rule, event.actor_label) for event in events] == [
        ("export.requested", "EVD-4", "ann@example.com"),
        ("export.built", "EVD-4", "job:exports.build"),
    ]
    assert events[0].organization_id == legal.organization_id
    assert events[0].after == {"kind": "statement", "start": "2026-03-01", "end": "2026-03-31"}
    (notice,) = Notification.objects.filter(template="export_ready")
    assert (notice.channel, notice.address, notice.recipient_user_id) == ("email", "ann@example.com", billing.user_id)
    assert notice.subject == f"Your statement of {legal.organization.name} is ready"
    assert f"/orgs/{legal.organization_id}/exports/" in notice.body
    assert "09.04.2026" in notice.body


def test_evd_4_a_build_delivered_twice_builds_once() -> None:
    # given a statement already built
    legal = member(Role.LEGAL_RESPONSIBLE)
    export = built(legal)
    events = AuditEvent.objects.count()

    # when its task runs again
    again = export_build(export_id=export.pk, now=NOW)

    # then nothing changes: same file, no new evidence, no second notice
    assert again is not None
    assert (again.status, again.file.name) == (Export.Status.READY, export.file.name)
    assert AuditEvent.objects.count() == events
    assert Notification.objects.filter(template="export_ready").count() == 1


@pytest.mark.parametrize(
    ("start", "end", "message", "field"),
    [
        ("2026-03-31", "2026-03-01", "The start date must be on or before the end date.", "start"),
        ("2016-04-02", "2026-04-02", "A statement covers at most 10 years: choose a later start date.", "start"),
        ("2026-03-01", "2026-04-03", "The end date cannot be after today.", "end"),
    ],
    ids=["reversed", "over-10-years", "after-today"],
)
def test_evd_4_a_range_reversed_over_ten_years_or_in_the_future_is_refused(
    start: str, end: str, message: str, field: str
) -> None:
    # given a Legal Responsible
    legal = member(Role.LEGAL_RESPONSIBLE)
    before = snapshot()

    # when they ask for a range that is not allowed
    with pytest.raises(RuleViolation) as refused:
        export_statement_request(
            organization_id=legal.organization_id,
            user=legal.user,
            start=dt.date.fromisoformat(start),
            end=dt.date.fromisoformat(end),
            now=NOW,
        )

    # then it is refused with EVD-4 on the field, and nothing is recorded
    assert (refused.value.rule, refused.value.message, refused.value.field, refused.value.status) == (
        "EVD-4",
        message,
        field,
        400,
    )
    assert snapshot() == before


def test_evd_4_ten_years_to_the_day_are_allowed() -> None:
    legal = member(Role.LEGAL_RESPONSIBLE)
    export = export_statement_request(
        organization_id=legal.organization_id,
        user=legal.user,
        start=dt.date(2016, 4, 3),
        end=dt.date(2026, 4, 2),
        now=NOW,
    )
    assert (export.status, str(export.start), str(export.end)) == ("requested", "2016-04-03", "2026-04-02")


def test_evd_4_a_technical_member_is_refused_with_the_reason() -> None:
    # given a technical member
    legal = member(Role.LEGAL_RESPONSIBLE)
    technical = member(Role.TECHNICAL, organization=legal.organization)
    before = snapshot()

    # when they ask for a statement
    with pytest.raises(RuleViolation) as refused:
        export_statement_request(
            organization_id=legal.organization_id, user=technical.user, start=MARCH[0], end=MARCH[1], now=NOW
        )

    # then the role is refused (ORG-5, 403) and nothing changed
    assert (refused.value.rule, refused.value.status, refused.value.message) == (
        "ORG-5",
        403,
        "Only a Legal Responsible, an administrator or a billing member can export the statement.",
    )
    assert snapshot() == before


def test_evd_4_a_billing_member_limited_to_some_services_is_refused() -> None:
    # given a billing member limited to one Service (ORG-6)
    legal = member(Role.LEGAL_RESPONSIBLE)
    seeded = seed_statement(legal)
    limited = member(Role.BILLING, organization=legal.organization)
    MembershipServiceScope.objects.create(membership=limited, service=seeded.service)
    before = snapshot()

    # when they ask for a statement, then it is refused: the statement covers the whole Organization
    with pytest.raises(RuleViolation) as refused:
        export_statement_request(
            organization_id=legal.organization_id, user=limited.user, start=MARCH[0], end=MARCH[1], now=NOW
        )
    assert (refused.value.rule, refused.value.status) == ("ORG-6", 403)
    assert refused.value.message.startswith("Your access is limited to some services")
    assert snapshot() == before


def test_evd_4_another_organizations_statement_is_refused_as_unknown() -> None:
    # given a member of another Organization
    legal = member(Role.LEGAL_RESPONSIBLE)
    stranger = seed_other()
    before = snapshot()

    with pytest.raises(RuleViolation) as refused:
        export_statement_request(
            organization_id=legal.organization_id, user=stranger.user, start=MARCH[0], end=MARCH[1], now=NOW
        )

    assert (refused.value.rule, refused.value.status) == ("ORG-5", 404)
    assert snapshot() == before


def test_evd_4_one_statement_waits_per_member_at_a_time() -> None:
    # given a statement waiting to be built
    legal = member(Role.LEGAL_RESPONSIBLE)
    export_statement_request(
        organization_id=legal.organization_id, user=legal.user, start=MARCH[0], end=MARCH[1], now=NOW
    )
    before = snapshot()

    # when the member asks for another, then it is refused until the first is built
    with pytest.raises(RuleViolation) as refused:
        export_statement_request(
            organization_id=legal.organization_id, user=legal.user, start=MARCH[0], end=MARCH[1], now=NOW
        )
    assert (refused.value.rule, refused.value.status, refused.value.message) == (
        "EVD-4",
        409,
        "An export is already being prepared for you. Please wait until it is ready.",
    )
    assert snapshot() == before


def test_evd_4_the_pdf_states_the_period_the_counts_and_the_totals_in_swiss_formats() -> None:
    # given a seeded Organization
    legal = member(Role.LEGAL_RESPONSIBLE)
    seed_statement(legal)

    # when March is exported
    pdf = members_of(built(legal))["statement.pdf"]

    # then the PDF reads the period, what each file holds and the totals per currency
    lines = PdfReader(io.BytesIO(pdf)).pages[0].extract_text().splitlines()
    assert lines[1:6] == [
        "Statement",
        legal.organization.name,
        "From 01.03.2026 to 31.03.2026 (both included)",
        "Amounts in CHF",
        "Prepared on 02.04.2026",
    ]
    assert "Payments 2 payments.csv" in lines
    assert "Prepaid account movements 2 ledger.csv" in lines
    assert "Invoiced, VAT included CHF 108.10" in lines
    assert "Payments received CHF 108.10" in lines
    assert "Prepaid account: net movement CHF 50.00" in lines
    assert "00001001 02.03.2026 paid CHF 108.10 0.00" in lines
