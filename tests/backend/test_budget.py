"""Each token's request budget (droplets/backend/budget.py): DigitalOcean's two sliding windows, priorities,
the correction from DigitalOcean's headers, and one budget shared by processes, on both stores."""

import os
import subprocess
import sys
import textwrap

import pytest
from django.conf import settings
from django.db import connection

from droplets.backend.budget import (
    BudgetExhausted,
    Limits,
    Priority,
    RequestBudget,
    corrected,
    paused,
    spending_as,
    take,
)
from droplets.backend.shared import DatabaseStore, RedisStore
from droplets.models import SharedState
from tests.fixtures.worker import ROOT, database_url

LIMITS = Limits(per_minute=10, per_hour=15, poll_reserve=0.2, background_reserve=0.5, background_share=0.2)


def spend(spent, count, *, at, priority=Priority.USER, limits=LIMITS):
    """Takes `count` requests at time `at`; returns what is spent after them and the last wait."""
    wait = 0.0
    for _ in range(count):
        spent, wait = take(spent, limits, priority, at)
        if wait:
            break
    return spent, wait


def test_the_minute_window_fills_and_its_oldest_second_frees_it():
    spent, wait = spend({}, 10, at=1000.0)
    assert wait == 0
    spent, wait = take(spent, LIMITS, Priority.USER, 1000.5)
    assert wait == pytest.approx(60.5)  # the second of the ten leaves the window at 1061
    spent, wait = take(spent, LIMITS, Priority.USER, 1061.0)
    assert wait == 0


def test_the_hour_window_binds_once_the_minutes_have_passed():
    spent, _ = spend({}, 10, at=0.0)
    spent, wait = spend(spent, 5, at=120.0)
    assert wait == 0
    spent, wait = take(spent, LIMITS, Priority.USER, 180.0)
    assert wait == pytest.approx(3600 + 60 - 180)  # the first minute's ten leave the hour at 3660


def test_polls_and_background_leave_a_reserve_to_users():
    spent, wait = spend({}, 100, at=0.0, priority=Priority.POLL)
    assert wait > 0 and sum(spent["minute"].values()) == 8  # 20 % of ten left to users
    spent, wait = spend(spent, 2, at=0.0)
    assert wait == 0 and sum(spent["minute"].values()) == 10

    background, wait = spend({}, 100, at=0.0, priority=Priority.BACKGROUND)
    assert wait > 0 and sum(background["minute"].values()) == 3  # its share of the hour: 20 % of 15


def test_digitaloceans_remaining_count_corrects_ours():
    spent, _ = spend({}, 2, at=0.0)
    spent = corrected(spent, LIMITS, limit=15, remaining=5, now=1.0)  # another client of the token spent 8
    spent, wait = spend(spent, 5, at=2.0)
    assert wait == 0
    _, wait = take(spent, LIMITS, Priority.USER, 3.0)
    assert wait > 0


def test_requests_that_must_wait_are_told_to_come_back_one_after_another():
    """Not all at the first free second (where all but one would only wait again): each in turn, as the
    window frees room for it."""
    spent = {}
    for second in range(10):
        spent, _ = take(spent, LIMITS, Priority.USER, float(second))
    waits = []
    for _ in range(5):
        spent, wait = take(spent, LIMITS, Priority.USER, 10.0)
        waits.append(wait)
    assert waits == pytest.approx([51.0, 52.0, 53.0, 54.0, 55.0])  # the seconds 0-4 leave the window
    spent, wait = take(spent, LIMITS, Priority.USER, 61.0)
    assert wait == 0  # the first one back finds its room

    more, _ = spend({}, 10, at=0.0)
    for _ in range(12):  # more than the window holds: the rest at the window's rate
        more, wait = take(more, LIMITS, Priority.USER, 0.0)
    assert wait == pytest.approx(60 + 2 * 60 / 10)


