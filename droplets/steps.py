"""A claimed step of a droplet's operation, and what a strategy's step returns (see execution.py)."""

from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from . import history
from .backend.base import BackendDroplet
from .models import Droplet
from .states import Operation, Phase


class Step:
    """One claimed step of one droplet's operation: what the strategy reads and the writes it may make."""

    def __init__(self, droplet: Droplet, operation: Operation, backend):
        self.droplet = droplet
        self.operation = operation
        self.backend = backend
        self.past_deadline = False  # then a strategy only looks: nothing new is sent
        # Steps of the account's other operations that a look this step took has made due now.
        self.due_now: list[NextStep] = []

    @property
    def params(self) -> dict:
        return self.droplet.operation_params

    @property
    def phase(self) -> str:
        return self.droplet.operation_phase

    def save(self, **fields) -> bool:
        """Writes `fields` if the operation is still ours; False when it was ended or taken over meanwhile."""
        fields["modified"] = timezone.now()
        written = droplet_in_operation(self.droplet).update(**fields)
        for name, value in fields.items():
            setattr(self.droplet, name, value)
        return bool(written)

    def enter(self, phase: str, **fields) -> bool:
        """Moves to `phase`. Following DigitalOcean starts a new count of attempts (its polls start quick
        again), and goes into the history; before that, every try at the first request counts towards its
        retry limit."""
        if phase != Phase.AWAITING:
            return self.save(operation_phase=phase, **fields)
        with transaction.atomic():
            written = self.save(operation_phase=phase, operation_attempts=0, **fields)
            if written:
                history.operation_accepted(self.droplet, self.operation)
        return written

    def update_params(self, **params) -> bool:
        return self.save(operation_params={**self.params, **params})


@dataclass(frozen=True)
class NextStep:
    """The operation goes on: advance it again after `countdown` seconds with `generation`."""

    droplet_id: int
    generation: int
    countdown: float
    first_step: bool  # still sending its first request (a user's step), not following DigitalOcean


# What a strategy's step returns.
@dataclass(frozen=True)
class Poll:
    """Look again later (DigitalOcean is still working): after the poll backoff, or `after` seconds."""

    after: float | None = None
    error: str = ""  # the passing error this step is retried for, kept on the row for operators
    attempt: bool = True  # counts towards the retry limit (waiting out a rate limit does not)
    # How old the shared look this poll read was: its backoff counts from then, as if it had looked itself
    # at that time, so reading a look taken a moment before the action finished costs no whole backoff more.
    seen_ago: float = 0.0


@dataclass(frozen=True)
class Done:
    """The operation succeeded; `current` is the droplet as DigitalOcean reports it (None: delete the row)."""

    current: BackendDroplet | None


@dataclass(frozen=True)
class Failed:
    message: str


def droplet_in_operation(droplet: Droplet):
    """The droplet row, while its operation is still the one this step claimed."""
    return Droplet.objects.filter(
        pk=droplet.pk, operation=droplet.operation, operation_generation=droplet.operation_generation
    )


# How far DigitalOcean's clock may be behind ours when an action it started for us is recognised by its time.
ACTION_CLOCK_SKEW = timedelta(seconds=30)

TAG_PREFIX = "waldur-do-"


def droplet_backend_tag(droplet: Droplet) -> str:
    """Marks the droplet on DigitalOcean as ours, so a create that is retried finds it instead of a twin."""
    return f"{TAG_PREFIX}{droplet.uuid.hex}"
