"""Production: every secret comes from the environment; `manage.py check --deploy` is clean."""

from django.core.exceptions import ImproperlyConfigured

from billing.gateways.base import gateway_path, is_sandbox
from config.settings.base import *  # noqa: F403
from config.settings.base import BASE_DIR, env

DEBUG = False
SECRET_KEY = env("DJANGO_SECRET_KEY")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")
DATABASES = {"default": env.db("DATABASE_URL")}  # the application role: owns nothing (README, Production)
DATABASE_APP_ROLE = DATABASES["default"].get("USER", "")
DATABASE_APP_PASSWORD = DATABASES["default"].get("PASSWORD", "")
if DATABASE_OWNER_URL:  # noqa: F405  (the migrating command alone: it owns the tables)
    DATABASES["default"] = env.db_url_config(DATABASE_OWNER_URL)  # noqa: F405
EVIDENCE_SEAL_KEY = env("EVIDENCE_SEAL_KEY")  # EVD-1: never in the database, never derived
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

# The payment gateway: Stripe unless another real one is named. The sandbox takes no money and its
# tables (the `sandbox` app) are not installed here: production refuses to start with it.
PAYMENT_GATEWAY = env("PAYMENT_GATEWAY", default="stripe")
if is_sandbox(PAYMENT_GATEWAY):
    raise ImproperlyConfigured(
        "PAYMENT_GATEWAY names the sandbox, which takes no money and is not installed in production: "
        "set PAYMENT_GATEWAY=stripe (with STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET)."
    )
if gateway_path(PAYMENT_GATEWAY) == gateway_path("stripe"):
    STRIPE_SECRET_KEY = env("STRIPE_SECRET_KEY")
    STRIPE_WEBHOOK_SECRET = env("STRIPE_WEBHOOK_SECRET")

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
# The language cookie travels like the session cookie: HTTPS only, same-site, never read by scripts.
LANGUAGE_COOKIE_SECURE = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_HTTPONLY = True
CSRF_COOKIE_SECURE = True
X_FRAME_OPTIONS = "DENY"

STATIC_ROOT = env.path("STATIC_ROOT", default=str(BASE_DIR / "var" / "static"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="smtp://localhost:25")
vars().update(EMAIL_CONFIG)
EMAIL_BACKEND = env("EMAIL_BACKEND", default=EMAIL_CONFIG["EMAIL_BACKEND"])

# Production runs on Redis: the Celery broker, and the cache shared by every process (API throttling).
REDIS_URL = env("REDIS_URL")
CELERY_BROKER_URL = REDIS_URL
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}  # noqa: F405
# The daily run's batches as Celery tasks on the workers (core.batches, docs/celery.md).
LIFECYCLE_ENGINE = env("LIFECYCLE_ENGINE", default="celery")
# core.cache: while Redis is away the cache answers as empty (throttling off, logged, /healthz), never a 500.
CACHES = {
    "default": {
        "BACKEND": "core.cache.DegradableRedisCache",
        "LOCATION": REDIS_URL,
        # A Redis that does not answer at all costs a request at most this (seconds), then core.cache skips it.
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }
}
