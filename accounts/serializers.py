from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from accounts.models import Acceptance, ApiToken, Invitation, Membership, Organization, User
from accounts.services import CONTACT_FIELDS
from core.api import IdField


class MembershipSummarySerializer(serializers.ModelSerializer):
    organization_id = serializers.IntegerField(source="organization.id")
    organization_name = serializers.CharField(source="organization.name")

    class Meta:
        model = Membership
        fields = ["organization_id", "organization_name", "role"]


class MeSerializer(serializers.ModelSerializer):
    memberships = MembershipSummarySerializer(many=True, read_only=True)

    class Meta:
        model = User
        fields = ["id", "email", "first_name", "last_name", "language", "date_of_birth", "memberships"]


class OrganizationSerializer(serializers.ModelSerializer):
    country = serializers.CharField(source="country.code")
    billing_country = serializers.CharField(source="billing_country.code")

    class Meta:
        model = Organization
        fields = ["id", *CONTACT_FIELDS, "status", "validation", "created_at"]


class ContactInputSerializer(serializers.Serializer):
    """Contact Information as sent; the service validates it (ORG-1, ORG-10)."""

    name = serializers.CharField(required=False)
    contact_first_name = serializers.CharField(required=False)
    contact_last_name = serializers.CharField(required=False)
    contact_email = serializers.CharField(required=False)
    secondary_email = serializers.CharField(required=False, allow_blank=True)
    mobile = serializers.CharField(required=False, help_text=_("E.164, e.g. +41791234567; must be a mobile number."))
    landline = serializers.CharField(required=False, allow_blank=True)
    street = serializers.CharField(required=False)
    postal_code = serializers.CharField(required=False)
    city = serializers.CharField(required=False)
    country = serializers.CharField(required=False, help_text=_("ISO 3166 alpha-2 code."))
    billing_country = serializers.CharField(required=False, help_text=_("ISO 3166 alpha-2 code."))
    vat_number = serializers.CharField(required=False, allow_blank=True)
    currency = serializers.ChoiceField(required=False, choices=Organization.Currency.choices)
    language = serializers.CharField(required=False)


class OrganizationCreateSerializer(ContactInputSerializer):
    accept_tcu_version = IdField(help_text=_("Id of the TCU version in force, accepted."))
    date_of_birth = serializers.DateField(required=False, help_text=_("The Legal Responsible's, if not on file."))


class MemberSerializer(serializers.ModelSerializer):
    email = serializers.EmailField(source="user.email", read_only=True)
    first_name = serializers.CharField(source="user.first_name", read_only=True)
    last_name = serializers.CharField(source="user.last_name", read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "email", "first_name", "last_name", "role", "created_at"]


class InvitationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Invitation
        fields = ["id", "email", "role", "created_at", "expires_at"]


class MemberAddSerializer(serializers.Serializer):
    email = serializers.EmailField()
    role = serializers.ChoiceField(choices=Membership.Role.choices)


class MemberRoleSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Membership.Role.choices)


class TerminateSerializer(serializers.Serializer):
    password = serializers.CharField(write_only=True)


class AcceptanceSerializer(serializers.ModelSerializer):
    document = serializers.CharField(source="version.document.slug")
    version = serializers.CharField(source="version.label")
    user = serializers.EmailField(source="user.email", allow_null=True, default=None)

    class Meta:
        model = Acceptance
        fields = ["id", "document", "version", "method", "user", "accepted_at"]


class PendingDocumentSerializer(serializers.Serializer):
    version_id = serializers.IntegerField(source="version.id")
    document = serializers.CharField(source="version.document.slug")
    title = serializers.CharField(source="version.document.title")
    version = serializers.CharField(source="version.label")
    published_on = serializers.DateField(source="version.published_on")
    deemed_accepted_on = serializers.DateField(source="deadline", allow_null=True)


class DocumentsSerializer(serializers.Serializer):
    """The Organization's contract documents: the versions still to accept (ORG-8) and its acceptances."""

    pending = PendingDocumentSerializer(many=True)
    accepted = AcceptanceSerializer(many=True)


class TokenRequestSerializer(serializers.Serializer):
    email = serializers.EmailField()
    password = serializers.CharField(write_only=True)
    otp = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        max_length=20,
        help_text="With a second factor on: the 6-digit code of the authenticator app, or a recovery code.",
    )
    name = serializers.CharField(
        required=False, allow_blank=True, max_length=100, help_text="A label, to recognise the token in the list."
    )
    scope = serializers.ChoiceField(
        choices=ApiToken.Scope.choices,
        required=False,
        help_text='Default: "full"; a monitoring or metering account always gets its own scope.',
    )


class ApiTokenSerializer(serializers.ModelSerializer):
    expired = serializers.SerializerMethodField()

    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "scope", "created_at", "expires_at", "last_used_at", "expired"]

    def get_expired(self, token: ApiToken) -> bool:
        return token.is_expired(self.context["now"])


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Send it as `Authorization: Token <token>`. Shown this once only.")
    id = serializers.IntegerField()
    name = serializers.CharField()
    scope = serializers.ChoiceField(choices=ApiToken.Scope.choices)
    expires_at = serializers.DateTimeField()


class MemberServicesSerializer(serializers.Serializer):
    service_ids = serializers.ListField(child=IdField(), allow_empty=True)
