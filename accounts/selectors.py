"""Reads of the accounts app: what a user may see, documents in force, what is pending."""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Prefetch, QuerySet
from django.http import Http404
from django_otp.plugins.otp_totp.models import TOTPDevice

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
from core import clock
from core.request_memo import memoized


def organizations_for_user(user: User) -> QuerySet[Organization]:
    """Tenancy: the only Organizations a user may ever see are those they are a member of."""
    return Organization.objects.filter(memberships__user=user).order_by("name", "id")


def user_memberships(user: User) -> list[Membership]:
    """The user's memberships with their Organizations, each carrying `limited_to_services` (ORG-6:
    whether it is limited to some Services, read with it as its role is: the pages and endpoints
    behind it read their rows through that scope; subscriptions.selectors) and `enrolled` (whether
    the user has turned a second factor on: accounts.two_factor). One query, asked once per request
    (core.request_memo): the second factor's check on every page and membership_for both read it."""
    from accounts.two_factor import DEVICE_NAME  # accounts.two_factor reads this module

    enrolled = TOTPDevice.objects.filter(user=user, name=DEVICE_NAME, confirmed=True)
    limited = Membership.objects.filter(pk=OuterRef("pk"), service_scopes__isnull=False)
    return memoized(
        ("user_memberships", user.pk),
        lambda: list(
            Membership.objects.filter(user=user)
            .select_related("organization")
            .annotate(limited_to_services=Exists(limited), enrolled=Exists(enrolled))
            .order_by("pk")
        ),
    )


def membership_for(*, user: User, organization_id: int) -> Membership:
    """The user's membership of that Organization, or 404 — never a hint that it exists."""
    for membership in user_memberships(user):
        if membership.organization_id == int(organization_id):
            return membership
    raise Http404("No such organization.")


def members_of(organization: Organization) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(organization=organization)
        .select_related("user")
        .order_by("user__last_name", "user__first_name", "id")
    )


def open_invitations(organization: Organization, now: dt.datetime) -> QuerySet[Invitation]:
    return Invitation.objects.filter(
        organization=organization, accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now
    ).order_by("email")


def invitation_of(*, organization: Organization, invitation_id: int) -> Invitation:
    invitation = Invitation.objects.filter(organization=organization, pk=invitation_id).first()
    if invitation is None:
        raise Http404("No such invitation.")
    return invitation


def member_of(*, organization: Organization, membership_id: int) -> Membership:
    membership = members_of(organization).filter(pk=membership_id).first()
    if membership is None:
        raise Http404("No such member.")
    return membership


def legal_responsible_count(organization: Organization) -> int:
    return Membership.objects.filter(organization=organization, role=Membership.Role.LEGAL_RESPONSIBLE).count()


def current_version(document: ContractDocument, day: dt.date) -> DocumentVersion | None:
    """The version in force on `day`: the latest published on or before it (ORG-8)."""
    return (
        document.versions.filter(published_on__lte=day, published_at__isnull=False)
        .order_by("-published_on", "-id")
        .prefetch_related("texts")
        .first()
    )


def _tcu_in_force(day: dt.date) -> QuerySet[DocumentVersion]:
    """The TCU's versions in force on `day`, the current one first (current_version's order), with
    their document: one query, not one for the document and one for its versions (there is at most
    one TCU document: the one_tcu_document constraint)."""
    return (
        DocumentVersion.objects.filter(
            document__kind=ContractDocument.Kind.TCU, published_on__lte=day, published_at__isnull=False
        )
        .select_related("document")
        .order_by("-published_on", "-id")
    )


def current_tcu(day: dt.date) -> DocumentVersion | None:
    return _tcu_in_force(day).prefetch_related("texts").first()


def version_text(version: DocumentVersion, language: str) -> DocumentText | None:
    """The text in `language`, else English, else any."""
    texts = {text.language: text for text in version.texts.all()}
    return texts.get(language) or texts.get("en") or next(iter(texts.values()), None)


@dataclass(frozen=True)
class PendingDocument:
    version: DocumentVersion
    deadline: dt.date | None  # deemed accepted on this day if not accepted before (ORG-8)


def documents_to_accept(organization: Organization, day: dt.date, deemed_after_days: int) -> list[PendingDocument]:
    """Versions in force that bind the Organization and that it has not accepted yet (ORG-7, ORG-8):
    the current TCU, and every version it was notified of."""
    pending: dict[int, PendingDocument] = {}
    notices = (
        DocumentNotice.objects.filter(organization=organization)
        .annotate(accepted=Exists(Acceptance.objects.filter(organization=organization, version=OuterRef("version"))))
        .filter(accepted=False)
        .select_related("version__document")
    )
    for notice in notices:
        deadline = clock.business_date(notice.notified_at) + dt.timedelta(days=deemed_after_days)
        pending[notice.version_id] = PendingDocument(version=notice.version, deadline=deadline)
    # The current TCU and whether the Organization accepted it, in one query (none of the callers
    # reads the versions' texts).
    tcu = (
        _tcu_in_force(day)
        .annotate(accepted=Exists(Acceptance.objects.filter(organization=organization, version=OuterRef("pk"))))
        .first()
    )
    if tcu and tcu.pk not in pending and not tcu.accepted:  # type: ignore[attr-defined]
        pending[tcu.pk] = PendingDocument(version=tcu, deadline=None)
    return sorted(pending.values(), key=lambda item: item.version.pk)


def acceptances_of(organization: Organization) -> QuerySet[Acceptance]:
    return (
        Acceptance.objects.filter(organization=organization)
        .select_related("version__document", "user")
        .order_by("-accepted_at", "-id")
    )


def unauthorised_minors(organization: Organization, day: dt.date) -> list[User]:
    """ORG-4: Legal Responsibles who are minors on `day` without an approved authorization."""
    legal = Membership.objects.filter(organization=organization, role=Membership.Role.LEGAL_RESPONSIBLE).select_related(
        "user"
    )
    approved = set(
        GuardianAuthorization.objects.filter(
            organization=organization, decision=GuardianAuthorization.Decision.APPROVED
        ).values_list("minor_id", flat=True)
    )
    return [m.user for m in legal if m.user.is_minor_on(day) and m.user_id not in approved]


def organizations_with_members(user: User) -> QuerySet[Organization]:
    return organizations_for_user(user).prefetch_related(
        Prefetch("memberships", queryset=Membership.objects.select_related("user"))
    )
