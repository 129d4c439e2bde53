"""The Content-Security-Policy (issue 14, item 4): every page carries an enforced policy that allows no
inline script or style, and no page holds an inline script, <style>, style= attribute or on…= handler —
the customer pages (crawled from the dashboard of the demo Organization), the log-in pages and the staff
pages of our own templates. The API docs page has its own policy: a per-request nonce, still no
'unsafe-inline'."""

import io
import re
from html.parser import HTMLParser
from urllib.parse import urldefrag, urlsplit

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import Membership, Organization, User
from billing.models import Invoice
from notifications.services import notify
from subscriptions.models import Service
from support.attachments import Upload
from support.models import Ticket
from support.services import message_post, ticket_open

pytestmark = pytest.mark.django_db

HEADER = "Content-Security-Policy"
JS_TYPES = {"", "text/javascript", "application/javascript", "module"}
PAGES_AT_MOST = 250  # the crawl's bound: the demo has about fifty pages


class InlineCode(HTMLParser):
    """Collects what a policy without 'unsafe-inline' would block (or what only a nonce lets run)."""

    def __init__(self) -> None:
        super().__init__()
        self.blocked: list[str] = []
        self.nonces: set[str] = set()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        for name, value in attrs:
            if name.startswith("on") or name == "style":
                self.blocked.append(f"<{tag} {name}={value!r}>")
            if name in ("href", "src", "action", "formaction") and (value or "").strip().lower().startswith(
                "javascript:"
            ):
                self.blocked.append(f"<{tag} {name}={value!r}>")
        inline_script = tag == "script" and "src" not in found and (found.get("type") or "").lower() in JS_TYPES
        if inline_script or tag == "style":
            if found.get("nonce"):
                self.nonces.add(found["nonce"] or "")
            else:
                self.blocked.append(f"<{tag}> without a nonce")
        if tag == "a" and found.get("href"):
            self.links.append(found["href"] or "")


def inline_code(html: str) -> InlineCode:
    parser = InlineCode()
    parser.feed(html)
    parser.close()
    return parser


def directives(header: str) -> dict[str, list[str]]:
    parsed: dict[str, list[str]] = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            parsed[words[0]] = words[1:]
    return parsed


def assert_strict_policy(response, where: str) -> dict[str, list[str]]:  # noqa: ANN001
    """An enforced policy whose scripts and styles are 'self' (and at most a nonce): never
    'unsafe-inline', 'unsafe-eval', a wildcard or a scheme such as data:."""
    assert HEADER in response, f"{where}: no {HEADER} header"
    policy = directives(response[HEADER])
    assert policy["default-src"] == ["'self'"], where
    for directive in ("script-src", "style-src"):
        sources = policy[directive]
        assert sources[0] == "'self'", (where, directive, sources)
        assert all(re.fullmatch(r"'nonce-[A-Za-z0-9+/=]+'", source) for source in sources[1:]), (where, sources)
    assert policy["object-src"] == ["'none'"], where
    assert policy["base-uri"] == ["'none'"], where
    assert policy["frame-ancestors"] == ["'none'"], where
    return policy


def assert_no_inline_code(response, where: str) -> None:  # noqa: ANN001
    found = inline_code(response.content.decode())
    assert found.blocked == [], where
    assert found.nonces == set(), where


@pytest.fixture(autouse=True)
def _english():  # noqa: ANN202
    with translation.override("en"):
        yield  # the language a request activated (the demo users' own) is not left to the next test


@pytest.fixture
def demo(settings) -> Membership:
    """The demo of `make run` (Services, invoices, an SLA history), and a ticket with an attachment."""
    settings.DEBUG = True
    call_command("seed_demo", stdout=io.StringIO())
    settings.DEBUG = False  # with DEBUG, django-csp leaves 404 and 500 pages without a policy
    membership = Membership.objects.select_related("organization", "user").get(user__email="demo@example.com")
    ticket_open(
        organization=membership.organization,
        user=membership.user,
        kind="technical",
        subject="Site down",
        body="Our site answers 502.",
        language="en",
        attachments=[Upload(file=io.BytesIO(b"502 at 09:58\n"), name="log.txt")],
        now=timezone.now(),
    )
    return membership


def crawl(client: Client, start: str) -> dict[str, object]:
    """Every page reachable by a link from `start`, GET only, outside the staff site and the API."""
    seen: dict[str, object] = {}
    queue = [start]
    while queue:
        path = queue.pop(0)
        if path in seen:
            continue
        assert len(seen) < PAGES_AT_MOST, "the crawl does not end"
        response = client.get(path)
        seen[path] = response
        if response.status_code == 302:
            links = [response["Location"]]
        elif response.status_code == 200 and response["Content-Type"].startswith("text/html"):
            links = inline_code(response.content.decode()).links
        else:
            continue
        for link in links:
            target = urldefrag(link).url
            parts = urlsplit(target)
            if parts.scheme or parts.netloc or not target.startswith("/"):
                continue
            if target.startswith(("/admin/", "/api/", "/static/")):
                continue
            queue.append(target)
    return seen


