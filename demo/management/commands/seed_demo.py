"""Demo data for `make run` (idempotent). Texts and figures here are the demo's own, not the contract."""

import datetime as dt
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import selectors as account_selectors
from accounts import services
from accounts.models import ContractDocument, DocumentText, DocumentVersion, User
from billing.models import AddOn, AddOnPrice, Invoice, Plan, Price, ServiceType
from billing.services.prepaid import prepaid_pay_invoice
from billing.services.topup import prepaid_top_up_by_transfer, prepaid_top_up_transfer_received
from core import clock
from sla.models import Cause, IncidentClass, Maintenance
from sla.services import incident_record, maintenance_schedule
from subscriptions.models import Service
from subscriptions.services.lifecycle import suspend_run
from subscriptions.services.orders import service_order, usage_order
from usage import engine
from usage.management.commands.usage_simulate import simulate
from usage.models import Budget, Rate, RateCard, Resource, UsageMonth
from usage.services.budgets import budget_set
from usage.services.invoicing import usage_invoices_issue
from usage.services.thresholds import threshold_set

DEMO_CUSTOMER = ("demo@example.com", "demo-portal-2026")
DEMO_STAFF = ("staff@example.com", "staff-portal-2026")
# The demo staff user's TOTP key (hex). Demo only: `make totp` prints the current code.
DEMO_TOTP_KEY = "3132333435363738393031323334353637383930"

# The day the demo's documents and prices take effect: far enough back that the demo customer, who
# joined months before today (see `_customer`), found them in force on every day the tests travel to.
DEMO_EPOCH = dt.date(2025, 1, 1)
DEMO_LABEL = f"{DEMO_EPOCH:%Y-%m}"
# How long before today the demo customer joined and ordered their Jelastic Service: its 30-day
# trial (USE-8), then three months of usage invoices and the current month; its SLA history (the
# oldest entry 95 days back, see `_sla_history`) falls inside the Service's life.
DEMO_CUSTOMER_MONTHS = 4
# The order waiting for its invoice to be paid (a fixed-price plan: a usage plan has no order invoice).
DEMO_PENDING_PLAN = ("Demo Hosting", "annual")

# service type, plan, period, CHF and EUR prices excluding VAT (demo figures). Jelastic Cloud is
# billed by usage (USE-1): its fixed-price plans are withdrawn, its plan has rate cards instead.
DEMO_PLANS = [
    ("web-hosting", "Demo Hosting", "annual", "120.00", "125.00"),
    ("housing", "Demo Housing 1U", "monthly", "150.00", "155.00"),
]
# The demo's usage plan and its rates per unit, excluding VAT — demo figures, not a price list.
DEMO_USAGE_PLAN = "Pay per use"
DEMO_RATES = {
    "CHF": {
        "reserved-cloudlets": "0.008",
        "dynamic-cloudlets": "0.012",
        "storage": "0.0002",
        "traffic": "0.05",
        "public-ipv4": "0.004",
    },
    "EUR": {
        "reserved-cloudlets": "0.0085",
        "dynamic-cloudlets": "0.0125",
        "storage": "0.00021",
        "traffic": "0.052",
        "public-ipv4": "0.0042",
    },
}
# The plan's consumption thresholds per month (USE-5), and the demo Service's own (lower) one.
DEMO_PLAN_THRESHOLDS = {"dynamic-cloudlets": "20000", "traffic": "2000"}
DEMO_SERVICE_THRESHOLD = ("traffic", "400")
# The demo customer's monthly budget (USE-6), VAT included: alerts only.
DEMO_BUDGET = "150.00"
# Prepaid Account top-up received by bank transfer before the trial's end: the trial then goes on
# as a paid Service (USE-8) and the usage invoices are paid from it.
DEMO_TOP_UP = "400.00"
DEMO_SEED = 2026  # usage_simulate's seed: the same values on every run

