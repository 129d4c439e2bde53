import datetime as dt

import factory
from django.utils import timezone

from accounts.models import (
    Acceptance,
    ContractDocument,
    DocumentText,
    DocumentVersion,
    Membership,
    Organization,
    User,
)

PASSWORD = "correct-horse-battery-staple"
FIXED_TIME = dt.datetime(2026, 1, 5, 10, 0, tzinfo=dt.UTC)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    first_name = "Alice"
    last_name = factory.Sequence(lambda n: f"Member{n}")
    language = "en"
    date_of_birth = dt.date(1980, 1, 1)
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @classmethod
    def _after_postgeneration(cls, instance: User, create: bool, results: dict | None = None) -> None:
        if create:
            instance.save()


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Organization {n}")
    contact_first_name = "Alice"
    contact_last_name = "Holder"
    contact_email = factory.Sequence(lambda n: f"contact{n}@example.com")
    mobile = "+41791234567"
    street = "Rue du Test 1"
    postal_code = "1200"
    city = "Genève"
    country = "CH"
    billing_country = "CH"
    language = "en"
    created_at = FIXED_TIME


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    organization = factory.SubFactory(OrganizationFactory)
    user = factory.SubFactory(UserFactory)
    role = Membership.Role.LEGAL_RESPONSIBLE
    created_at = FIXED_TIME


class ContractDocumentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ContractDocument
        django_get_or_create = ("slug",)

    slug = "tcu"
    kind = ContractDocument.Kind.TCU
    title = "Terms and Conditions of Use"


class DocumentVersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DocumentVersion
        skip_postgeneration_save = True

    document = factory.SubFactory(ContractDocumentFactory)
    label = factory.Sequence(lambda n: f"2026-{n:02d}")
    published_on = dt.date(2026, 1, 1)
    published_at = FIXED_TIME
    text = factory.RelatedFactory("tests.factories.DocumentTextFactory", factory_related_name="version")


class DocumentTextFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DocumentText

    version = factory.SubFactory(DocumentVersionFactory)
    language = "en"
    body = "Summary of the terms for tests."


class AcceptanceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Acceptance

    organization = factory.SubFactory(OrganizationFactory)
    version = factory.SubFactory(DocumentVersionFactory)
    user = factory.SubFactory(UserFactory)
    method = Acceptance.Method.EXPLICIT
    accepted_at = factory.LazyFunction(timezone.now)


def member(
    role: str = Membership.Role.LEGAL_RESPONSIBLE, organization: Organization | None = None, **user_fields: object
) -> Membership:
    """A user with a membership of `organization` (a new one by default)."""
    organization = organization or OrganizationFactory()
    return MembershipFactory(organization=organization, user=UserFactory(**user_fields), role=role)
