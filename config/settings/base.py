"""Settings shared by every environment.

Every value read from the environment has a working default for the embedded set-up
(SQLite under var/, a broker on the filesystem under var/); README.md lists them all.
"""

import datetime as dt
import hashlib
from decimal import Decimal
from pathlib import Path

import environ
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
# sqlite:// URLs (the embedded set-up, tests without PostgreSQL) get Django's SQLite backend with
# money read back exact (core/sqlite/base.py, docs/decisions.md "Money on SQLite").
environ.Env.DB_SCHEMES["sqlite"] = "core.sqlite"

SECRET_KEY = env("DJANGO_SECRET_KEY", default="insecure-development-key-only-for-the-embedded-demo")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])

INSTALLED_APPS = [
    "config.apps.PortalAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_countries",
    "django_htmx",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "csp",
    "core",
    "audit",
    "notifications",
    "accounts",
    # subscriptions before billing: its ready() registers the Services' reasons that block an
    # Organization's termination (accounts.hooks) first, so they are listed before the invoices'.
    "subscriptions",
    "billing",
    "sla",
    "support",
    "usage",
    "enforcement",
    "exports",  # EVD-4, EVD-5: statements and personal data; the top of the app graph (imports the others)
    "dashboard",  # an Organization's "action needed" page: reads every app above, imported by none
    # Last: the embedded demo (seed_demo, demo_totp) builds on every app above; its commands refuse without DEBUG.
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Reads answered once per GET request (core.request_memo): around everything that reads.
    "core.request_memo.RequestMemoMiddleware",
    "csp.middleware.CSPMiddleware",
    "core.middleware.PrivateDownloadsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    # Before anything reads the body (CsrfViewMiddleware reads request.POST); after the locale, so the
    # refusal speaks the visitor's language.
    "core.middleware.RequestBodyLimitMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "accounts.middleware.UserLanguageMiddleware",
    # ORG-5: a member whose Organization requires a second factor enrols before anything else.
    "accounts.middleware.TwoFactorRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Around django-axes' middleware: an error answered before or outside a DRF view under /api/ (an
    # unknown path, a log-in lockout) gets the API's JSON error body too.
    "core.middleware.ApiJsonErrorsMiddleware",
    # Last, as django-axes asks: it turns lockouts raised by the views into a response.
    "axes.middleware.AxesMiddleware",
]

# Content-Security-Policy (django-csp), enforced: scripts and styles come from the portal's own static
# files only — no inline <script>, <style>, style= or on…= handler anywhere. The API docs page (config/urls.py)
# adds a nonce for its one inline script and style.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.portal",
            ],
            # `|date` writes French's ordinal first day of a month ("1er décembre")
            "builtins": ["core.templatetags.dates"],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'portal.sqlite3'}"),
}
# EVD-1: on PostgreSQL the processes connect (DATABASE_URL) as a role that owns no table and may
# only read and append evidence. Migrations run as the tables' owner: DATABASE_OWNER_URL, given to
# the migrating command alone, replaces the connection, and `migrate` then grants DATABASE_URL's
# role what the code needs (audit/roles.py).
DATABASE_APP_ROLE = DATABASES["default"].get("USER", "")
DATABASE_APP_PASSWORD = DATABASES["default"].get("PASSWORD", "")
DATABASE_OWNER_URL = env("DATABASE_OWNER_URL", default="")
if DATABASE_OWNER_URL:
    DATABASES["default"] = env.db_url_config(DATABASE_OWNER_URL)
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# Persistent connections (docs/performance.md, "The pages under load"): a new PostgreSQL connection per
# request costs the web process and the server a backend start, the authentication and Django's set-up
# queries, on every page. Each worker keeps its connection this many seconds, checked before reuse.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# No JIT compilation: the daily run's selections are planned as costly over large tables and PostgreSQL
# then spent 50-90 ms compiling each one that reads a few index pages (docs/performance.md).
if "postgresql" in DATABASES["default"]["ENGINE"]:
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c jit=off"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # django-axes first: it refuses locked-out accounts and addresses before any password check.
    "accounts.lockout.LockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "accounts:dashboard"
LOGOUT_REDIRECT_URL = "accounts:login"

