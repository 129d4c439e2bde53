"""The payment gateway sandbox's "bank side": a dev-only app, installed by the local and test settings
and never by production (billing.gateways.sandbox is the gateway that uses it)."""
