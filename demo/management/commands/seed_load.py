"""The load run's fixture (`make bench-pages`, docs/performance.md "The pages under load"): one Organization
with 50 Services, 500 invoices with their lines, 200 support tickets with their messages and one usage
Service metered since the start of the month; its users log in with a known password. A second
Organization with a few rows of each kind is there too (the pages must never show them).

What carries a rule goes through the services: users, Organizations and memberships
(accounts.services), invoices (billing.services.invoices.invoices_issue: gapless numbers BIL-6, VAT
BIL-7, audit events), usage values (the metering door's service, as `usage_simulate`). The rest is
written in bulk, because it is a fixture for reading pages, not a history: the Services (as
subscriptions.benchmark does), the payments of the paid invoices (their amount paid and status set
directly: no Payment or ledger rows, which no page of the run reads) and the tickets with their
messages (no notification sent). Refuses a database that already holds its users."""

import datetime as dt
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.db.models import F

from accounts import selectors as account_selectors
from accounts import services as account_services
from accounts.models import ContractDocument, Organization, User
from audit.services import Actor
from billing.models import Invoice, Plan, Price, ServiceType
from billing.services.invoices import InvoiceRequest, LineSpec, invoices_issue
from core import clock
from demo.management.commands.seed_demo import DEMO_USAGE_PLAN
from demo.management.commands.seed_demo import Command as SeedDemo
from subscriptions.models import Service
from support.models import Message, Ticket
from usage.management.commands.usage_simulate import simulate

LOAD_PASSWORD = "load-portal-2026"
# One user per simulated user of the run (20): the Legal Responsible, then administrators (who see
# every Service and invoice, ORG-6). Each has its own API throttle (600 calls a minute).
LOAD_USERS = tuple(f"load{n:02d}@example.com" for n in range(1, 21))
OTHER_USER = "load-other@example.com"
LOAD_PLAN = "Load Hosting"


