"""SettingsLockStore: Redis from settings (real Redis at 127.0.0.1:6379), in-memory without it."""

import uuid

import pytest
from rasa.core.lock_store import InMemoryLockStore, LockStore, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

from rasa_project.lock_store import LockStoreUnavailable, SettingsLockStore
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
    assert isinstance(store, RedisLockStore)


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