# Failed logins are throttled per account and, separately, per client address (django-axes,
# OWASP ASVS 6.3.1): accounts.lockout names the account, core.http.client_address the address.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = 0.25  # hours: a locked account or address may try again after 15 minutes
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True  # the account's own failures only (accounts.lockout.LockoutHandler)
AXES_HANDLER = "accounts.lockout.LockoutHandler"
AXES_USERNAME_FORM_FIELD = "username"  # both doors call authenticate(username=...)
AXES_USERNAME_CALLABLE = "accounts.lockout.axes_username"
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"  # a lock answers as a wrong password does
AXES_VERBOSE = False
AXES_CLIENT_IP_CALLABLE = "core.http.client_address"
# Reverse proxies in front of the web server that append to X-Forwarded-For (0: none, REMOTE_ADDR is the client).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

# SPEC TIME-1: the provider's calendar is Europe/Zurich; datetimes are stored in UTC.
TIME_ZONE = "Europe/Zurich"
USE_TZ = True
USE_I18N = True

# SPEC SUP-1: the portal speaks these five languages; English is the source language.
LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", _("English")),
    ("fr", _("French")),
    ("de", _("German")),
    ("it", _("Italian")),
    ("es", _("Spanish")),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Issue 17: dates and amounts as Swiss users write them, one module per language (core/formats).
FORMAT_MODULE_PATH = ["core.formats"]

STATIC_URL = "static/"
STATIC_ROOT = None  # production sets it (collectstatic); in development the finders serve the files
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
MEDIA_ROOT = env.path("MEDIA_ROOT", default=VAR_DIR / "media")

# E-mail (SPEC ORG-3: important notifications go by e-mail to the contact address).
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_FILE_PATH = VAR_DIR / "mail"
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Jelastic Cloud portal <no-reply@portal.example>")
SUPPORT_EMAIL = env("SUPPORT_EMAIL", default="support@portal.example")
SUPPORT_ATTACHMENT_MAX_BYTES = env.int("SUPPORT_ATTACHMENT_MAX_BYTES", default=10 * 1024 * 1024)  # per file
SUPPORT_ATTACHMENTS_MAX_COUNT = env.int("SUPPORT_ATTACHMENTS_MAX_COUNT", default=10)  # per message
SUPPORT_ATTACHMENTS_MAX_TOTAL_BYTES = env.int(
    "SUPPORT_ATTACHMENTS_MAX_TOTAL_BYTES", default=25 * 1024 * 1024
)  # all files of one message together
# The largest request body the portal reads: the files of one support message, and 3 MiB for the other
# fields and the multipart framing (Django refuses more than DATA_UPLOAD_MAX_MEMORY_SIZE, 2.5 MiB, of
# fields anyway). A larger declared body is refused (413) before it is read (core.middleware).
REQUEST_BODY_MAX_BYTES = SUPPORT_ATTACHMENTS_MAX_TOTAL_BYTES + 3 * 1024 * 1024
SUPPORT_ESCALATION_HOURS = env.int("SUPPORT_ESCALATION_HOURS", default=48)  # waiting for the provider longer
# The provider as it appears on invoices, and the account of its Swiss QR-bills (BIL-5). The default IBAN is
# a QR-IBAN (institution id 30000-31999) of the SIX test examples, so demo bills carry a QR reference.
PROVIDER_NAME = env("PROVIDER_NAME", default="Demo Cloud Provider SA")
PROVIDER_ADDRESS_LINES = env.list("PROVIDER_ADDRESS_LINES", default=["Rue du Portail 1", "1003 Lausanne"])
PROVIDER_COUNTRY = env("PROVIDER_COUNTRY", default="CH")
PROVIDER_VAT_NUMBER = env("PROVIDER_VAT_NUMBER", default="CHE-123.456.788 MWST")
PROVIDER_IBAN = env("PROVIDER_IBAN", default="CH44 3199 9123 0008 8901 2")
# The provider's account for payments in EUR (bank details of EUR top-ups; no QR-bill in EUR). The default is
# the Swiss example IBAN of the IBAN standard (not a QR-IBAN), so EUR references are RF creditor references.
PROVIDER_EUR_IBAN = env("PROVIDER_EUR_IBAN", default="CH93 0076 2011 6238 5295 7")
# The portal's public address, for links in e-mails (no trailing slash). By default the port `make run`
# serves (PORT, as bin/run-dev reads it): `make seed` writes the demo's invitation before the server starts.
_served_port = env.int("PORT", default=8000)
PORTAL_URL = env("PORTAL_URL", default=f"http://127.0.0.1:{_served_port}")
SMS_BACKEND = env("SMS_BACKEND", default="notifications.backends.sms.ConsoleSMSBackend")
# The payment gateway (billing.gateways): "sandbox" (development and tests; its tables are the dev-only
# `sandbox` app's, which the local and test settings install and production refuses), "stripe", or a
# dotted path to a class. Stripe's keys: the secret API key, the signing secret of the webhook endpoint
# (/webhooks/stripe/), and an API base only to talk to a fake Stripe (localstripe) instead of Stripe.
PAYMENT_GATEWAY = env("PAYMENT_GATEWAY", default="sandbox")
STRIPE_SECRET_KEY = env("STRIPE_SECRET_KEY", default="")
STRIPE_WEBHOOK_SECRET = env("STRIPE_WEBHOOK_SECRET", default="")
STRIPE_API_BASE = env("STRIPE_API_BASE", default="")

