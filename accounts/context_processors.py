from django.conf import settings
from django.http import HttpRequest

from accounts.selectors import organizations_for_user


def portal(request: HttpRequest) -> dict[str, object]:
    """The Organizations a logged-in user can switch between, for the navigation."""
    user = getattr(request, "user", None)
    context: dict[str, object] = {"portal_languages": settings.LANGUAGES}
    if user is not None and user.is_authenticated:
        context["my_organizations"] = list(organizations_for_user(user).only("id", "name"))
    return context
