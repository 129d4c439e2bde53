from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

from accounts import document_services, passwords, services
from accounts.http import AuthenticatedHttpRequest
from accounts.models import (
    Acceptance,
    ContractDocument,
    DocumentNotice,
    DocumentText,
    DocumentVersion,
    GuardianAuthorization,
    Invitation,
    Membership,
    Organization,
    User,
)
from audit.admin_mixins import AuditedChangesMixin, StaffAccessAuditMixin
from audit.services import Actor
from core import clock
from core.admin import ReadOnlyAdmin, reason_action, run_each
from core.http import client_address


@admin.register(User)
class UserAdmin(AuditedChangesMixin, DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "first_name", "last_name", "language", "is_staff", "is_active"]
    search_fields = ["email", "first_name", "last_name"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Person"), {"fields": ("first_name", "last_name", "language", "date_of_birth")}),
        (_("Permissions"), {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("email", "first_name", "last_name", "password1", "password2")}),
    )
    readonly_fields = ["date_joined"]

    def user_change_password(self, request: HttpRequest, id: str, form_url: str = "") -> HttpResponse:
        """The staff site's password form: once it saved a new password, every API token of the user
        is revoked, as on the customer's own change (accounts.passwords)."""
        response = super().user_change_password(request, id, form_url)
        if request.method == "POST" and response.status_code == 302:
            passwords.tokens_revoked_for_password(
                user=User.objects.get(pk=id),
                actor=Actor.for_user(request.user, client_address=client_address(request)),
                now=clock.now(),
            )
        return response


class MembershipInline(admin.TabularInline):
    model = Membership
    fields = ("user", "role", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class OrdersHeldFilter(admin.SimpleListFilter):
    title = _("orders held (ENF-4)")
    parameter_name = "orders_held"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("yes", str(_("Yes"))), ("no", str(_("No")))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Organization]) -> QuerySet[Organization]:
        if self.value() in ("yes", "no"):
            return queryset.filter(orders_held_at__isnull=self.value() == "no")
        return queryset


@admin.register(Organization)
class OrganizationAdmin(StaffAccessAuditMixin, admin.ModelAdmin):
    """Staff read an Organization (recorded, EVD-2) and act on it only through the actions,
    which call the services: validate / ask for corrections, block / unblock with a reason (ORG-2)."""

    list_display = ["name", "contact_email", "country", "status", "validation", "orders_held", "created_at"]
    list_filter = ["status", "validation", OrdersHeldFilter, "currency", "billing_country"]
    search_fields = ["name", "contact_email", "mobile", "contact_last_name"]
    inlines = [MembershipInline]
    actions = ["validate", "ask_correction", "block", "unblock", "hold_orders", "release_orders"]

    @admin.display(boolean=True, description=_("orders held (ENF-4)"))
    def orders_held(self, obj: Organization) -> bool:
        return obj.orders_held

    def organization_of(self, obj: Model) -> Model:
        return obj

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # read-only: staff act through the actions below

    def has_act_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("accounts.change_organization")

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.action(description=_("Validate the details (ORG-2)"), permissions=["act"])
    def validate(self, request: AuthenticatedHttpRequest, queryset: QuerySet[Organization]) -> None:
        run_each(
            self,
            request,
            queryset,
            lambda org: services.organization_validate(
                organization=org, staff_user=request.user, valid=True, now=clock.now()
            ),
        )

    @admin.action(description=_("Ask for corrections of the details (ORG-2)"), permissions=["act"])
    def ask_correction(
        self, request: AuthenticatedHttpRequest, queryset: QuerySet[Organization]
    ) -> HttpResponse | None:
        return reason_action(
            self,
            request,
            queryset,
            title=_("Ask for corrections"),
            apply=lambda org, reason: services.organization_validate(
                organization=org, staff_user=request.user, valid=False, reason=reason, now=clock.now()
            ),
        )

    @admin.action(description=_("Block, with a reason told to the customer (ORG-2)"), permissions=["act"])
    def block(self, request: AuthenticatedHttpRequest, queryset: QuerySet[Organization]) -> HttpResponse | None:
        return reason_action(
            self,
            request,
            queryset,
            title=_("Block organizations"),
            apply=lambda org, reason: services.organization_block(
                organization=org, staff_user=request.user, reason=reason, now=clock.now()
            ),
        )

    @admin.action(description=_("Unblock, with a reason told to the customer (ORG-2)"), permissions=["act"])
    def unblock(self, request: AuthenticatedHttpRequest, queryset: QuerySet[Organization]) -> HttpResponse | None:
        return reason_action(
            self,
            request,
            queryset,
            title=_("Unblock organizations"),
            apply=lambda org, reason: services.organization_unblock(
                organization=org, staff_user=request.user, reason=reason, now=clock.now()
            ),
        )


    @admin.action(
        description=_("Hold new orders and renewals: an invoice is unpaid past its due date (ENF-4)"),
        permissions=["act"],
    )
    def hold_orders(self, request: AuthenticatedHttpRequest, queryset: QuerySet[Organization]) -> HttpResponse | None:
        return reason_action(
            self,
            request,
            queryset,
            title=_("Hold new orders and renewals"),
            apply=lambda org, reason: services.organization_hold_orders(
                organization=org, staff_user=request.user, reason=reason, now=clock.now()
            ),
        )

    @admin.action(description=_("Accept orders and renewals again, with a reason (ENF-4)"), permissions=["act"])
    def release_orders(
        self, request: AuthenticatedHttpRequest, queryset: QuerySet[Organization]
    ) -> HttpResponse | None:
        return reason_action(
            self,
            request,
            queryset,
            title=_("Accept orders and renewals again"),
            apply=lambda org, reason: services.organization_release_orders(
                organization=org, staff_user=request.user, reason=reason, now=clock.now()
            ),
        )


