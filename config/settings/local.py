"""The embedded set-up of `make run`: SQLite and a filesystem broker unless the environment says otherwise."""

from config.settings.base import *  # noqa: F403
from config.settings.base import INSTALLED_APPS, env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
LIFECYCLE_ALLOW_FUTURE_DATES = env.bool("LIFECYCLE_ALLOW_FUTURE_DATES", default=True)
# The payment gateway sandbox's tables (billing.gateways.sandbox): development and tests only.
INSTALLED_APPS = [*INSTALLED_APPS, "sandbox"]