# The renewal lifecycle (SPEC §3). Figures the provider may change are settings, cited by rule id.
RENEWAL_FIRST_ATTEMPT_DAYS = 14  # REN-1 / REN-6: first debit attempt on E - 14
RENEWAL_INVOICE_DAYS = 14  # REN-5: manual-renewal invoice issued on E - 14
RENEWAL_REMINDER_DAYS = (30, 14, 7, 1)  # REN-5 (Decision): reminders on E - 30, E - 14, E - 7, E - 1
RENEWAL_WARRANTY_SURCHARGE_PERCENT = Decimal("5")  # RW-2
RENEWAL_WARRANTY_DAYS_BEFORE = 2  # RW-3: the provider renews on E - 2
RENEWAL_WARRANTY_WORKING_DAYS = {"monthly": 49, "quarterly": 49, "annual": 220}  # RW-3 (Decision)
RENEWAL_WARRANTY_GRACE_DAYS = {"monthly": 11, "quarterly": 11, "annual": 30}  # RW-3
RENEWAL_WARRANTY_FINAL_NOTICE_DAYS = 7  # RW-5: a last escalation this many days before the suspension
MONEY_BACK_DAYS = 30  # MB-2
# ENF-5 (Decision): an order invoice unpaid this many days after issue is cancelled by a credit note
# and its waiting Service dropped; the customer is reminded this many days before (descending).
ORDER_INVOICE_EXPIRY_DAYS = env.int("ORDER_INVOICE_EXPIRY_DAYS", default=30)
ORDER_INVOICE_REMINDER_DAYS = tuple(env.list("ORDER_INVOICE_REMINDER_DAYS", cast=int, default=[7, 1]))
UNKNOWN_PAYMENT_FLAG_AFTER = dt.timedelta(days=1)  # REN-8: an unknown outcome older than this is flagged
# REN-8: a card payment left PROCESSING this long by a stopped request is looked up by the daily run.
PROCESSING_PAYMENT_STALE_AFTER = dt.timedelta(minutes=15)
LIFECYCLE_BATCH_SIZE = env.int("LIFECYCLE_BATCH_SIZE", default=500)  # Services per batch of the daily run
# How a daily job's batches run (core.batches, docs/celery.md): "inline", one after the other in
# the process of the run (development, tests, SQLite, run_lifecycle); "celery", one Celery task per
# batch taken by the workers, the daily task taking its share (PostgreSQL; production sets it).
LIFECYCLE_ENGINE = env("LIFECYCLE_ENGINE", default="inline")
# Celery engine: a batch whose runner is still at it after this long may be taken by another (its
# runner died: SIGKILL, OOM). Longer than a batch takes; a batch run twice changes nothing (REN-8).
LIFECYCLE_BATCH_LEASE_SECONDS = env.int("LIFECYCLE_BATCH_LEASE_SECONDS", default=300)
LIFECYCLE_BATCH_POLL_SECONDS = 0.2  # how often the daily task looks whether the workers are done
LIFECYCLE_BATCH_QUEUE = env("LIFECYCLE_BATCH_QUEUE", default="")  # the batch tasks' queue ("": default)
LIFECYCLE_BATCH_KEEP_DAYS = 30  # the done batches' rows of older days are deleted by the daily run

# Celery: Redis when REDIS_URL is set, else a broker on the filesystem that needs no server.
REDIS_URL = env("REDIS_URL", default="")
CELERY_BROKER_DIR = VAR_DIR / "celery"
# docs/celery.md: why these settings make the daily run exactly once with the Redis broker.
# A task that is not acknowledged within the visibility timeout is delivered again: it must be
# longer than the longest task (the daily run) and than any countdown or ETA (none are used).
CELERY_VISIBILITY_TIMEOUT = env.int("CELERY_VISIBILITY_TIMEOUT", default=12 * 3600)
LIFECYCLE_CATCH_UP_DAYS = 7  # TIME-2: the daily task runs at most this many missed days
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
else:
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_DIR / "queue"),
        "data_folder_out": str(CELERY_BROKER_DIR / "queue"),
        "processed_folder": str(CELERY_BROKER_DIR / "processed"),
        "control_folder": str(CELERY_BROKER_DIR / "control"),
        "store_processed": False,
    }