DEMO_TEXTS = {
    "tcu": {
        "title": "Terms and Conditions of Use",
        "en": "Demo summary. The contract is indefinite; Services renew automatically unless you switch "
        "auto-renewal off; unpaid Services are suspended, then terminated. Full text on request.",
        "fr": "Résumé de démonstration. Le contrat est à durée indéterminée ; les Services se renouvellent "
        "automatiquement sauf si vous désactivez le renouvellement ; un Service impayé est suspendu, "
        "puis résilié.",
        "de": "Demo-Zusammenfassung. Der Vertrag ist unbefristet; Dienste verlängern sich automatisch, sofern "
        "Sie die automatische Verlängerung nicht abschalten; unbezahlte Dienste werden gesperrt und "
        "dann gekündigt.",
        "it": "Riepilogo dimostrativo. Il contratto è a tempo indeterminato; i Servizi si rinnovano "
        "automaticamente salvo disattivazione; i Servizi non pagati vengono sospesi e poi disdetti.",
        "es": "Resumen de demostración. El contrato es indefinido; los Servicios se renuevan automáticamente "
        "salvo que desactive la renovación; los Servicios impagados se suspenden y luego se rescinden.",
    },
    "sc-jelastic-cloud": {
        "title": "Jelastic Cloud Special Conditions",
        "en": "Demo summary. Jelastic Cloud starts with a free trial and is billed by resource usage. "
        "Terminating a Jelastic Service deletes its data at once and for good.",
        "fr": "Résumé de démonstration. Jelastic Cloud commence par un essai gratuit et est facturé à "
        "l'usage des ressources. La résiliation d'un Service Jelastic supprime ses données "
        "immédiatement et définitivement.",
        "de": "Demo-Zusammenfassung. Jelastic Cloud beginnt mit einer kostenlosen Testphase und wird nach "
        "Ressourcenverbrauch abgerechnet. Die Kündigung löscht die Daten sofort und endgültig.",
        "it": "Riepilogo dimostrativo. Jelastic Cloud inizia con una prova gratuita ed è fatturato in base "
        "all'uso delle risorse. La disdetta cancella i dati subito e definitivamente.",
        "es": "Resumen de demostración. Jelastic Cloud empieza con una prueba gratuita y se factura según el "
        "uso de recursos. La rescisión borra los datos de inmediato y para siempre.",
    },
}


