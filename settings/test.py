"""Test runs: SQLite unless DATABASE_URL says otherwise, fast hashing, no calls out of this machine."""

import os

from .base import *  # noqa: F403
from .base import DATABASES, VAR_DIR, env

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# A file, not ":memory:", so that a Celery worker in another process can open the same test database.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-db.sqlite3")}

# Each test starts from fresh connections: the live server's threads must not keep one across tests. A
# worker a benchmark starts keeps production's (benchmarks/scale.py sets it).
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=0)

# Nothing in a test may reach the real DigitalOcean: a service settings without backend_url goes nowhere.
DIGITALOCEAN_API_URL = "http://127.0.0.1:9/v2/"
DIGITALOCEAN_REQUEST_TIMEOUT = 5.0

# Prometheus' per-process files of the test run (and of the workers it starts), apart from `make run`'s. The
# run's first process empties the folder, before anything counts: counters of earlier runs would add up with
# this one's. The processes it starts inherit the marker and leave the folder alone.
PROMETHEUS_MULTIPROC_DIR = VAR_DIR / "test-metrics"
PROMETHEUS_MULTIPROC_DIR.mkdir(parents=True, exist_ok=True)
os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(PROMETHEUS_MULTIPROC_DIR)
if "WALDUR_DO_TEST_RUN" not in os.environ:
    os.environ["WALDUR_DO_TEST_RUN"] = str(os.getpid())
    for leftover in PROMETHEUS_MULTIPROC_DIR.glob("*.db"):
        leftover.unlink()

# Tests share the emulator's token, so a real budget would run out across the suite: effectively unmetered,
# except where a test sets its own limits (tests/backend/test_budget.py).
DIGITALOCEAN_BUDGET_PER_MINUTE = env.float("DIGITALOCEAN_BUDGET_PER_MINUTE", default=1e9)
DIGITALOCEAN_BUDGET_PER_HOUR = env.float("DIGITALOCEAN_BUDGET_PER_HOUR", default=1e9)

# In-process tests move the emulator's clock between steps: every poll takes a fresh look at the account's
# actions (tests/tasks/test_execution.py proves the sharing with a longer age; the end-to-end workers share
# theirs, FAST_WORKER_SETTINGS).
DROPLET_POLL_SNAPSHOT_SECONDS = env.float("DROPLET_POLL_SNAPSHOT_SECONDS", default=0)
