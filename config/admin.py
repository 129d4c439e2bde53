from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.contrib import admin
from django.http import HttpRequest, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

# The staff home's order of the queues (the order): claims, tickets, charges in doubt,
# breaches, cash-outs. A queue not named here comes after them.
STAFF_QUEUE_ORDER = (
    "sla.claim",
    "support.ticket",
    "billing.payment",
    "subscriptions.renewalattempt",
    "enforcement.breach",
    "billing.cashoutrequest",
)


@dataclass(frozen=True)
class StaffQueue:
    """Work that needs a person: how many rows wait, and the admin list filtered to them."""

    label: str
    count: int
    url: str


class PortalAdminSite(admin.AdminSite):
    """Staff must have passed a TOTP second factor in this session to reach the admin site."""

    site_header = _("Jelastic Cloud portal — staff")
    site_title = _("Portal staff")
    index_title = _("Administration")
    index_template = "admin/portal_index.html"

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

    def staff_queues(self, request: HttpRequest) -> list[StaffQueue]:
        """The staff home: each model admin with a queue (`index_queue`, `index_queue_label`) the user
        may see, with its count (zero included: a clear queue is news too) and its filtered list."""
        found = []
        for model, model_admin in self._registry.items():
            queue = getattr(model_admin, "index_queue", None)
            if queue is None or not model_admin.has_view_or_change_permission(request):
                continue
            count, query = queue(request)
            url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist", current_app=self.name)
            label = model._meta.label_lower
            rank = STAFF_QUEUE_ORDER.index(label) if label in STAFF_QUEUE_ORDER else len(STAFF_QUEUE_ORDER)
            title = str(getattr(model_admin, "index_queue_label", model._meta.verbose_name_plural))
            found.append((rank, label, StaffQueue(label=title, count=count, url=f"{url}?{query}")))
        return [queue for _rank, _label, queue in sorted(found, key=lambda item: (item[0], item[1]))]

    def index(self, request: HttpRequest, extra_context: dict | None = None) -> TemplateResponse:
        """The admin index opens with what needs a person today (the staff home)."""
        return super().index(request, {"staff_queues": self.staff_queues(request), **(extra_context or {})})
