from csp.constants import NONCE
from csp.decorators import csp_update
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from billing.webhooks import stripe_webhook
from core.views import healthz

# The API docs page's own policy: the portal's, plus a nonce for drf-spectacular's one inline script and
# style (templates/api/swagger_ui.html), and data: images for the icons of Swagger UI's stylesheet.
api_docs = csp_update({"script-src": [NONCE], "style-src": [NONCE], "img-src": ["data:"]})(
    SpectacularSwaggerView.as_view(url_name="api-schema", template_name="api/swagger_ui.html")
)

# Services and their records moved from the billing app to subscriptions (docs/decisions.md, "Apps
# and their boundaries"): their admin addresses of before still lead to them.
moved_to_subscriptions = RedirectView.as_view(url="/admin/subscriptions/%(model)s/%(rest)s", query_string=True)

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    re_path(
        r"^admin/billing/(?P<model>service|serviceaddon|trialflag|membershipservicescope|renewalattempt|moneybackrefund)/"
        r"(?P<rest>.*)$",
        moved_to_subscriptions,
    ),
    path("admin/", admin.site.urls),
    path("webhooks/stripe/", stripe_webhook, name="stripe-webhook"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", api_docs, name="api-docs"),
    path("api/v1/", include("config.api_urls")),
    path("", include("subscriptions.urls")),
    path("", include("billing.urls")),
    path("", include("support.urls")),
    path("", include("sla.urls")),
    path("", include("usage.portal_urls")),
    path("", include("exports.urls")),
    path("", include("enforcement.urls")),
    path("", include("dashboard.urls")),
    path("", include("accounts.urls")),
]
