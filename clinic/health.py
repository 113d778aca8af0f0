"""Checks behind /healthz: can we reach the database and, when configured, the broker."""

import threading

import redis
from django.conf import settings
from django.db import DatabaseError, connection

OK = "ok"
NOT_CONFIGURED = "not configured"

# One connection pool per broker URL for the life of the process: a load balancer polls
# /healthz every few seconds, and a new TCP connection (and Redis client) per poll cost
# more than the check itself. Keyed by URL so a changed setting gets its own pool.
_pools: dict[str, redis.ConnectionPool] = {}
_pools_lock = threading.Lock()


def _broker_pool(url: str) -> redis.ConnectionPool:
    pool = _pools.get(url)
    if pool is None:
        with _pools_lock:
            pool = _pools.get(url)
            if pool is None:
                pool = redis.ConnectionPool.from_url(
                    url,
                    socket_connect_timeout=1,
                    socket_timeout=1,
                    # A pooled connection the broker dropped (restart, idle timeout) is
                    # noticed and replaced before it is used, not reported as an outage.
                    health_check_interval=30,
                )
                _pools[url] = pool
    return pool


def database_status() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        return f"error: {exc.__class__.__name__}"
    return OK


def broker_status() -> str:
    if not settings.REDIS_URL:
        return NOT_CONFIGURED
    client = redis.Redis(connection_pool=_broker_pool(settings.REDIS_URL))
    try:
        client.ping()
    except redis.RedisError as exc:
        return f"error: {exc.__class__.__name__}"
    return OK
