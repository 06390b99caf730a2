"""The conversation lock store chosen by settings: Redis when `REDIS_URL` is set, in-memory otherwise.

Named in `endpoints.yml` as `lock_store: {type: rasa_project.lock_store.SettingsLockStore}`. Rasa 3.6
builds custom lock stores as `cls(endpoint_config=...)` (`rasa.core.lock_store.
_load_from_module_name_in_endpoint_config`), so `SettingsLockStore(...)` is a factory: it returns
Rasa's own `RedisLockStore` (several Rasa instances share per-conversation locks) or
`InMemoryLockStore` (one process: local runs and the demo). A wrong Redis URL fails start-up with a
clear error instead of failing every turn later.
"""

from __future__ import annotations

from typing import Any, Optional
from urllib.parse import unquote, urlparse

from rasa.core.lock_store import InMemoryLockStore, LockStore, RedisLockStore

from rasa_project.settings import Settings, get_settings


class LockStoreUnavailable(RuntimeError):
    """Redis is configured but does not answer."""


def redis_lock_store_from_url(url: str, key_prefix: Optional[str] = None, socket_timeout: float = 10) -> RedisLockStore:
    """Rasa's `RedisLockStore` for `redis://[user:password@]host[:port][/db]` (`rediss://` for TLS)."""
    parsed = urlparse(url)
    if parsed.scheme not in {"redis", "rediss"}:
        raise ValueError(f"REDIS_URL must start with redis:// or rediss://, got {parsed.scheme!r}")
    db = int(parsed.path.lstrip("/") or 1)
    store = RedisLockStore(
        host=parsed.hostname or "localhost",
        port=parsed.port or 6379,
        db=db,
        username=unquote(parsed.username) if parsed.username else None,
        password=unquote(parsed.password) if parsed.password else None,
        use_ssl=parsed.scheme == "rediss",
        key_prefix=key_prefix,
        socket_timeout=socket_timeout,
    )
    try:
        store.red.ping()
    except (
        Exception
    ) as exc:  # redis raises several unrelated types (ConnectionError, TimeoutError, AuthenticationError)
        safe = f"{parsed.scheme}://{parsed.hostname}:{parsed.port or 6379}/{db}"
        raise LockStoreUnavailable(f"Redis lock store {safe} unreachable: {exc.__class__.__name__}: {exc}") from exc
    return store


class SettingsLockStore(LockStore):
    """Factory: `SettingsLockStore(endpoint_config=...)` returns the lock store the settings ask for."""

    def __new__(
        cls, endpoint_config: Any = None, settings: Optional[Settings] = None, **_: Any
    ) -> LockStore:
        settings = settings or get_settings()
        kwargs = dict(getattr(endpoint_config, "kwargs", None) or {})
        if not settings.redis_url:
            return InMemoryLockStore()
        return redis_lock_store_from_url(
            settings.redis_url,
            key_prefix=kwargs.get("key_prefix"),
            socket_timeout=float(kwargs.get("socket_timeout", 10)),
        )
