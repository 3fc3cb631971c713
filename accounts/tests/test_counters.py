"""accounts.counters.DatabaseCounterCache: the sign-in limits' counters when there is no Redis,
one table shared by every worker, with increments that cannot be lost between processes."""

import threading
from datetime import timedelta

import pytest
from django.core.cache import caches
from django.db import connection
from django.utils import timezone

from accounts.counters import DatabaseCounterCache
from accounts.models import ThrottleCounter


@pytest.fixture
def counters(db):
    return DatabaseCounterCache("", {})


def test_it_is_the_throttle_cache_without_redis(settings):
    if settings.MAISIE_REDIS_URL:
        pytest.skip("MAISIE_REDIS_URL is set: the counters live in Redis")
    assert isinstance(caches["throttle"], DatabaseCounterCache)


def test_add_makes_a_counter_once(counters):
    assert counters.add("k", 0, timeout=60) is True
    assert counters.add("k", 5, timeout=60) is False
    assert counters.get("k") == 0


def test_incr_and_decr_change_the_stored_count(counters):
    counters.add("k", 0, timeout=60)

    assert counters.incr("k") == 1
    assert counters.incr("k", 3) == 4
    assert counters.decr("k") == 3
    assert ThrottleCounter.objects.get(key=counters.make_key("k")).value == 3


def test_incr_of_a_missing_or_expired_counter_raises_value_error_like_every_django_cache(counters):
    with pytest.raises(ValueError):
        counters.incr("missing")
    counters.add("old", 7, timeout=60)
    ThrottleCounter.objects.update(expires=timezone.now() - timedelta(seconds=1))

    with pytest.raises(ValueError):
        counters.incr("old")
    assert counters.get("old", "gone") == "gone"
    assert counters.add("old", 0, timeout=60) is True  # an expired counter is replaced
    assert counters.get("old") == 0


def test_new_counters_sweep_the_expired_ones(counters):
    counters.add("a", 1, timeout=60)
    ThrottleCounter.objects.update(expires=timezone.now() - timedelta(seconds=1))

    counters.add("b", 1, timeout=60)

    assert list(ThrottleCounter.objects.values_list("key", flat=True)) == [counters.make_key("b")]


def test_set_get_delete_touch_and_clear(counters):
    counters.set("k", 4, timeout=60)
    counters.set("k", 5, timeout=60)
    assert counters.get("k") == 5 and counters.has_key("k")
    assert counters.touch("k", timeout=120) is True
    assert counters.delete("k") is True and counters.get("k") is None
    counters.set("j", 1)
    counters.clear()
    assert ThrottleCounter.objects.count() == 0


def test_it_stores_integers_only(counters):
    with pytest.raises(TypeError):
        counters.set("k", "text")
    with pytest.raises(TypeError):
        counters.add("k", 1.5)


@pytest.mark.django_db(transaction=True)
def test_parallel_increments_from_many_connections_lose_none(settings):
    """Each thread has its own database connection, as each gunicorn worker does: a read-then-
    write increment (Django's DatabaseCache) would lose some of these."""
    if connection.vendor == "sqlite" and connection.settings_dict["NAME"].startswith("file:memorydb"):
        pytest.skip("an in-memory SQLite test database is one connection")
    counters = DatabaseCounterCache("", {})
    counters.add("k", 0, timeout=60)
    seen, start = [], threading.Barrier(8)

    def work():
        from django.db import connections

        start.wait()
        try:
            for _ in range(25):
                seen.append(counters.incr("k"))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert counters.get("k") == 200
    assert sorted(seen) == list(range(1, 201))  # every increment saw a count of its own
