"""The Organization's dashboard: what needs the member's attention (dashboard.selectors). The
Organization resolves through the user's memberships: another Organization answers 404."""

from django.http import HttpResponse
from django.shortcuts import render

from accounts.http import AuthenticatedHttpRequest
from accounts.models import Membership
from accounts.views import member_required
from core import clock
from dashboard.selectors import CARD_ROWS, RENEWAL_HORIZON_DAYS, dashboard_for


@member_required
def dashboard(request: AuthenticatedHttpRequest, membership: Membership) -> HttpResponse:
    return render(
        request,
        "dashboard/organization.html",
        {
            "organization": membership.organization,
            "membership": membership,
            "section": "dashboard",
            "board": dashboard_for(membership, now=clock.now()),
            "card_rows": CARD_ROWS,
            "horizon_days": RENEWAL_HORIZON_DAYS,
        },
    )