def test_a_429_pauses_every_priority_until_its_retry_after():
    spent, _ = spend({}, 1, at=0.0)
    spent = paused(spent, until=30.0)
    for priority in Priority:
        _, wait = take(spent, LIMITS, priority, 10.0)
        assert wait == pytest.approx(20.0), priority
    assert paused(spent, until=5.0)["paused_until"] == 30.0  # an earlier 429's pause is not shortened
    spent, wait = take(spent, LIMITS, Priority.USER, 30.0)
    assert wait == 0 and "paused_until" not in spent  # over: forgotten


def test_a_pause_is_shared_through_the_store(db):
    clock = [100.0]
    budget = RequestBudget(DatabaseStore(), LIMITS, clock=lambda: clock[0])
    budget.pause("key", 15.0)
    with pytest.raises(BudgetExhausted) as raised:
        RequestBudget(DatabaseStore(), LIMITS, clock=lambda: clock[0]).spend("key")  # another process
    assert raised.value.retry_after == pytest.approx(15.0)
    budget.spend("other key")  # another token's budget: not paused
    clock[0] = 115.0
    budget.spend("key")


@pytest.mark.parametrize("stored", [{"minute": 250.0, "hour": 5000.0, "at": 1.0}, {"minute": "x"}, [], 7])
def test_counts_of_a_shape_this_version_does_not_know_start_over(stored):
    spent, wait = take(stored, LIMITS, Priority.USER, 1000.0)
    assert wait == 0 and sum(spent["minute"].values()) == 1


def test_a_spent_budget_is_a_wait_not_a_request(db):
    budget = RequestBudget(DatabaseStore(), LIMITS, clock=lambda: 0.0)
    for _ in range(10):
        budget.spend("key")
    with pytest.raises(BudgetExhausted) as raised:
        budget.spend("key")
    assert raised.value.retry_after == pytest.approx(61.0)
    with spending_as(Priority.POLL):
        for _ in range(8):
            budget.spend("polled")
        with pytest.raises(BudgetExhausted):
            budget.spend("polled")
    budget.spend("polled")  # a user's request still fits in the reserve
    assert SharedState.objects.filter(key="budget:v1:key").exists()


# Processes sharing one budget: each of PROCESSES takes as many as it can of the same token's at once;
# together they get exactly the limit, never more.
PROCESSES = 4
SPENDER = textwrap.dedent(
    """
    import django, os, sys
    django.setup()
    from droplets.backend.budget import BudgetExhausted, Limits, RequestBudget
    from droplets.backend.shared import DatabaseStore, RedisStore
    limits = Limits(per_minute=40, per_hour=1000, poll_reserve=0, background_reserve=0, background_share=1)
    store = RedisStore(os.environ["BUDGET_REDIS"]) if os.environ.get("BUDGET_REDIS") else DatabaseStore()
    budget = RequestBudget(store, limits)
    granted = 0
    for _ in range(40):
        try:
            budget.spend(sys.argv[1])
            granted += 1
        except BudgetExhausted:
            pass
    print(granted)
    """
)


def _spend_in_processes(key: str, **env) -> int:
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "settings.test", **env}
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", SPENDER, key], cwd=ROOT, env=environment, stdout=subprocess.PIPE, text=True
        )
        for _ in range(PROCESSES)
    ]
    return sum(int(process.communicate(timeout=60)[0].split()[-1]) for process in processes)


def test_processes_share_one_budget_in_the_database(transactional_db):
    assert _spend_in_processes("shared-db", DATABASE_URL=database_url(connection.settings_dict)) == 40


@pytest.mark.skipif(not settings.CELERY_BROKER_URL.startswith("redis://"), reason="the broker is not Redis")
def test_processes_share_one_budget_in_redis(db):
    key = f"shared-redis-{os.getpid()}"
    RedisStore(settings.CELERY_BROKER_URL).redis.delete(f"{RedisStore.PREFIX}budget:v1:{key}")
    assert _spend_in_processes(key, BUDGET_REDIS=settings.CELERY_BROKER_URL) == 40
