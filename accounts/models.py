import datetime as dt

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField


class Language(models.TextChoices):
    """SPEC SUP-1: the portal's five languages."""

    FR = "fr", _("French")
    EN = "en", _("English")
    DE = "de", _("German")
    IT = "it", _("Italian")
    ES = "es", _("Spanish")


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields: object) -> "User":
        if not email:
            raise ValueError("an e-mail address is required")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def get_by_natural_key(self, username: str | None) -> "User":
        """Log-in is by e-mail, whatever its case."""
        return self.get(email__iexact=username)

    def create_superuser(self, email: str, password: str | None = None, **fields: object) -> "User":
        fields.setdefault("is_staff", True)
        fields.setdefault("is_superuser", True)
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who logs in with an e-mail address; customers and staff alike."""

    email = models.EmailField(_("e-mail address"), unique=True)  # stored in lower case
    first_name = models.CharField(_("first name"), max_length=150)
    last_name = models.CharField(_("last name"), max_length=150)
    language = models.CharField(_("preferred language"), max_length=2, choices=Language.choices, default=Language.EN)
    date_of_birth = models.DateField(_("date of birth"), null=True, blank=True)
    is_staff = models.BooleanField(_("staff status"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    date_joined = models.DateTimeField(_("date joined"), auto_now_add=True)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["first_name", "last_name"]

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [models.UniqueConstraint(Lower("email"), name="user_email_unique_ci")]

    def __str__(self) -> str:
        return self.email

    def get_full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def is_minor_on(self, day: dt.date) -> bool:
        """ORG-4: under the age of majority on `day` (unknown date of birth: not known to be a minor)."""
        if self.date_of_birth is None:
            return False
        return self.date_of_birth + relativedelta(years=settings.ADULT_AGE_YEARS) > day


class Organization(models.Model):
    """The customer: holder of the contract, with its Contact Information (SPEC ORG-1)."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("active")
        BLOCKED = "blocked", _("blocked")
        TERMINATED = "terminated", _("terminated")

    class Validation(models.TextChoices):
        UNVALIDATED = "unvalidated", _("not yet validated")
        VALIDATED = "validated", _("validated")
        REJECTED = "rejected", _("details to correct")

    class Currency(models.TextChoices):
        CHF = "CHF", "CHF"
        EUR = "EUR", "EUR"

    name = models.CharField(_("organization name"), max_length=200)
    # Contact Information (ORG-1).
    contact_first_name = models.CharField(_("first name"), max_length=150)
    contact_last_name = models.CharField(_("last name"), max_length=150)
    contact_email = models.EmailField(_("contact e-mail"))
    secondary_email = models.EmailField(_("secondary e-mail"), blank=True)
    mobile = models.CharField(_("mobile phone"), max_length=20, help_text=_("E.164, e.g. +41791234567"))
    landline = models.CharField(_("landline phone"), max_length=20, blank=True)
    street = models.CharField(_("street and number"), max_length=200)
    postal_code = models.CharField(_("postal code"), max_length=20)
    city = models.CharField(_("city"), max_length=100)
    country = CountryField(_("country"))
    # Billing (ORG-10, BIL-7).
    billing_country = CountryField(_("billing country"))
    vat_number = models.CharField(_("VAT number"), max_length=32, blank=True)
    currency = models.CharField(_("currency"), max_length=3, choices=Currency.choices, default=Currency.CHF)
    language = models.CharField(_("language of correspondence"), max_length=2, choices=Language.choices)
    # Standing (ORG-2, ORG-9).
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.ACTIVE)
    status_reason = models.TextField(_("reason of the status"), blank=True)
    validation = models.CharField(
        _("validation"), max_length=12, choices=Validation.choices, default=Validation.UNVALIDATED
    )
    validated_at = models.DateTimeField(null=True, blank=True)
    validated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()
    terminated_at = models.DateTimeField(null=True, blank=True)
    # Set by a Legal Responsible: every member needs a second factor (accounts.two_factor).
    requires_two_factor = models.BooleanField(_("second factor required of every member"), default=False)
    # ENF-4 (TCU 6.3): staff refuse new orders and renewals while an invoice is unpaid past its due
    # date: when, by whom, why (accounts.services.order_hold). Empty: orders are accepted.
    orders_held_at = models.DateTimeField(_("orders and renewals refused since"), null=True, blank=True)
    orders_held_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    orders_held_reason = models.TextField(_("why orders and renewals are refused"), blank=True)

    class Meta:
        verbose_name = _("organization")
        verbose_name_plural = _("organizations")
        indexes = [models.Index(Lower("contact_email"), name="org_contact_email_ci"), models.Index(fields=["mobile"])]
        constraints = [
            # ENF-4: a hold names its staff user and reason; a lifted one keeps none of them.
            models.CheckConstraint(
                condition=(
                    Q(orders_held_at__isnull=True, orders_held_by__isnull=True, orders_held_reason="")
                    | (Q(orders_held_at__isnull=False, orders_held_by__isnull=False) & ~Q(orders_held_reason=""))
                ),
                name="order_hold_names_staff_and_reason",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def postal_address(self) -> str:
        return (
            f"{self.contact_first_name} {self.contact_last_name}\n{self.name}\n"
            f"{self.street}\n{self.postal_code} {self.city}\n{self.country.name}"
        )

    @property
    def is_blocked(self) -> bool:
        return self.status == self.Status.BLOCKED

    @property
    def orders_held(self) -> bool:
        """ENF-4: staff refuse its new orders and renewals for now."""
        return self.orders_held_at is not None


class Membership(models.Model):
    """A user's place in an Organization (SPEC ORG-5).

    A Legal Responsible is a joint holder of the contract; the working roles act for it. The
    Organization always keeps at least one Legal Responsible (enforced in accounts.services under
    a lock on the Organization row). Management rights limited to chosen Services (ORG-6) hang
    off this row: the billing app adds the Services a membership is limited to.
    """

    class Role(models.TextChoices):
        LEGAL_RESPONSIBLE = "legal_responsible", _("Legal Responsible")
        ADMINISTRATOR = "administrator", _("administrator")
        BILLING = "billing", _("billing")
        TECHNICAL = "technical", _("technical")

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="memberships", db_index=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="memberships")
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [models.UniqueConstraint(fields=["organization", "user"], name="membership_once_per_user")]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()} · {self.organization}"

    @property
    def can_manage_organization(self) -> bool:
        """Contact details and members: the Legal Responsible and administrators."""
        return self.role in (self.Role.LEGAL_RESPONSIBLE, self.Role.ADMINISTRATOR)