# The queue the web server sends to and the worker takes from: one per running portal sharing a
# broker (the e2e suite's server, tests/e2e/conftest.py, never takes a `make run` worker's tasks).
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_TASK_DEFAULT_QUEUE", default="celery")
CELERY_TIMEZONE = TIME_ZONE
CELERY_ENABLE_UTC = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True  # acknowledged when done: a worker killed mid-task leaves it to be redelivered
CELERY_TASK_REJECT_ON_WORKER_LOST = True  # ... also when its child process was killed (SIGKILL, OOM)
CELERY_WORKER_PREFETCH_MULTIPLIER = 1  # a worker holds one unacknowledged task at a time
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    # SPEC TIME-2: the daily run, as of the Zurich date, at 02:00 Zurich time.
    "daily-lifecycle": {
        "task": "core.tasks.run_daily_lifecycle",
        "schedule": crontab(hour=2, minute=0),
    },
    # SPEC EVD-3: a notification whose delivery task was lost is sent again.
    "deliver-pending-notifications": {
        "task": "notifications.tasks.deliver_pending_notifications",
        "schedule": crontab(minute="*/5"),
    },
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: an anonymous call answers 401 with a WWW-Authenticate header.
        # accounts.ApiToken: expiry, revocation, last use, scope (a machine account's token works
        # only where an endpoint accepts its scope: accounts.permissions.HasTokenScope).
        "accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "core.schema.AutoSchema",  # documents the error body on every operation
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    # The client as core.http.client_address sees it (TRUSTED_PROXY_COUNT), never as X-Forwarded-For claims.
    "DEFAULT_THROTTLE_CLASSES": [
        "core.throttling.AnonRateThrottle",
        "core.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {"anon": "60/minute", "user": "600/minute"},
    "EXCEPTION_HANDLER": "core.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Jelastic Cloud customer portal API",
    "DESCRIPTION": "Organizations, members and contract documents. A user only ever sees the "
    "Organizations they belong to; any other id answers 404.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI served from the sidecar package: the docs page needs no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "OrganizationStatusEnum": "accounts.models.Organization.Status",
        "ServiceStatusEnum": "subscriptions.models.services.Service.Status",
        "InvoiceStatusEnum": "billing.models.invoices.Invoice.Status",
        "InvoiceKindEnum": "billing.models.invoices.Invoice.Kind",
        "MeansKindEnum": "billing.models.payments.MeansKind",
    },
}

CACHES: dict[str, dict[str, object]] = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Contract figures the provider may change (SPEC: data, not literals).
DOCUMENT_DEEMED_ACCEPTANCE_DAYS = env.int("DOCUMENT_DEEMED_ACCEPTANCE_DAYS", default=30)  # ORG-8
INBOX_TACIT_ACCEPTANCE_MONTHS = env.int("INBOX_TACIT_ACCEPTANCE_MONTHS", default=1)  # ORG-3
ADULT_AGE_YEARS = 18  # ORG-4
EXPORT_RETENTION_DAYS = 7  # EVD-4, EVD-5: an export's file is removed by the daily run this many days after it is built
EXPORT_MAX_YEARS = 10  # EVD-4: the longest period one statement covers
# API tokens expire this many days after they are issued (accounts.tokens).
API_TOKEN_DAYS = env.int("API_TOKEN_DAYS", default=90)
# run_lifecycle --date after today: only to rehearse the future in development and tests.
LIFECYCLE_ALLOW_FUTURE_DATES = env.bool("LIFECYCLE_ALLOW_FUTURE_DATES", default=False)

# EVD-1: the daily run seals the audit chain's end with an HMAC whose key is kept out of the
# database; the seals are files here (and lines of the log). Production sets its own key.
EVIDENCE_SEAL_DIR = env.path("EVIDENCE_SEAL_DIR", default=VAR_DIR / "evidence")
EVIDENCE_SEAL_KEY = env("EVIDENCE_SEAL_KEY", default=hashlib.sha256(f"evidence-seal:{SECRET_KEY}".encode()).hexdigest())

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
}
