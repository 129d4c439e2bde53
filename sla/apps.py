from django.apps import AppConfig


class SlaConfig(AppConfig):
    name = "sla"
    verbose_name = "SLA"

    def ready(self) -> None:
        from sla import jobs  # noqa: F401  (registers the daily penalty credits)
        from sla.services import claim_file
        from support.hooks import register_sla_claim_handler

        register_sla_claim_handler(claim_file)  # SLA-5: the claim filed with its support ticket
