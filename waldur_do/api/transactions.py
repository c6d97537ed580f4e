"""Writes in a transaction, reads outside one.

ATOMIC_REQUESTS puts every request in a transaction, and on SQLite a transaction begins with
`BEGIN IMMEDIATE` (settings/base.py: `transaction_mode`), which takes the database's write lock at once and
holds it to the end. So every GET held the lock for its whole duration, and the web process and the Celery
worker took turns instead of working side by side. A read needs no transaction (each statement sees a
consistent snapshot, WAL lets readers and a writer proceed together), so the API's views opt out of
ATOMIC_REQUESTS and open the same transaction themselves, only for the methods that may write. Writes stay
exactly as atomic as before: everything a POST, PUT, PATCH or DELETE does, or nothing, and DRF still rolls
back a write that ends in an error response (it does so for any atomic block under ATOMIC_REQUESTS).

A read that arrives inside a transaction already open (a test's, or a caller's) runs in a savepoint of it,
as ATOMIC_REQUESTS would have nested it: an error answer then rolls back only what the read did, not the
enclosing transaction. That begins no transaction and takes no lock of its own.
"""

import functools
from contextlib import ExitStack

from django.db import connections, transaction
from rest_framework.permissions import SAFE_METHODS


def atomic_writes(view):
    """`view`, in a transaction on each ATOMIC_REQUESTS database for unsafe methods only."""
    aliases = [alias for alias, options in connections.settings.items() if options.get("ATOMIC_REQUESTS")]

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        safe = request.method in SAFE_METHODS
        with ExitStack() as stack:
            for alias in aliases:
                if not safe or connections[alias].in_atomic_block:
                    stack.enter_context(transaction.atomic(using=alias))
            return view(request, *args, **kwargs)

    # What Django's @transaction.non_atomic_requests sets: the handler then leaves the view unwrapped.
    wrapped._non_atomic_requests = set(aliases)
    return wrapped
