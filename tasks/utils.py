from django.db import transaction


def enqueue_on_commit(task, *args, **kwargs) -> None:
    """Sends `task` once the current transaction commits, so a worker never sees a row that isn't there yet
    (or acts on a change that was rolled back). Outside a transaction it is sent at once."""
    transaction.on_commit(lambda: task.apply_async(args=args, kwargs=kwargs))
