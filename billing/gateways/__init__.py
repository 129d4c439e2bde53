"""Payment gateways: the protocol and its types (`base`), the sandbox of development and tests
(`sandbox`), and Stripe (`stripe`). `billing.gateway` re-exports the public names."""
