"""Bodies and files (issue 14, item 8): a request larger than the portal ever reads is refused (413)
before a byte of its body is read; every file download is `Cache-Control: private, no-store`."""

import datetime as dt
import io

import pytest
import time_machine
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import translation
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from core.middleware import RequestBodyLimitMiddleware
from support.attachments import Upload
from support.models import Attachment, Message, Ticket
from support.services import ticket_open
from tests.billing.factories import InvoiceFactory
from tests.factories import UserFactory, member

pytestmark = pytest.mark.django_db

MiB = 1024 * 1024
NOW = dt.datetime(2026, 3, 20, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def frozen():  # noqa: ANN201
    with time_machine.travel(NOW, tick=False), translation.override("en"):
        yield


class ExplodingBody:
    """A request body of 150 MiB that must never be read: any read fails the test."""

    def __init__(self) -> None:
        self.reads = 0

    def read(self, size: int = -1) -> bytes:
        self.reads += 1
        raise AssertionError("the request body was read")

    def readline(self, size: int = -1) -> bytes:
        return self.read(size)


def huge_post(client: Client, path: str, body: ExplodingBody, length: int = 150 * MiB) -> HttpResponse:
    return client.post(
        path,
        data=b"",
        content_type="multipart/form-data; boundary=BoUnDaRy",
        CONTENT_LENGTH=str(length),
        **{"wsgi.input": body},
    )


def counts() -> tuple[int, int, int]:
    return Ticket.objects.count(), Message.objects.count(), Attachment.objects.count()


def test_a_150_mib_ticket_is_refused_413_before_its_body_is_read() -> None:
    # given a member on the new-ticket page
    legal = member()
    client = Client()
    client.force_login(legal.user)
    body = ExplodingBody()

    # when 150 MiB of attachments arrive
    response = huge_post(client, reverse("support:ticket_new", args=[legal.organization_id]), body)

    # then it is refused with a plain page, unread, and nothing is opened
    assert response.status_code == 413
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content.decode() == "This request is too large: at most 28.0\xa0MB can be sent at once."
    assert body.reads == 0
    assert counts() == (0, 0, 0)


def test_a_150_mib_api_request_is_refused_413_in_json_before_its_body_is_read() -> None:
    # given a member of the API
    legal = member()
    client = Client()
    client.force_login(legal.user)
    body = ExplodingBody()

    # when
    response = huge_post(client, reverse("api-tickets", args=[legal.organization_id]), body)

    # then
    assert response.status_code == 413
    assert response.json() == {
        "detail": "This request is too large: at most 28.0\xa0MB can be sent at once.",
        "rule": None,
    }
    assert body.reads == 0
    assert counts() == (0, 0, 0)


def test_the_refusal_comes_before_the_login_and_csrf_checks() -> None:
    # given an anonymous client that enforces CSRF (CsrfViewMiddleware would read the body)
    client = Client(enforce_csrf_checks=True)
    body = ExplodingBody()

    # when
    response = huge_post(client, reverse("accounts:login"), body)

    # then
    assert response.status_code == 413
    assert body.reads == 0


def test_the_limit_is_the_files_of_one_support_message_and_three_mib_of_fields() -> None:
    # given the middleware in front of a view that answers 200
    limit = settings.REQUEST_BODY_MAX_BYTES
    assert limit == settings.SUPPORT_ATTACHMENTS_MAX_TOTAL_BYTES + 3 * MiB
    middleware = RequestBodyLimitMiddleware(lambda request: HttpResponse("read"))

    def sent(length: str) -> int:
        request: HttpRequest = RequestFactory().post("/orgs/1/support/new/", data=b"", content_type="text/plain")
        request.META["CONTENT_LENGTH"] = length
        return middleware(request).status_code

    # when / then: up to the limit it passes, one byte more is refused; no length reads no body anyway
    assert [sent(str(limit)), sent(str(limit + 1)), sent(""), sent("not a number")] == [200, 413, 200, 200]


def test_a_chunked_body_without_a_length_is_never_read() -> None:
    """Django's WSGI handler reads at most Content-Length bytes: a chunked upload with no length
    arrives empty, whatever its size, and opens nothing."""
    legal = member()
    client = Client()
    client.force_login(legal.user)
    body = ExplodingBody()

    response = client.post(
        reverse("support:ticket_new", args=[legal.organization_id]),
        data=b"",
        content_type="multipart/form-data; boundary=BoUnDaRy",
        CONTENT_LENGTH="",
        HTTP_TRANSFER_ENCODING="chunked",
        **{"wsgi.input": body},
    )

    assert response.status_code == 200  # the form again: nothing was sent
    assert body.reads == 0
    assert counts() == (0, 0, 0)


# --- downloads are never cached -------------------------------------------------------------------


def staff_client() -> Client:
    agent = UserFactory(is_staff=True, is_superuser=True, email="agent@example.com")
    device = TOTPDevice.objects.create(user=agent, name="phone", confirmed=True)
    client = Client()
    client.force_login(agent)
    code = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift).token()
    assert client.post(reverse("accounts:staff_otp"), {"token": f"{code:06d}", "next": "/admin/"}).status_code == 302
    return client


def test_invoice_pdfs_are_private_and_never_stored() -> None:
    # given
    legal = member()
    invoice = InvoiceFactory(organization=legal.organization)
    client = Client()
    client.force_login(legal.user)
    org = legal.organization_id

    # when
    page = client.get(reverse("billing:invoice_pdf", args=[org, invoice.pk]))
    api = client.get(reverse("api-invoice-pdf", args=[org, invoice.pk]))

    # then
    assert [(r.status_code, r["Content-Type"]) for r in (page, api)] == [(200, "application/pdf")] * 2
    assert [page["Cache-Control"], api["Cache-Control"]] == ["private, no-store"] * 2


def test_support_attachments_are_private_and_never_stored() -> None:
    # given a ticket with a file
    legal = member()
    ticket = ticket_open(
        organization=legal.organization,
        user=legal.user,
        kind="technical",
        subject="Site down",
        body="Our site answers 502.",
        language="en",
        attachments=[Upload(file=io.BytesIO(b"502 at 09:58\n"), name="log.txt")],
        now=NOW,
    )
    attached = Attachment.objects.get()
    client = Client()
    client.force_login(legal.user)
    org = legal.organization_id

    # when the member and staff download it
    downloads = [
        client.get(reverse("support:attachment", args=[org, ticket.pk, attached.pk])),
        client.get(reverse("api-ticket-attachment", args=[org, ticket.pk, attached.pk])),
        staff_client().get(reverse("admin:support_ticket_attachment", args=[attached.pk])),
    ]

    # then
    assert [(r.status_code, r.content) for r in downloads] == [(200, b"502 at 09:58\n")] * 3
    assert [r["Cache-Control"] for r in downloads] == ["private, no-store"] * 3


def test_any_download_is_private_but_pages_are_left_alone() -> None:
    """The rule is kept in one place (core.middleware): a later download cannot forget it."""
    legal = member()
    client = Client()
    client.force_login(legal.user)

    page = client.get(reverse("billing:invoices", args=[legal.organization_id]))

    assert page.status_code == 200
    assert "no-store" not in page.get("Cache-Control", "")
