from django.conf import settings
from django.http import HttpRequest

from accounts.selectors import organizations_for_user


def portal(request: HttpRequest) -> dict[str, object]:
    """How many Organizations a logged-in user can switch between, for the navigation: counted by
    TwoFactorRequiredMiddleware's query on the way in (accounts.middleware), else counted here. The
    count is the one before the view: a view that adds or ends the user's membership and renders
    without a redirect shows the link as it was until the next page."""
    user = getattr(request, "user", None)
    context: dict[str, object] = {"portal_languages": settings.LANGUAGES}
    if user is not None and user.is_authenticated:
        count = getattr(request, "portal_organization_count", None)
        context["my_organization_count"] = organizations_for_user(user).count() if count is None else count
    return context
