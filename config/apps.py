from django.contrib.admin.apps import AdminConfig


class PortalAdminConfig(AdminConfig):
    """The staff site: reachable only with a verified second factor (see config.admin)."""

    default_site = "config.admin.PortalAdminSite"
