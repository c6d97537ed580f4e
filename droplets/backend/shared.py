"""State every worker and web process shares about a DigitalOcean account (its request budget, the latest
look at its actions): in Redis when Redis is the broker, else in the database. Keys name an account by a
hash of its token, never by the token."""

import functools
import json

from django.conf import settings
from django.db import transaction


class DatabaseStore:
    """A row per key, changed under the row's lock (a write lock on SQLite)."""

    def update(self, key: str, change):
        """Replaces the value with `change(value)[0]` (None when there is none yet); returns `[1]`."""
        from ..models import SharedState  # models load after the backend module

        with transaction.atomic():
            row, _ = SharedState.objects.select_for_update().get_or_create(key=key)
            value, result = change(row.value)
            if value != row.value:  # most corrections change nothing: no write (and no write lock) then
                row.value = value
                row.save(update_fields=["value"])
        return result

    def read(self, key: str):
        from ..models import SharedState

        return SharedState.objects.filter(key=key).values_list("value", flat=True).first()

    def write(self, key: str, value) -> None:
        from ..models import SharedState

        SharedState.objects.update_or_create(key=key, defaults={"value": value})


class RedisStore:
    """A Redis key per key, changed with optimistic locking (WATCH): of two processes changing it at once,
    one retries with what the other wrote. Unused keys expire after an hour (nothing they hold is older)."""

    PREFIX = "waldur-do:"
    EXPIRY = 3700

    def __init__(self, url: str):
        import redis

        self.redis = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)

    def update(self, key: str, change):
        import redis

        name = self.PREFIX + key
        while True:
            with self.redis.pipeline() as pipe:
                try:
                    pipe.watch(name)
                    stored = pipe.get(name)
                    previous = json.loads(stored) if stored else None
                    value, result = change(previous)
                    if stored and value == previous:
                        pipe.unwatch()
                        return result
                    pipe.multi()
                    pipe.set(name, json.dumps(value), ex=self.EXPIRY)
                    pipe.execute()
                    return result
                except redis.WatchError:
                    continue

    def read(self, key: str):
        stored = self.redis.get(self.PREFIX + key)
        return json.loads(stored) if stored else None

    def write(self, key: str, value) -> None:
        self.redis.set(self.PREFIX + key, json.dumps(value), ex=self.EXPIRY)


def shared_store():
    url = settings.CELERY_BROKER_URL
    return _redis_store(url) if url.startswith(("redis://", "rediss://")) else DatabaseStore()


@functools.cache
def _redis_store(url: str) -> RedisStore:
    return RedisStore(url)  # one connection pool per process