@admin.register(Membership)
class MembershipAdmin(StaffAccessAuditMixin, ReadOnlyAdmin):
    list_display = ["user", "organization", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__email", "organization__name"]
    list_select_related = ["user", "organization"]


@admin.register(Invitation)
class InvitationAdmin(StaffAccessAuditMixin, ReadOnlyAdmin):
    list_display = [
        "email",
        "organization",
        "role",
        "invited_by",
        "created_at",
        "expires_at",
        "accepted_at",
        "revoked_at",
    ]
    list_select_related = ["organization", "invited_by"]
    search_fields = ["email", "organization__name"]
    exclude = ["token"]  # the token is the invitee's key: staff never need it


@admin.register(GuardianAuthorization)
class GuardianAuthorizationAdmin(StaffAccessAuditMixin, ReadOnlyAdmin):
    def has_act_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("accounts.change_guardianauthorization")

    list_display = [
        "minor",
        "organization",
        "representative_name",
        "letter_received_at",
        "identity_verified_at",
        "decision",
    ]
    list_filter = ["decision"]
    actions = ["record_letter", "record_identity", "approve", "refuse"]

    @admin.action(description=_("Record the authorization letter as received (ORG-4)"), permissions=["act"])
    def record_letter(self, request: AuthenticatedHttpRequest, queryset: QuerySet[GuardianAuthorization]) -> None:
        run_each(
            self,
            request,
            queryset,
            lambda item: document_services.guardian_authorization_record(
                authorization=item, staff_user=request.user, letter=True, now=clock.now()
            ),
        )

    @admin.action(description=_("Record the representative's identity as verified (ORG-4)"), permissions=["act"])
    def record_identity(self, request: AuthenticatedHttpRequest, queryset: QuerySet[GuardianAuthorization]) -> None:
        run_each(
            self,
            request,
            queryset,
            lambda item: document_services.guardian_authorization_record(
                authorization=item, staff_user=request.user, identity=True, now=clock.now()
            ),
        )

    @admin.action(description=_("Approve (ORG-4)"), permissions=["act"])
    def approve(self, request: AuthenticatedHttpRequest, queryset: QuerySet[GuardianAuthorization]) -> None:
        run_each(
            self,
            request,
            queryset,
            lambda item: document_services.guardian_authorization_decide(
                authorization=item, staff_user=request.user, approve=True, now=clock.now()
            ),
        )

    @admin.action(description=_("Refuse, with a reason (ORG-4)"), permissions=["act"])
    def refuse(
        self, request: AuthenticatedHttpRequest, queryset: QuerySet[GuardianAuthorization]
    ) -> HttpResponse | None:
        return reason_action(
            self,
            request,
            queryset,
            title=_("Refuse authorizations"),
            apply=lambda item, reason: document_services.guardian_authorization_decide(
                authorization=item, staff_user=request.user, approve=False, reason=reason, now=clock.now()
            ),
        )


@admin.register(ContractDocument)
class ContractDocumentAdmin(AuditedChangesMixin, admin.ModelAdmin):
    list_display = ["title", "slug", "kind"]
    prepopulated_fields = {"slug": ["title"]}

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class DocumentTextInline(admin.StackedInline):
    model = DocumentText
    extra = 1

    def _editable(self, request: HttpRequest, obj: DocumentVersion | None) -> bool:
        allowed = request.user.has_perm("accounts.change_documentversion")
        return allowed and (obj is None or obj.published_at is None)

    def has_add_permission(self, request: HttpRequest, obj: DocumentVersion | None = None) -> bool:
        return self._editable(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: DocumentVersion | None = None) -> bool:
        return self._editable(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: DocumentVersion | None = None) -> bool:
        return self._editable(request, obj)


@admin.register(DocumentVersion)
class DocumentVersionAdmin(AuditedChangesMixin, admin.ModelAdmin):
    """Staff write a version (a body or a link per language) as a draft, then publish it: the
    Organizations bound by an earlier version are notified (ORG-8). Published versions are frozen."""

    list_display = ["document", "label", "published_on", "published_at"]
    list_filter = ["document"]
    inlines = [DocumentTextInline]
    actions = ["publish"]
    fields = ["document", "label", "summary_of_changes", "published_on", "published_at"]
    readonly_fields = ["published_on", "published_at"]

    def has_change_permission(self, request: HttpRequest, obj: DocumentVersion | None = None) -> bool:
        return super().has_change_permission(request, obj) and (obj is None or obj.published_at is None)

    def has_delete_permission(self, request: HttpRequest, obj: DocumentVersion | None = None) -> bool:
        return super().has_delete_permission(request, obj) and obj is not None and obj.published_at is None

    @admin.action(description=_("Publish and notify the organizations concerned (ORG-8)"), permissions=["change"])
    def publish(self, request: AuthenticatedHttpRequest, queryset: QuerySet[DocumentVersion]) -> None:
        run_each(
            self,
            request,
            queryset,
            lambda version: document_services.document_version_publish(
                version=version, staff_user=request.user, now=clock.now()
            ),
        )


@admin.register(Acceptance)
class AcceptanceAdmin(StaffAccessAuditMixin, ReadOnlyAdmin):
    list_display = ["organization", "version", "method", "user", "accepted_at", "client_address"]
    list_filter = ["method", "version__document"]
    list_select_related = ["organization", "version__document", "user"]


@admin.register(DocumentNotice)
class DocumentNoticeAdmin(StaffAccessAuditMixin, ReadOnlyAdmin):
    list_display = ["organization", "version", "notified_at"]
    list_select_related = ["organization", "version__document"]