class Command(BaseCommand):
    help = "Create the load run's Organization: 50 Services, 500 invoices, 200 tickets (a fresh database)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--services", type=int, default=50)
        parser.add_argument("--invoices", type=int, default=500)
        parser.add_argument("--tickets", type=int, default=200)

    def handle(self, *args: object, **options: int) -> None:
        if User.objects.filter(email=LOAD_USERS[0]).exists():
            raise CommandError("the load fixture is already in this database")
        now = clock.now()
        demo = SeedDemo()  # its documents and catalog (idempotent)
        with transaction.atomic():
            demo._documents()
            demo._catalog()
            plan = self._plan()
            organization, users = self._organization(LOAD_USERS, "Load Test SA", now)
            services = self._services(organization, plan, options["services"] - 1, now)
            metered = self._usage_service(organization, now)
            self._invoices(organization, services, options["invoices"], now)
            self._tickets(organization, [*services, metered], users[0], options["tickets"], now)
            other, other_users = self._organization((OTHER_USER,), "Other Load Sàrl", now)
            other_services = self._services(other, plan, 3, now)
            self._invoices(other, other_services, 6, now)
            self._tickets(other, other_services, other_users[0], 4, now)
        simulate(metered, days=clock.business_date(now).day, end=None, seed=2026, now=now)
        self.stdout.write(self.style.SUCCESS(f"Load fixture ready: Organization {organization.pk}."))
        self.stdout.write(f"  users: {LOAD_USERS[0]} … {LOAD_USERS[-1]} / {LOAD_PASSWORD}")

    def _plan(self) -> Plan:
        plan, _ = Plan.objects.get_or_create(
            service_type=ServiceType.objects.get(slug="web-hosting"), name=LOAD_PLAN, period="monthly"
        )
        Price.objects.get_or_create(
            plan=plan, currency="CHF", valid_from=dt.date(2020, 1, 1), defaults={"amount": Decimal("20.00")}
        )
        return plan

    def _organization(self, emails: tuple[str, ...], name: str, now: dt.datetime) -> tuple[Organization, list[User]]:
        since = now - relativedelta(years=1)
        users = [
            account_services.user_register(
                email=email,
                password=LOAD_PASSWORD,
                first_name="Lou",
                last_name="Load",
                language="en",
                date_of_birth=dt.date(1980, 1, 1),
                now=since,
            )
            for email in emails
        ]
        organization = account_services.organization_create(
            user=users[0],
            contact={
                "name": name,
                "contact_first_name": "Lou",
                "contact_last_name": "Load",
                "contact_email": emails[0],
                "mobile": "+41 79 765 43 21",
                "street": "Rue de la Charge 5",
                "postal_code": "1003",
                "city": "Lausanne",
                "country": "CH",
                "billing_country": "CH",
                "currency": "CHF",
                "language": "en",
            },
            accepted_tcu=account_selectors.current_version(
                ContractDocument.objects.get(slug="tcu"), clock.business_date(since)
            ),
            now=since,
        )
        for colleague in users[1:]:
            invitation = account_services.member_invite(
                organization=organization, user=users[0], email=colleague.email, role="administrator", now=since
            )
            account_services.invitation_accept(token=invitation.token, user=colleague, now=since)
        return organization, users

    def _services(self, organization: Organization, plan: Plan, count: int, now: dt.datetime) -> list[Service]:
        """Active monthly Services renewing on days spread over the next month (bulk: a fixture)."""
        today = clock.business_date(now)
        since = now - relativedelta(years=1)
        rows = []
        for i in range(count):
            expires = today + dt.timedelta(days=1 + i % 28)
            rows.append(
                Service(
                    organization=organization,
                    plan=plan,
                    currency="CHF",
                    status=Service.Status.ACTIVE,
                    anchor_date=expires - relativedelta(months=12),
                    term=12,
                    expires_on=expires,
                    auto_renew=True,
                    activated_at=since,
                    created_at=since,
                )
            )
        return Service.objects.bulk_create(rows)

    def _usage_service(self, organization: Organization, now: dt.datetime) -> Service:
        plan = Plan.objects.get(service_type__slug="jelastic-cloud", name=DEMO_USAGE_PLAN, period="monthly")
        since = now - relativedelta(months=3)
        return Service.objects.create(
            organization=organization,
            plan=plan,
            currency="CHF",
            status=Service.Status.ACTIVE,
            usage_based=True,
            auto_renew=True,
            activated_at=since,
            created_at=since,
        )

    def _invoices(self, organization: Organization, services: list[Service], count: int, now: dt.datetime) -> None:
        """`count` renewal invoices of two lines, one term per Service and month going back (through
        invoices_issue: gapless numbers, BIL-6); all but the latest month's are paid."""
        service_type = ServiceType.objects.get(slug="web-hosting")
        actor = Actor.system("seed_load")
        months = -(-count // len(services))
        issued = 0
        for back in range(months, 0, -1):
            when = now - relativedelta(months=back - 1)
            batch = services[: min(len(services), count - issued)]
            term = months - back + 1
            requests = [
                InvoiceRequest(
                    organization=organization,
                    kind=Invoice.Kind.RENEWAL,
                    service_type=service_type,
                    service=service,
                    term=term,
                    rule="REN-1",
                    lines=[
                        LineSpec(description=f"Load Hosting, term {term}", unit_price_excl_vat=Decimal(20)),
                        LineSpec(description="Daily backup", unit_price_excl_vat=Decimal("2.40")),
                    ],
                )
                for service in batch
            ]
            invoices = invoices_issue(requests, actor=actor, now=when)
            issued += len(invoices)
            if back > 1:  # the fixture's payments: amounts and status only (see the module's docstring)
                Invoice.objects.filter(pk__in=[i.pk for i in invoices]).update(
                    status=Invoice.Status.PAID, amount_paid=F("total_incl_vat")
                )

    def _tickets(
        self, organization: Organization, services: list[Service], user: User, count: int, now: dt.datetime
    ) -> None:
        """`count` tickets with three messages each (the customer's, staff's answer, the customer's)."""
        statuses = [Ticket.Status.OPEN, Ticket.Status.WAITING_CUSTOMER, Ticket.Status.RESOLVED, Ticket.Status.CLOSED]
        tickets = Ticket.objects.bulk_create(
            [
                Ticket(
                    organization=organization,
                    service=services[i % len(services)],
                    kind=Ticket.Kind.TECHNICAL,
                    subject=f"Question {i + 1} about the Service",
                    language="en",
                    status=statuses[i % len(statuses)],
                    opened_by=user,
                    created_at=now - dt.timedelta(hours=6 * (count - i)),
                    updated_at=now - dt.timedelta(hours=6 * (count - i) - 2),
                )
                for i in range(count)
            ]
        )
        Message.objects.bulk_create(
            [
                Message(
                    ticket=ticket,
                    author=None if from_staff else user,
                    from_staff=from_staff,
                    body=f"Message {n + 1} of the ticket: a few sentences about the question. " * 3,
                    created_at=ticket.created_at + dt.timedelta(minutes=30 * n),
                )
                for ticket in tickets
                for n, from_staff in enumerate((False, True, False))
            ]
        )
