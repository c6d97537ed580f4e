"""The benchmark server: the production settings, plus benchmarks/floor.py's views on URLs of their own.

Nothing here is used in production; `benchmarks.api_load` points gunicorn at this module.
"""

from settings.production import *  # noqa: F403
from settings.production import MIDDLEWARE, env

ROOT_URLCONF = "benchmarks.urls"

# The embedded default as it was before GETs were made non-atomic: every request, reads included, inside
# ATOMIC_REQUESTS' transaction, which on SQLite (transaction_mode IMMEDIATE) holds the write lock. Only
# benchmarks.sqlite_reads turns it on, to measure the difference in one run.
if env.bool("BENCH_ATOMIC_READS", default=False):
    MIDDLEWARE = [*MIDDLEWARE, "benchmarks.floor.AtomicReadsMiddleware"]
