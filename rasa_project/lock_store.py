"""The conversation lock store chosen by settings: Redis when `REDIS_URL` is set, in-memory otherwise.

Named in `endpoints.yml` as `lock_store: {type: rasa_project.lock_store.SettingsLockStore}`. Rasa 3.6
builds custom lock stores as `cls(endpoint_config=...)` (`rasa.core.lock_store.
_load_from_module_name_in_endpoint_config`), so `SettingsLockStore(...)` is a factory: it returns
`AtomicRedisLockStore` (several Rasa instances share per-conversation locks) or `InMemoryLockStore`
(one process: local runs and the demo). A wrong Redis URL fails start-up with a clear error instead of
failing every turn later.

`AtomicRedisLockStore` is Rasa's `RedisLockStore` (same keys, same ticket format) with every change of a
conversation's ticket lock made in one Redis transaction. Rasa's own reads the lock (GET), changes it in
Python and writes it back (SET), and its `cleanup` deletes the key after a separate check: two processes
working on one conversation (an instance taking over an expired inbox lease, a helpdesk event next to a
turn) then overwrite each other. A finished ticket written back blocks the conversation until it
expires (`LOCK_LIFETIME`, 60 s), a waiter's ticket deleted fails its turn with `LockError`. Here each
change runs under `WATCH` and is applied with `MULTI`/`EXEC`, retried when another process changed the
key in between (redis-py's `Redis.transaction`).
"""

from __future__ import annotations

import json
from typing import Any, Callable, List, Optional, Tuple, TypeVar
from urllib.parse import unquote, urlparse

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, InMemoryLockStore, LockError, LockStore, RedisLockStore

from rasa_project.settings import Settings, get_settings

T = TypeVar("T")
Change = Callable[[Optional[TicketLock]], Tuple[Optional[TicketLock], T]]


class LockStoreUnavailable(RuntimeError):
    """Redis is configured but does not answer."""


class AtomicRedisLockStore(RedisLockStore):
    """`RedisLockStore` whose ticket changes are atomic across processes (module docstring)."""

    def _change(self, conversation_id: str, change: Change[T]) -> T:
        """Apply `change` (the lock or None → the lock to store, or None/no tickets to delete it; and a
        result) to the stored lock in one transaction; the change runs again if the key moved meanwhile."""
        key = self.key_prefix + conversation_id
        result: List[T] = []

        def apply(pipe: Any) -> None:  # a redis-py Pipeline in WATCH mode
            raw = pipe.get(key)  # immediate: the pipeline is WATCHing the key
            lock, value = change(TicketLock.from_dict(json.loads(raw)) if raw else None)
            pipe.multi()
            if lock is None or not lock.is_someone_waiting():
                pipe.delete(key)
            else:
                pipe.set(key, lock.dumps())
            result[:] = [value]

        self.red.transaction(apply, key)
        return result[0]

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        def issue(lock: Optional[TicketLock]) -> Tuple[Optional[TicketLock], int]:
            lock = lock or self.create_lock(conversation_id)
            return lock, lock.issue_ticket(lock_lifetime)

        try:
            return self._change(conversation_id, issue)
        except Exception as exc:  # as Rasa's: the turn fails with LockError and is retried
            raise LockError(f"Error while acquiring lock. Error:\n{exc}") from exc

    def finish_serving(self, conversation_id: str, ticket_number: int) -> None:
        def finish(lock: Optional[TicketLock]) -> Tuple[Optional[TicketLock], None]:
            if lock is not None:
                lock.remove_ticket_for(ticket_number)
            return lock, None

        self._change(conversation_id, finish)

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        """Our ticket out; the key goes in the same transaction when no ticket is left."""
        self.finish_serving(conversation_id, ticket_number)

    def update_lock(self, conversation_id: str) -> None:
        def drop_expired(lock: Optional[TicketLock]) -> Tuple[Optional[TicketLock], None]:
            if lock is not None:
                lock.remove_expired_tickets()
            return lock, None

        self._change(conversation_id, drop_expired)


def redis_lock_store_from_url(url: str, key_prefix: Optional[str] = None,
                              socket_timeout: float = 10) -> AtomicRedisLockStore:
    """`AtomicRedisLockStore` for `redis://[user:password@]host[:port][/db]` (`rediss://` for TLS)."""
    parsed = urlparse(url)
    if parsed.scheme not in {"redis", "rediss"}:
        raise ValueError(f"REDIS_URL must start with redis:// or rediss://, got {parsed.scheme!r}")
    db = int(parsed.path.lstrip("/") or 1)
    store = AtomicRedisLockStore(
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
