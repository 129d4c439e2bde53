from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The embedded demo of `make run`: `seed_demo` and `demo_totp`, both refused without DEBUG. It has
    no tables and nothing imports it; it imports every other app, so it sits on top of them."""

    name = "demo"
    verbose_name = "Demo data"
