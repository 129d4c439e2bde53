from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EnforcementConfig(AppConfig):
    name = "enforcement"
    verbose_name = _("Enforcement")

    def ready(self) -> None:
        from enforcement import jobs  # noqa: F401  (registers the daily remedy-deadline reminders, ENF-2)
        from enforcement.services import termination_request_execute
        from support.hooks import register_termination_request_handler

        register_termination_request_handler(termination_request_execute)  # ORG-9 from a ticket
