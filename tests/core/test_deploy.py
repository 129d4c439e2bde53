"""`manage.py check --deploy` with the production settings prints no warning."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[2]
# Production's payment gateway (Stripe by default) and its keys.
STRIPE = {"PAYMENT_GATEWAY": "stripe", "STRIPE_SECRET_KEY": "sk_test_deploy", "STRIPE_WEBHOOK_SECRET": "whsec_deploy"}


def test_production_settings_pass_the_deployment_checklist(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": "k8Qe2-zT1v9Rx0pL5sNw7mYh3cJd6fGb4aUiOoPq2rSt8uVxWyZ1!@#",
        "DJANGO_ALLOWED_HOSTS": "portal.example",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'deploy.sqlite3'}",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "EVIDENCE_SEAL_KEY": "Zq4v-8Lr2xN6pT0wYb3mK7sJ1dF5hG9cV2eR4uA8iO6lP0",
        **STRIPE,
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_production_language_cookie_travels_like_the_session_cookie(tmp_path: Path) -> None:
    """Issue 14: the language cookie is Secure, SameSite and HttpOnly in production, as the session cookie."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": "k8Qe2-zT1v9Rx0pL5sNw7mYh3cJd6fGb4aUiOoPq2rSt8uVxWyZ1!@#",
        "DJANGO_ALLOWED_HOSTS": "portal.example",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'deploy.sqlite3'}",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "EVIDENCE_SEAL_KEY": "Zq4v-8Lr2xN6pT0wYb3mK7sJ1dF5hG9cV2eR4uA8iO6lP0",  # EVD-1: required in production
        **STRIPE,
    }
    names = ["SECURE", "SAMESITE", "HTTPONLY"]
    script = (
        "import django; django.setup(); from django.conf import settings; "
        "print([(getattr(settings, 'SESSION_COOKIE_' + n), getattr(settings, 'LANGUAGE_COOKIE_' + n)) "
        f"for n in {names}])"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "[(True, True), ('Lax', 'Lax'), (True, True)]"


def _production(tmp_path: Path, **environment: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": "k8Qe2-zT1v9Rx0pL5sNw7mYh3cJd6fGb4aUiOoPq2rSt8uVxWyZ1!@#",
        "DJANGO_ALLOWED_HOSTS": "portal.example",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'deploy.sqlite3'}",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "EVIDENCE_SEAL_KEY": "Zq4v-8Lr2xN6pT0wYb3mK7sJ1dF5hG9cV2eR4uA8iO6lP0",
        **environment,
    }
    for name in ("PAYMENT_GATEWAY", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET"):
        if not env.get(name):
            env.pop(name, None)
    script = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.PAYMENT_GATEWAY, 'sandbox' in settings.INSTALLED_APPS)"
    )
    return subprocess.run(
        [sys.executable, "-c", script], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.mark.parametrize(
    "name", ["sandbox", "billing.gateways.sandbox.SandboxGateway"]
)
def test_bil4_production_refuses_to_start_with_the_sandbox_gateway(tmp_path: Path, name: str) -> None:
    result = _production(tmp_path, PAYMENT_GATEWAY=name, **{k: v for k, v in STRIPE.items() if k != "PAYMENT_GATEWAY"})

    assert result.returncode != 0
    assert "ImproperlyConfigured: PAYMENT_GATEWAY names the sandbox" in result.stderr


def test_bil4_production_runs_stripe_by_default_without_the_sandbox_app(tmp_path: Path) -> None:
    without_keys = _production(tmp_path, PAYMENT_GATEWAY="")
    with_keys = _production(
        tmp_path, PAYMENT_GATEWAY="", STRIPE_SECRET_KEY="sk_live_x", STRIPE_WEBHOOK_SECRET="whsec_x"
    )

    assert without_keys.returncode != 0
    assert "Set the STRIPE_SECRET_KEY environment variable" in without_keys.stderr
    assert (with_keys.returncode, with_keys.stdout.strip()) == (0, "stripe False"), with_keys.stderr
