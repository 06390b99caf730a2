"""SettingsLockStore: Redis from settings (real Redis at 127.0.0.1:6379), in-memory without it; the Redis
store's tickets stay right when several processes contend for one conversation (Rasa's own do not)."""

import uuid

import pytest
from rasa.core.lock_store import InMemoryLockStore, LockStore, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

from rasa_project.lock_store import AtomicRedisLockStore, LockStoreUnavailable, SettingsLockStore
from rasa_project.settings import Settings

REDIS = "redis://127.0.0.1:6379/1"


def endpoint():
    return EndpointConfig(type="rasa_project.lock_store.SettingsLockStore", key_prefix=f"t{uuid.uuid4().hex[:10]}")


def test_in_memory_without_redis_url():
    assert isinstance(SettingsLockStore(endpoint_config=endpoint(), settings=Settings()), InMemoryLockStore)


def test_rasa_builds_it_from_endpoints(monkeypatch):
    import rasa_project.lock_store as module

    monkeypatch.setattr(module, "get_settings", lambda: Settings(redis_url=REDIS))
    store = LockStore.create(endpoint())
    assert isinstance(store, AtomicRedisLockStore)


async def test_redis_lock_serializes_a_conversation():
    cfg = endpoint()
    store = SettingsLockStore(endpoint_config=cfg, settings=Settings(redis_url=REDIS))
    other = SettingsLockStore(endpoint_config=cfg, settings=Settings(redis_url=REDIS))
    assert isinstance(store, RedisLockStore)
    sender = f"whatsapp:+52155{uuid.uuid4().int % 10**8:08d}"
    async with store.lock(sender, lock_lifetime=5, wait_time_in_seconds=0.01):
        waiting = other.issue_ticket(sender, 5)  # another Rasa instance queues behind us
        assert other.get_lock(sender).is_locked(waiting)
    assert not other.get_lock(sender).is_locked(waiting)  # released: its turn now
    other.cleanup(sender, waiting)
    store.red.delete(store.key_prefix + sender)


def test_unreachable_redis_fails_fast():
    with pytest.raises(LockStoreUnavailable, match="unreachable"):
        SettingsLockStore(settings=Settings(redis_url="redis://127.0.0.1:1/1"))


def contend(store_class: type, workers: int = 3, rounds: int = 60, deadline: float = 45.0) -> dict:
    """`workers` threads (each its own Redis connection, as separate Rasa processes) lock one conversation
    `rounds` times each, with a lock lifetime far beyond the run: a finished ticket written back would
    block everyone for that long. Returns what happened: rounds done, the most holders seen at once,
    LockErrors, and whether it finished before `deadline`."""
    import asyncio
    import threading
    import time

    from rasa.core.lock_store import LockError

    prefix = f"t{uuid.uuid4().hex[:10]}"
    sender = f"whatsapp:+52155{uuid.uuid4().int % 10**8:08d}"
    stores = [store_class(host="127.0.0.1", port=6379, db=1, key_prefix=prefix) for _ in range(workers)]
    seen = {"done": 0, "holders": 0, "most_holders": 0, "lock_errors": 0}
    guard = threading.Lock()
    stop_at = time.monotonic() + deadline

    async def rounds_of(store: RedisLockStore) -> None:
        for _ in range(rounds):
            if time.monotonic() > stop_at:
                return
            try:
                async with store.lock(sender, lock_lifetime=3600, wait_time_in_seconds=0.005):
                    with guard:
                        seen["holders"] += 1
                        seen["most_holders"] = max(seen["most_holders"], seen["holders"])
                    await asyncio.sleep(0.002)
                    with guard:
                        seen["holders"] -= 1
                        seen["done"] += 1
            except LockError:
                with guard:
                    seen["lock_errors"] += 1

    def worker(store: RedisLockStore) -> None:
        async def bounded() -> None:
            try:
                await asyncio.wait_for(rounds_of(store), timeout=deadline)
            except asyncio.TimeoutError:
                pass
        asyncio.run(bounded())

    threads = [threading.Thread(target=worker, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seen["finished"] = seen["done"] + seen["lock_errors"] == workers * rounds
    seen["left_in_redis"] = stores[0].red.get(stores[0].key_prefix + sender)
    stores[0].red.delete(stores[0].key_prefix + sender)
    return seen


def test_contending_instances_never_lose_or_resurrect_a_ticket():
    seen = contend(AtomicRedisLockStore)
    assert seen["finished"] and seen["lock_errors"] == 0, seen
    assert seen["most_holders"] == 1, f"two holders of one conversation's lock at once: {seen}"
    assert seen["left_in_redis"] is None, seen


def test_rasas_own_redis_lock_store_fails_the_same_contention():
    """Why `AtomicRedisLockStore` exists; when a Rasa upgrade makes this fail, ours may go."""
    seen = contend(RedisLockStore, deadline=6.0)
    assert not seen["finished"] or seen["most_holders"] > 1 or seen["lock_errors"] > 0, seen
