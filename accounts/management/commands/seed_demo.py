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
from billing.models import AddOn, AddOnPrice, Plan, Price, Service, ServiceType
from billing.services.orders import service_order
from billing.services.payments import bank_transfer_record
from core import clock
from sla.models import Cause, IncidentClass, Maintenance
from sla.services import incident_record, maintenance_schedule

DEMO_CUSTOMER = ("demo@example.com", "demo-portal-2026")
DEMO_STAFF = ("staff@example.com", "staff-portal-2026")
# The demo staff user's TOTP key (hex). Demo only: `make totp` prints the current code.
DEMO_TOTP_KEY = "3132333435363738393031323334353637383930"

# The day the demo's documents and prices take effect: far enough back that the demo customer, who
# joined months before today (see `_customer`), found them in force on every day the tests travel to.
DEMO_EPOCH = dt.date(2025, 1, 1)
DEMO_LABEL = f"{DEMO_EPOCH:%Y-%m}"
# How long before today the demo customer joined and ordered their Service: its SLA history (the
# oldest entry 95 days back, see `_sla_history`) falls inside the Service's first term.
DEMO_CUSTOMER_MONTHS = 4
# The demo's active Service: an annual plan, so one paid order invoice covers its whole history
# (SLA-3: the penalty is a share of the invoice covering the incident) and it is not due today.
DEMO_ACTIVE_PLAN = ("Demo Cloud M", "annual")
DEMO_PENDING_PLAN = ("Demo Cloud M", "monthly")

# service type, plan, period, CHF and EUR prices excluding VAT (demo figures)
DEMO_PLANS = [
    ("jelastic-cloud", "Demo Cloud S", "monthly", "19.00", "19.50"),
    ("jelastic-cloud", "Demo Cloud M", "monthly", "49.00", "50.00"),
    ("jelastic-cloud", "Demo Cloud M", "annual", "490.00", "500.00"),
    ("web-hosting", "Demo Hosting", "annual", "120.00", "125.00"),
    ("housing", "Demo Housing 1U", "monthly", "150.00", "155.00"),
]

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
        # BIL-8: an option billed each cycle of its Service, with a one-time activation fee.
        public_ip, _ = AddOn.objects.get_or_create(
            service_type=jelastic, slug="public-ip", defaults={"name": "Public IPv4 address"}
        )
        for currency, per_cycle, fee in (("CHF", "3.00", "5.00"), ("EUR", "3.10", "5.20")):
            AddOnPrice.objects.get_or_create(
                add_on=public_ip,
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
        plans = Plan.objects.filter(service_type__slug="jelastic-cloud")
        # One Service paid by bank transfer (active), one order waiting for its invoice to be paid.
        _, paid = service_order(
            organization=organization,
            user=user,
            plan=plans.get(name=DEMO_ACTIVE_PLAN[0], period=DEMO_ACTIVE_PLAN[1]),
            accept_special_conditions=sc,
            now=since,
        )
        bank_transfer_record(
            invoice=paid,
            amount=paid.total_incl_vat,
            reference="DEMO-TRANSFER-1",
            staff_user=staff,
            now=since + dt.timedelta(days=2),
        )
        service_order(
            organization=organization,
            user=user,
            plan=plans.get(name=DEMO_PENDING_PLAN[0], period=DEMO_PENDING_PLAN[1]),
            now=now,
        )

    def _sla_history(self, now: dt.datetime, staff: User) -> None:
        """Incidents and a maintenance window over the past months, relative to today, so that the SLA
        page shows a real chart and one claimable incident, all inside the first term of the active
        Service (ordered DEMO_CUSTOMER_MONTHS ago), so an accepted claim earns a share of its paid
        order invoice (SLA-3). Recorded through `sla.services`, as staff
        would (the evidence trail holds them): incidents are idempotent by their monitoring id; the
        maintenance window, being in the past, is announced as urgent with a reason (SLA-7 refuses a
        planned one that starts in the past) and is looked up by its title before."""
        service = (
            Service.objects.filter(
                organization__memberships__user__email=DEMO_CUSTOMER[0],
                plan__service_type__slug="jelastic-cloud",
                status=Service.Status.ACTIVE,
            )
            .order_by("pk")
            .first()
        )
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
