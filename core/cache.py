"""The shared cache on Redis, which keeps the portal answering while Redis is away.

Only rate limits use the cache (DRF's API throttles, the re-authentication pause of ORG-9); log-in
lockout (django-axes) and sessions live in the database. When Redis does not answer, every cache
operation answers as an empty cache would — a read finds nothing, a write is dropped — so throttling
degrades instead of every request failing with a 500. The outage is logged once (and its end once),
`/healthz` shows the cache as down, and Redis is asked again only every RETRY_SECONDS, so that a
server that does not answer at all costs each request nothing more than its first timeout.
"""

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Errors of a Redis that is down or unreachable (not of a command Redis refused).
UNAVAILABLE = (RedisConnectionError, RedisTimeoutError, OSError)
# Seconds between two tries of a Redis found down: each request meanwhile goes without the cache.
RETRY_SECONDS = 5.0


class _Outage:
    """The state of one Redis server, shared by every thread of the process (Django gives each
    thread its own cache object)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.down_since: float | None = None
        self.retry_at = 0.0


_outages: dict[str, _Outage] = {}
_outages_lock = threading.Lock()


def _outage_of(location: str) -> _Outage:
    with _outages_lock:
        return _outages.setdefault(location, _Outage())


class DegradableRedisCache(RedisCache):
    """Django's RedisCache, answering as an empty cache while Redis does not answer."""

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._outage = _outage_of(server if isinstance(server, str) else ",".join(server))

    def _call(self, operation: Callable[[], T], fallback: T) -> T:
        outage = self._outage
        if outage.down_since is not None and time.monotonic() < outage.retry_at:
            return fallback
        try:
            result = operation()
        except UNAVAILABLE as error:
            with outage.lock:
                outage.retry_at = time.monotonic() + RETRY_SECONDS
                if outage.down_since is None:
                    outage.down_since = time.monotonic()
                    logger.error(
                        "the cache (Redis) does not answer: %s; going on without it (API throttling is off) "
                        "and trying again every %s s",
                        error,
                        RETRY_SECONDS,
                    )
            return fallback
        if outage.down_since is not None:
            with outage.lock:
                if outage.down_since is not None:
                    logger.warning(
                        "the cache (Redis) answers again after %.0f s", time.monotonic() - outage.down_since
                    )
                    outage.down_since = None
        return result

    @property
    def degraded(self) -> bool:
        """True while the last try found Redis down."""
        return self._outage.down_since is not None

    def ping(self) -> bool:
        """Whether Redis answers (for /healthz): a round trip, or False while it is found down."""
        client = self._cache.get_client(write=True)  # type: ignore[attr-defined]  # RedisCache's, not in the stubs
        return bool(self._call(lambda: client.ping(), False))

    def add(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        return self._call(lambda: super(DegradableRedisCache, self).add(key, value, timeout, version), False)

    def get(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        return self._call(lambda: super(DegradableRedisCache, self).get(key, default, version), default)

    def set(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> None:
        self._call(lambda: super(DegradableRedisCache, self).set(key, value, timeout, version), None)

    def touch(self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        return self._call(lambda: super(DegradableRedisCache, self).touch(key, timeout, version), False)

    def delete(self, key: Any, version: int | None = None) -> bool:
        return self._call(lambda: super(DegradableRedisCache, self).delete(key, version), False)

    def get_many(self, keys: Any, version: int | None = None) -> dict[Any, Any]:
        return self._call(lambda: super(DegradableRedisCache, self).get_many(keys, version), {})

    def has_key(self, key: Any, version: int | None = None) -> bool:
        return self._call(lambda: super(DegradableRedisCache, self).has_key(key, version), False)

    def incr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        # As if the key had just been added at 0: a counter restarts while Redis is away.
        return self._call(lambda: super(DegradableRedisCache, self).incr(key, delta, version), delta)

    def set_many(self, data: dict[Any, Any], timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> list[Any]:
        return self._call(lambda: super(DegradableRedisCache, self).set_many(data, timeout, version), list(data))

    def delete_many(self, keys: Any, version: int | None = None) -> None:
        self._call(lambda: super(DegradableRedisCache, self).delete_many(keys, version), None)

    def clear(self) -> None:
        self._call(lambda: super(DegradableRedisCache, self).clear(), None)


def cache_answers(cache: Any) -> bool:
    """For /healthz: whether the cache answers a round trip (a local-memory cache always does)."""
    if isinstance(cache, DegradableRedisCache):
        return cache.ping()
    try:
        cache.get("healthz:probe")
        return True
    except Exception:
        return False