class Invitation(models.Model):
    """An invitation to join an Organization with a role (ORG-5). Nobody becomes a member — let alone
    a Legal Responsible, jointly liable for the contract — without accepting it, logged in with the
    invited e-mail address."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="invitations")
    email = models.EmailField()  # lower case
    role = models.CharField(max_length=20, choices=Membership.Role.choices)
    token = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "email"],
                condition=Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="one_open_invitation_per_email",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.email} → {self.organization} ({self.role})"

    def is_open(self, now: dt.datetime) -> bool:
        return self.accepted_at is None and self.revoked_at is None and now < self.expires_at


class GuardianAuthorization(models.Model):
    """ORG-4: a minor may be Legal Responsible only with a legal representative's authorization
    letter **and** that representative's identity verified, both recorded by staff; staff may
    still refuse."""

    class Decision(models.TextChoices):
        PENDING = "pending", _("pending")
        APPROVED = "approved", _("approved")
        REFUSED = "refused", _("refused")

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="guardian_authorizations", db_index=False
    )
    minor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    representative_name = models.CharField(max_length=200, blank=True)
    letter_received_at = models.DateTimeField(null=True, blank=True)
    identity_verified_at = models.DateTimeField(null=True, blank=True)
    decision = models.CharField(max_length=8, choices=Decision.choices, default=Decision.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField(blank=True)

    class Meta:
        verbose_name = _("guardian authorization")
        verbose_name_plural = _("guardian authorizations")
        constraints = [
            models.UniqueConstraint(fields=["organization", "minor"], name="guardian_authorization_once"),
            models.CheckConstraint(
                condition=~Q(decision="approved")
                | (Q(letter_received_at__isnull=False) & Q(identity_verified_at__isnull=False)),
                name="guardian_approval_needs_letter_and_identity",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.minor} · {self.organization} · {self.decision}"


class ContractDocument(models.Model):
    """The TCU, or the Special Conditions of a service type (SPEC ORG-7, ORG-8)."""

    class Kind(models.TextChoices):
        TCU = "tcu", _("Terms and Conditions of Use")
        SPECIAL_CONDITIONS = "special_conditions", _("Special Conditions")

    slug = models.SlugField(unique=True)  # "tcu", "sc-jelastic-cloud", …
    kind = models.CharField(max_length=20, choices=Kind.choices)
    title = models.CharField(max_length=200)

    class Meta:
        verbose_name = _("contract document")
        constraints = [
            models.UniqueConstraint(fields=["kind"], condition=Q(kind="tcu"), name="one_tcu_document"),
        ]

    def __str__(self) -> str:
        return self.title


class DocumentVersion(models.Model):
    """One dated version of a contract document; its texts per language are DocumentText rows.

    Published versions never change: a change is a new version (ORG-8).
    """

    document = models.ForeignKey(ContractDocument, on_delete=models.PROTECT, related_name="versions", db_index=False)
    label = models.CharField(_("version"), max_length=32)  # e.g. "2026-03"
    published_on = models.DateField(_("published on"), null=True, blank=True)  # None: draft
    summary_of_changes = models.TextField(blank=True)
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("document version")
        verbose_name_plural = _("document versions")
        ordering = ["document", "-published_on", "-id"]
        constraints = [models.UniqueConstraint(fields=["document", "label"], name="document_version_label_unique")]

    def __str__(self) -> str:
        return f"{self.document.title} {self.label}"


class DocumentText(models.Model):
    """A version's text in one language: a body entered by staff, or a link to it."""

    version = models.ForeignKey(DocumentVersion, on_delete=models.PROTECT, related_name="texts", db_index=False)
    language = models.CharField(max_length=2, choices=Language.choices)
    body = models.TextField(blank=True)
    url = models.URLField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["version", "language"], name="document_text_once_per_language"),
            models.CheckConstraint(condition=~Q(body="") | ~Q(url=""), name="document_text_body_or_url"),
        ]

    def __str__(self) -> str:
        return f"{self.version} ({self.language})"


