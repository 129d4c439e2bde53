"""The embedded set-up of `make run`: SQLite and a filesystem broker unless the environment says otherwise."""

from config.settings.base import *  # noqa: F403
from config.settings.base import env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
LIFECYCLE_ALLOW_FUTURE_DATES = env.bool("LIFECYCLE_ALLOW_FUTURE_DATES", default=True)
