from typing import Any
from urllib.parse import urlencode

from django.contrib import admin
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _


class PortalAdminSite(admin.AdminSite):
    """Staff must have passed a TOTP second factor in this session to reach the admin site."""

    site_header = _("Jelastic Cloud portal — staff")
    site_title = _("Portal staff")
    index_title = _("Administration")

    def has_permission(self, request: HttpRequest) -> bool:
        user = request.user
        # django_otp's OTPMiddleware adds is_verified() to request.user
        return bool(user.is_active and user.is_staff and user.is_verified())  # type: ignore[union-attr,attr-defined]

    def login(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponseRedirect:
        next_url = request.GET.get("next") or reverse("admin:index")
        if request.user.is_authenticated and not request.user.is_staff:
            return HttpResponseRedirect(reverse("accounts:dashboard"))  # customers have no business here
        if request.user.is_authenticated:
            return HttpResponseRedirect(f"{reverse('accounts:staff_otp')}?{urlencode({'next': next_url})}")
        login_url = reverse("accounts:login")
        otp_url = f"{reverse('accounts:staff_otp')}?{urlencode({'next': next_url})}"
        return HttpResponseRedirect(f"{login_url}?{urlencode({'next': otp_url})}")

    def get_app_list(self, request: HttpRequest, app_label: str | None = None) -> list[dict[str, Any]]:
        """A model admin with work waiting (a queue: `index_queue(request)` -> (count, filter query))
        shows the count beside its name, linked to the waiting rows (PRE-4's cash-out requests)."""
        app_list = super().get_app_list(request, app_label)
        for app in app_list:
            for entry in app["models"]:
                queue = getattr(self.get_model_admin(entry["model"]), "index_queue", None)
                if queue is None or not entry.get("admin_url"):
                    continue
                count, query = queue(request)
                if count:
                    entry["name"] = _("%(name)s (%(count)d waiting)") % {"name": entry["name"], "count": count}
                    entry["admin_url"] = f"{entry['admin_url']}?{query}"
        return app_list