class DocumentNotice(models.Model):
    """An Organization told of a new version of a document it is bound by (ORG-8)."""

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="document_notices", db_index=False
    )
    version = models.ForeignKey(DocumentVersion, on_delete=models.PROTECT, related_name="notices")
    notified_at = models.DateTimeField()

    class Meta:
        verbose_name = _("document notice")
        verbose_name_plural = _("document notices")
        constraints = [models.UniqueConstraint(fields=["organization", "version"], name="document_notice_once")]

    def __str__(self) -> str:
        return f"{self.organization} · {self.version}"


class Acceptance(models.Model):
    """An Organization bound by a document version (ORG-7): accepted by one of its users — who,
    when, from which address — or deemed accepted 30 days after notification (ORG-8)."""

    class Method(models.TextChoices):
        EXPLICIT = "explicit", _("accepted")
        DEEMED = "deemed", _("deemed accepted")

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="acceptances", db_index=False)
    version = models.ForeignKey(DocumentVersion, on_delete=models.PROTECT, related_name="acceptances")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    method = models.CharField(max_length=8, choices=Method.choices)
    language = models.CharField(max_length=2, choices=Language.choices, blank=True)
    accepted_at = models.DateTimeField()
    client_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        verbose_name = _("acceptance")
        verbose_name_plural = _("acceptances")
        constraints = [
            models.UniqueConstraint(fields=["organization", "version"], name="acceptance_once_per_version"),
            models.CheckConstraint(
                condition=Q(method="deemed") | Q(user__isnull=False), name="explicit_acceptance_names_user"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organization} · {self.version} · {self.method}"


class ApiToken(models.Model):
    """An API token (`Authorization: Token <key>`). The key is shown once, when issued; only its
    SHA-256 digest is kept. A token expires (API_TOKEN_DAYS), may be revoked (kept, for the record),
    and carries a scope: "full" (everything the user may do) or the one job of a machine account
    ("monitoring", "metering"), refused everywhere else (accounts.permissions)."""

    class Scope(models.TextChoices):
        FULL = "full", _("full access")
        MONITORING = "monitoring", _("monitoring only")
        METERING = "metering", _("metering only")

    class RevokedBecause(models.TextChoices):
        USER = "user", _("revoked by its owner")
        PASSWORD = "password", _("password changed")
        TWO_FACTOR = "two_factor", _("second factor required")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100, blank=True)
    key_digest = models.CharField(max_length=64)  # SHA-256 of the key, hex; the key itself is never stored
    prefix = models.CharField(_("key begins with"), max_length=8)
    scope = models.CharField(_("scope"), max_length=12, choices=Scope.choices, default=Scope.FULL)
    created_at = models.DateTimeField(_("created"))
    expires_at = models.DateTimeField(_("expires"))
    # Updated at most once a minute (accounts.authentication.LAST_USE_PRECISION).
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    revoked_because = models.CharField(max_length=12, choices=RevokedBecause.choices, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        constraints = [
            models.UniqueConstraint(fields=["key_digest"], name="api_token_key_digest_unique"),
            models.CheckConstraint(
                condition=Q(revoked_at__isnull=True) | ~Q(revoked_because=""), name="api_token_revoked_has_reason"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    def is_expired(self, now: dt.datetime) -> bool:
        return self.expires_at <= now


class RecoveryCode(models.Model):
    """A one-time code that stands in for the second factor (a lost phone). Shown once when made;
    only its digest is kept; used once (`used_at`). Making new ones deletes the old ones."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="recovery_codes", db_index=False
    )
    code_digest = models.CharField(max_length=64)  # SHA-256 of "<user id>:<code>", hex
    created_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("recovery code")
        verbose_name_plural = _("recovery codes")
        constraints = [models.UniqueConstraint(fields=["user", "code_digest"], name="recovery_code_once_per_user")]

    def __str__(self) -> str:
        return f"recovery code of {self.user}"