def test_csp_every_customer_page_has_a_strict_policy_and_no_inline_code(demo: Membership) -> None:
    # given the demo customer, logged in
    organization = demo.organization
    client = Client()
    client.force_login(demo.user)
    invoice = Invoice.objects.filter(organization=organization).order_by("pk").first()
    service = Service.objects.get(organization=organization, status="active")
    ticket = Ticket.objects.get(organization=organization)
    must_see = {
        reverse("accounts:dashboard"),
        reverse("accounts:organization", args=[organization.pk]),
        reverse("subscriptions:services", args=[organization.pk]),
        reverse("subscriptions:service", args=[organization.pk, service.pk]),
        reverse("billing:invoices", args=[organization.pk]),
        reverse("billing:invoice", args=[organization.pk, invoice.pk]),
        reverse("billing:means", args=[organization.pk]),
        reverse("billing:prepaid", args=[organization.pk]),
        reverse("sla:overview", args=[organization.pk]),
        reverse("sla:service_sla", args=[organization.pk, service.pk]),
        reverse("support:tickets", args=[organization.pk]),
        reverse("support:ticket_new", args=[organization.pk]),
        reverse("support:ticket", args=[organization.pk, ticket.pk]),
        reverse("accounts:documents", args=[organization.pk]),
        reverse("accounts:inbox", args=[organization.pk]),
        reverse("accounts:organization_contact", args=[organization.pk]),
    }

    # when every page reachable from the dashboard is read
    pages = crawl(client, reverse("accounts:dashboard"))

    # then the main pages were among them, and each has the policy and no inline code
    assert must_see <= set(pages), sorted(must_see - set(pages))
    for path, response in pages.items():
        assert response.status_code in (200, 302), (path, response.status_code)  # type: ignore[attr-defined]
        assert_strict_policy(response, path)
        if response.status_code == 200 and response["Content-Type"].startswith("text/html"):  # type: ignore[index]
            assert_no_inline_code(response, path)


@pytest.mark.parametrize(
    "name", ["accounts:login", "accounts:signup", "accounts:password_reset"], ids=["login", "signup", "reset"]
)
def test_csp_the_anonymous_pages_have_a_strict_policy_and_no_inline_code(name: str) -> None:
    response = Client().get(reverse(name))

    assert response.status_code == 200
    assert_strict_policy(response, name)
    assert_no_inline_code(response, name)


def test_csp_a_refusal_page_has_the_policy_too() -> None:
    response = Client().get("/no-such-page/")

    assert response.status_code == 404
    assert_strict_policy(response, "404")


def test_csp_the_api_docs_page_has_its_own_policy_with_a_nonce_and_no_unsafe_inline(demo: Membership) -> None:
    # given a logged-in user
    client = Client()
    client.force_login(demo.user)

    # when
    first = client.get(reverse("api-docs"))
    second = client.get(reverse("api-docs"))

    # then its one inline script and style carry this response's nonce, which the policy allows
    assert first.status_code == 200
    policy = assert_strict_policy(first, "api docs")
    found = inline_code(first.content.decode())
    assert found.blocked == []
    (nonce,) = found.nonces
    assert policy["script-src"] == ["'self'", f"'nonce-{nonce}'"]
    assert policy["style-src"] == ["'self'", f"'nonce-{nonce}'"]
    assert policy["img-src"] == ["'self'", "data:"]
    assert inline_code(second.content.decode()).nonces != {nonce}  # a new nonce each time
    # and the other pages keep the portal's policy, without a nonce or data: images
    other = directives(client.get(reverse("accounts:dashboard"))[HEADER])
    assert (other["script-src"], other["style-src"], other["img-src"]) == (["'self'"], ["'self'"], ["'self'"])


# --- staff pages of our own templates ------------------------------------------------------------


@pytest.fixture
def staff_client(demo: Membership) -> Client:
    staff = User.objects.get(email="staff@example.com")
    device = TOTPDevice.objects.get(user=staff)
    client = Client()
    client.force_login(staff)
    code = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift).token()
    assert client.post(reverse("accounts:staff_otp"), {"token": f"{code:06d}", "next": "/admin/"}).status_code == 302
    return client


def test_csp_the_staff_pages_of_our_templates_hold_no_inline_code(demo: Membership, staff_client: Client) -> None:
    # given a ticket with an internal note, and a letter in the print queue
    staff = User.objects.get(email="staff@example.com")
    ticket = Ticket.objects.get(organization=demo.organization)
    message_post(ticket=ticket, user=staff, body="Checked the logs.", internal=True, now=timezone.now())
    organization: Organization = demo.organization
    (letter,) = notify(
        organization=organization,
        template="organization_blocked",
        context={"reason": "Test"},
        channels=("letter",),
        now=timezone.now(),
    )
    pages = {
        "ticket": reverse("admin:support_ticket_change", args=[ticket.pk]),
        "letter": reverse("admin:notifications_letter_print", args=[letter.pk]),
    }

    for where, path in pages.items():
        # when
        response = staff_client.get(path)

        # then
        assert response.status_code == 200, where
        assert_strict_policy(response, where)
        assert_no_inline_code(response, where)
    ticket_page = staff_client.get(pages["ticket"]).content.decode()
    assert 'class="form-row internal-note"' in ticket_page  # the note is still set apart, by the admin's CSS


def test_csp_the_staff_enrolment_page_with_its_qr_code_holds_no_inline_code() -> None:
    # given a staff user whose second factor is issued but not yet confirmed
    staff = User.objects.create_user("new.staff@example.com", "pw-123456789", is_staff=True)
    TOTPDevice.objects.create(user=staff, name="phone", confirmed=False)
    client = Client()
    client.force_login(staff)

    # when
    response = client.get(reverse("accounts:staff_otp"))

    # then
    assert response.status_code == 200
    assert "<svg" in response.content.decode()
    assert_strict_policy(response, "staff_otp")
    assert_no_inline_code(response, "staff_otp")
