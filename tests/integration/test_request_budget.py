"""Two real workers share one token's request budget (droplets/backend/budget.py): a burst of creates that
DigitalOcean's burst limit would throttle is paced instead, with no 429, and every droplet is created."""

import pytest

from tests.fixtures.worker import workers_instead_of_the_session_worker

from .test_droplet_lifecycle import is_settled

pytestmark = pytest.mark.integration

BURST_LIMIT, BURST_SECONDS = 8, 6.0  # DigitalOcean's is 250 a minute: the same shape, quicker to test
CREATES = 5


def test_a_burst_is_paced_by_the_shared_budget_not_throttled(demo, celery_worker_process, tmp_path):
    demo.emulator.control.configure(burst_limit=BURST_LIMIT, burst_window_s=BURST_SECONDS)
    budget = {
        "DIGITALOCEAN_BUDGET_PER_MINUTE": str(BURST_LIMIT),
        "DIGITALOCEAN_BUDGET_BURST_SECONDS": str(BURST_SECONDS),
    }
    with workers_instead_of_the_session_worker(celery_worker_process, tmp_path, 2, **budget):
        demo.emulator.control.clear_requests()
        urls = [demo.create_droplet(f"burst-{number}")["url"] for number in range(CREATES)]
        droplets = [demo.api.wait_for(url, is_settled, timeout=90) for url in urls]

    assert [d["state"] for d in droplets] == ["OK"] * CREATES, droplets
    statuses = [entry["status"] for entry in demo.emulator.control.requests()]
    assert 429 not in statuses
    assert len(statuses) > BURST_LIMIT  # more than the emulator takes in one window
    # ... because steps waited for the budget instead of sending (a wait, recorded, never a failure).
    retried = demo.api.get("events/", params={"event_type": "resource_creation_retried", "page_size": 100})
    assert retried.status_code == 200, retried.text
    waits = [event["context"]["error"] for event in retried.json()]
    assert waits and all("request budget" in error for error in waits), waits
