from celery import current_app as celery_app  # config.celery's app (config sits above core)
from django.core.cache import caches
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from core.cache import cache_answers


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:
        return False


def _broker_ok() -> bool:
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True
    except Exception:
        return False


def _word(ok: bool) -> str:
    return "ok" if ok else "down"


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Database, broker and cache status for load balancers and monitoring.

    503 only when the database does not answer: the portal cannot serve anything. Without the broker
    or the cache it goes on serving, "degraded" (200): tasks that could not be queued are sent by the
    sweeps and the daily run, and API throttling is off until the cache answers again (core.cache)."""
    database, broker, cached = _database_ok(), _broker_ok(), cache_answers(caches["default"])
    overall = "down" if not database else "ok" if broker and cached else "degraded"
    return JsonResponse(
        {"status": overall, "database": _word(database), "broker": _word(broker), "cache": _word(cached)},
        status=200 if database else 503,
    )
