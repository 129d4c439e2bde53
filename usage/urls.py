"""The metering door's routes (USE-2, USE-5), included under /api/v1/ by config.api_urls: no
Organization in the path, the metering account's own. The portal's pages are in usage.portal_urls."""

from django.urls import path

from usage import api

api_urlpatterns = [
    path("usage/", api.UsageValuesView.as_view(), name="api-usage-values"),
    path("usage/limits/", api.UsageLimitsView.as_view(), name="api-usage-limits"),
]