class Command(BaseCommand):
    help = "Create the demo documents, customer and staff user (safe to run again)."

    def handle(self, *args: object, **options: object) -> None:
        if not settings.DEBUG:
            raise CommandError("seed_demo creates well-known logins: it runs only with DEBUG on (the embedded demo).")
        now = clock.now()
        with transaction.atomic():
            self._documents()
            self._catalog()
            staff = self._staff()
            self._customer(now, staff)
            self._usage(now, staff)
            self._sla_history(now, staff)
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
        self.stdout.write(f"  customer : {DEMO_CUSTOMER[0]} / {DEMO_CUSTOMER[1]}")
        self.stdout.write(
            f"  staff    : {DEMO_STAFF[0]} / {DEMO_STAFF[1]}  (admin at /admin/; "
            f"second factor: `make totp` prints the current code)"
        )

    def _documents(self) -> None:
        for slug, texts in DEMO_TEXTS.items():
            kind = ContractDocument.Kind.TCU if slug == "tcu" else ContractDocument.Kind.SPECIAL_CONDITIONS
            document, _ = ContractDocument.objects.get_or_create(
                slug=slug, defaults={"kind": kind, "title": texts["title"]}
            )
            version, created = DocumentVersion.objects.get_or_create(
                document=document,
                label=DEMO_LABEL,
                defaults={
                    "published_on": DEMO_EPOCH,
                    "published_at": dt.datetime.combine(DEMO_EPOCH, dt.time(), tzinfo=clock.ZURICH),
                    "summary_of_changes": "First version of the demo.",
                },
            )
            if created:
                for language in ("en", "fr", "de", "it", "es"):
                    DocumentText.objects.create(version=version, language=language, body=texts[language])

    def _catalog(self) -> None:
        """Demo plans and prices — the demo's own figures, not the provider's price list."""
        jelastic = ServiceType.objects.get(slug="jelastic-cloud")
        jelastic.special_conditions = ContractDocument.objects.get(slug="sc-jelastic-cloud")
        jelastic.save(update_fields=["special_conditions"])
        for slug, name, period, chf, eur in DEMO_PLANS:
            plan, _ = Plan.objects.get_or_create(
                service_type=ServiceType.objects.get(slug=slug), name=name, period=period
            )
            for currency, amount in (("CHF", chf), ("EUR", eur)):
                Price.objects.get_or_create(
                    plan=plan, currency=currency, valid_from=DEMO_EPOCH, defaults={"amount": Decimal(amount)}
                )
        # USE-1: Jelastic Cloud is billed by usage; fixed-price Jelastic plans of an earlier demo
        # database are withdrawn from the catalog (their Services, if any, keep their plan).
        Plan.objects.filter(service_type=jelastic, usage_based=False, is_active=True).update(is_active=False)
        usage_plan, _ = Plan.objects.get_or_create(
            service_type=jelastic, name=DEMO_USAGE_PLAN, period="monthly", defaults={"usage_based": True}
        )
        resources = {resource.slug: resource for resource in Resource.objects.all()}
        for currency, rates in DEMO_RATES.items():
            card, created = RateCard.objects.get_or_create(
                plan=usage_plan,
                currency=currency,
                valid_from=DEMO_EPOCH,
                defaults={"created_at": dt.datetime.combine(DEMO_EPOCH, dt.time(), tzinfo=clock.ZURICH)},
            )
            if created:
                Rate.objects.bulk_create(
                    [Rate(rate_card=card, resource=resources[slug], rate=Decimal(rate)) for slug, rate in rates.items()]
                )
        # BIL-8: an option billed each cycle of its Service, with a one-time activation fee — on web
        # hosting (a Jelastic Service is billed by usage and takes no add-ons: its IPv4 addresses are
        # a resource of its usage, USE-1).
        backup, _ = AddOn.objects.get_or_create(
            service_type=ServiceType.objects.get(slug="web-hosting"),
            slug="daily-backup",
            defaults={"name": "Daily backup"},
        )
        for currency, per_cycle, fee in (("CHF", "24.00", "10.00"), ("EUR", "25.00", "10.50")):
            AddOnPrice.objects.get_or_create(
                add_on=backup,
                currency=currency,
                valid_from=DEMO_EPOCH,
                defaults={"amount_per_cycle": Decimal(per_cycle), "activation_fee": Decimal(fee)},
            )

    def _staff(self) -> User:
        email, password = DEMO_STAFF
        staff = User.objects.filter(email=email).first()
        if staff is None:
            staff = User.objects.create_superuser(email, password, first_name="Sam", last_name="Staff")
        if not TOTPDevice.objects.filter(user=staff, confirmed=True).exists():
            TOTPDevice.objects.create(user=staff, name="demo", key=DEMO_TOTP_KEY, confirmed=True)
        return staff

    def _customer(self, now: dt.datetime, staff: User) -> None:
        """The demo customer joined DEMO_CUSTOMER_MONTHS before today and ordered an annual Service
        then, paid by bank transfer two days later (BIL-5): the Service is active today and its SLA
        history lies inside its first term. A second order, placed today, waits for its invoice."""
        email, password = DEMO_CUSTOMER
        if User.objects.filter(email=email).exists():
            return
        since = dt.datetime.combine(
            clock.business_date(now) - relativedelta(months=DEMO_CUSTOMER_MONTHS), dt.time(10, 0), tzinfo=clock.ZURICH
        )
        user = services.user_register(
            email=email,
            password=password,
            first_name="Dana",
            last_name="Demo",
            language="en",
            date_of_birth=dt.date(1985, 5, 17),
            now=since,
        )
        organization = services.organization_create(
            user=user,
            contact={
                "name": "Demo Cloud Sàrl",
                "contact_first_name": "Dana",
                "contact_last_name": "Demo",
                "contact_email": email,
                "mobile": "+41 79 123 45 67",
                "street": "Rue de la Démo 1",
                "postal_code": "1204",
                "city": "Genève",
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
        colleague = services.user_register(
            email="tech@example.com", password=password, first_name="Tom", last_name="Tech", language="de", now=since
        )
        # The invitation's e-mail links to PORTAL_URL (by default the port `make run` serves, PORT).
        invitation = services.member_invite(
            organization=organization, user=user, email=colleague.email, role="technical", now=since
        )
        services.invitation_accept(token=invitation.token, user=colleague, now=since + dt.timedelta(hours=1))
        sc = account_selectors.current_version(
            ContractDocument.objects.get(slug="sc-jelastic-cloud"), clock.business_date(since)
        )
        # The Jelastic Service, billed by usage (USE-1): ordered then, it starts as the type's trial.
        usage_order(
            organization=organization,
            user=user,
            plan=Plan.objects.get(service_type__slug="jelastic-cloud", name=DEMO_USAGE_PLAN, period="monthly"),
            accept_special_conditions=sc,
            now=since,
        )
        # A top-up of the Prepaid Account by bank transfer, received two days later (BIL-5, PRE-2):
        # the trial goes on as a paid Service at its end (USE-8) and the usage invoices are paid from it.
        transfer = prepaid_top_up_by_transfer(
            organization=organization, user=user, amount=Decimal(DEMO_TOP_UP), now=since + dt.timedelta(hours=1)
        )
        prepaid_top_up_transfer_received(payment=transfer, staff_user=staff, now=since + dt.timedelta(days=2))
        # An order placed today, waiting for its invoice to be paid.
        service_order(
            organization=organization,
            user=user,
            plan=Plan.objects.get(
                service_type__slug="web-hosting", name=DEMO_PENDING_PLAN[0], period=DEMO_PENDING_PLAN[1]
            ),
            now=now,
        )

    def _usage(self, now: dt.datetime, staff: User) -> None:
        """The demo Jelastic Service's usage (USE-2…USE-8), idempotent: plausible hourly values from
        its start up to the current hour, fed through the metering door's service (usage_simulate);
        at its trial's end the daily run's step makes it a paid Service (USE-8); each month before
        this one closed and invoiced as on the 1st (USE-3) and, once due, paid from the Prepaid
        Account (PRE-3); a threshold of its own (USE-5) and the customer's budget (USE-6)."""
        service = self._usage_service()
        if service is None:
            return
        customer = User.objects.get(email=DEMO_CUSTOMER[0])
        this_month = engine.month_of(clock.business_date(now))
        open_from = UsageMonth.objects.filter(service=service, closed_at__isnull=True).order_by("month").first()
        closed = UsageMonth.objects.filter(service=service, closed_at__isnull=False).order_by("-month").first()
        start = service.created_at
        if closed is not None:  # a run before closed these months: values from the first open one
            start = max(start, engine.local_midnight(engine.next_month(closed.month)))
        if open_from is not None:
            start = min(start, engine.local_midnight(open_from.month))
        days = (now - start) // dt.timedelta(days=1) + 1
        simulate(service, days=days, end=None, seed=DEMO_SEED, now=now)
        # USE-8: the trial ends at T, the run of that day makes it a paid Service (a positive balance)
        if (
            service.status == Service.Status.TRIAL
            and service.trial_ends_on
            and service.trial_ends_on <= clock.business_date(now)
        ):
            day = service.trial_ends_on
            suspend_run([service.pk], day=day, now=min(now, engine.local_midnight(day) + dt.timedelta(hours=3)))
        month = engine.month_of(clock.business_date(service.created_at))
        while month < this_month:
            first = engine.next_month(month)
            usage_invoices_issue(
                [service.pk], month, first, min(now, engine.local_midnight(first) + dt.timedelta(hours=3))
            )
            month = first
        today = clock.business_date(now)
        for invoice in Invoice.objects.filter(
            service=service, kind=Invoice.Kind.USAGE, status=Invoice.Status.OPEN, due_date__lte=today
        ).order_by("number"):
            prepaid_pay_invoice(
                invoice=invoice,
                user=customer,
                amount=invoice.amount_due,
                now=min(now, engine.local_midnight(invoice.issue_date) + dt.timedelta(days=3, hours=9)),
            )
        slug, quantity = DEMO_SERVICE_THRESHOLD
        threshold_set(
            resource=Resource.objects.get(slug=slug),
            quantity=Decimal(quantity),
            service=service,
            staff_user=staff,
            now=now,
        )
        for slug, quantity in DEMO_PLAN_THRESHOLDS.items():
            threshold_set(
                resource=Resource.objects.get(slug=slug),
                quantity=Decimal(quantity),
                plan=service.plan,
                staff_user=staff,
                now=now,
            )
        if not Budget.objects.filter(service=service).exists():
            budget_set(service=service, user=customer, amount=Decimal(DEMO_BUDGET), limit_at_budget=False, now=now)

    def _usage_service(self) -> Service | None:
        return (
            Service.objects.filter(
                organization__memberships__user__email=DEMO_CUSTOMER[0],
                plan__service_type__slug="jelastic-cloud",
                usage_based=True,
            )
            .exclude(status=Service.Status.TERMINATED)
            .select_related("plan", "organization")
            .order_by("pk")
            .first()
        )

    def _sla_history(self, now: dt.datetime, staff: User) -> None:
        """Incidents and a maintenance window over the past months, relative to today, so that the SLA
        page shows a real chart and one claimable incident, all inside the first term of the active
        Service (ordered DEMO_CUSTOMER_MONTHS ago), so an accepted claim earns a share of its paid
        order invoice (SLA-3). Recorded through `sla.services`, as staff
        would (the evidence trail holds them): incidents are idempotent by their monitoring id; the
        maintenance window, being in the past, is announced as urgent with a reason (SLA-7 refuses a
        planned one that starts in the past) and is looked up by its title before."""
        service = self._usage_service()
        if service is None:
            return
        today = clock.business_date(now)

        def zurich(day: dt.date, hour: int, minute: int) -> dt.datetime:
            return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=clock.ZURICH)

        # The claim deadline is the start + 2 calendar months (SLA-5), at most 62 days: the 12-minute
        # failure on the 12th of last month is always still claimable, the provider failures 63 days
        # back and more never are — one claimable incident whatever today is.
        last_month = (today.replace(day=1) - relativedelta(months=1)).replace(day=12)
        history = [
            # monitoring id, start, minutes, class, cause, title
            ("demo-sla-a-12min", zurich(last_month, 9, 20), 12, IncidentClass.A, Cause.PROVIDER, "Cluster unreachable"),
            # within the 5-minute allowance of class A: unavailability, but no occurrence (SLA-2)
            (
                "demo-sla-a-3min",
                zurich(today - dt.timedelta(days=63), 14, 5),
                3,
                IncidentClass.A,
                Cause.PROVIDER,
                "Load balancer restart",
            ),
            # class B: an occurrence (60 minutes allowed), not unavailability in the monthly report
            (
                "demo-sla-b-slow",
                zurich(today - dt.timedelta(days=80), 10, 0),
                75,
                IncidentClass.B,
                Cause.PROVIDER,
                "Network slowdown",
            ),
            # SLA-6/SLA-7: planned maintenance, inside the window below, earns nothing
            (
                "demo-sla-planned",
                zurich(today - dt.timedelta(days=95), 22, 10),
                35,
                IncidentClass.A,
                Cause.PLANNED_MAINTENANCE,
                "Storage upgrade",
            ),
        ]
        for external_id, started_at, minutes, incident_class, cause, title in history:
            incident_record(
                user=staff,
                incident_class=incident_class,
                cause=cause,
                title=title,
                description="Demo incident.",
                started_at=started_at,
                resolved_at=started_at + dt.timedelta(minutes=minutes),
                service_ids=[service.pk],
                external_id=external_id,
                now=now,
            )
        if not Maintenance.objects.filter(links__service=service, title="Storage upgrade").exists():
            starts_at = zurich(today - dt.timedelta(days=95), 22, 0)
            maintenance_schedule(
                user=staff,
                title="Storage upgrade",
                description="Demo maintenance window: new storage nodes.",
                starts_at=starts_at,
                ends_at=starts_at + dt.timedelta(minutes=90),
                service_ids=[service.pk],
                now=starts_at - dt.timedelta(days=7),  # SLA-7: a window is recorded before it starts
            )
