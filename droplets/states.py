"""The droplet state machine, as one table. Pure: no database, no DigitalOcean (deadlines come from settings).

Each operation names the states (and runtime states) it may start from and the state it moves the droplet
to at once. Services apply it as a compare-and-set update, so two racing requests cannot both pass.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import models


class State(models.TextChoices):
    CREATION_SCHEDULED = "CREATION_SCHEDULED", "Creation Scheduled"
    CREATING = "CREATING", "Creating"
    UPDATE_SCHEDULED = "UPDATE_SCHEDULED", "Update Scheduled"
    UPDATING = "UPDATING", "Updating"
    DELETION_SCHEDULED = "DELETION_SCHEDULED", "Deletion Scheduled"
    DELETING = "DELETING", "Deleting"
    OK = "OK", "OK"
    ERRED = "ERRED", "Erred"


class RuntimeState(models.TextChoices):
    NONE = "", "Not created yet"
    PROVISIONING = "provisioning", "Provisioning"
    ONLINE = "online", "Online"
    OFFLINE = "offline", "Offline"
    RESIZING = "resizing", "Resizing"
    RESTARTING = "restarting", "Restarting"
    STARTING = "starting", "Starting"
    STOPPING = "stopping", "Stopping"
    ARCHIVE = "archive", "Archive"
    ERROR = "error", "Error"


# What DigitalOcean's droplet `status` means for us.
RUNTIME_STATE_BY_DO_STATUS = {
    "new": RuntimeState.PROVISIONING,
    "active": RuntimeState.ONLINE,
    "off": RuntimeState.OFFLINE,
    "archive": RuntimeState.ARCHIVE,
}


class Phase(models.TextChoices):
    """Where an operation in flight stands with DigitalOcean; the step that runs next acts on it."""

    NONE = "", "No operation"
    PENDING = "pending", "Nothing sent yet"
    # A request may have reached DigitalOcean without its answer reaching us: look before sending again.
    SENDING = "sending", "Sent, answer unknown"
    AWAITING = "awaiting", "Following DigitalOcean"


SCHEDULED_STATES = (State.CREATION_SCHEDULED, State.UPDATE_SCHEDULED, State.DELETION_SCHEDULED)
IN_PROGRESS_STATES = (State.CREATING, State.UPDATING, State.DELETING)


@dataclass(frozen=True)
class Operation:
    name: str
    sources: tuple[State, ...]
    scheduled: State  # the state a request moves the droplet to
    running: State  # the state a worker moves it to when it starts the work
    runtime_sources: tuple[RuntimeState, ...] = ()  # empty: any runtime state
    runtime_while_running: RuntimeState | None = None
    default_deadline: timedelta = timedelta(minutes=10)
    # Events of this operation are named `<event_prefix>_scheduled`, `_started`, `_succeeded`, … (Waldur's
    # names where Waldur has them).
    event_prefix: str = ""

    def event_type(self, stage: str) -> str:
        return f"{self.event_prefix}_{stage}"

    @property
    def deadline(self) -> timedelta:
        """After this long the operation is reconciled or fails: `default_deadline`, unless the environment
        says otherwise (DROPLET_<OPERATION>_DEADLINE_MINUTES, read into settings.DROPLET_DEADLINES)."""
        return settings.DROPLET_DEADLINES.get(self.name, self.default_deadline)


CREATE = Operation(
    "create",
    event_prefix="resource_creation",
    sources=(),
    scheduled=State.CREATION_SCHEDULED,
    running=State.CREATING,
    runtime_while_running=RuntimeState.PROVISIONING,
    default_deadline=timedelta(minutes=15),
)
RENAME = Operation(
    "rename",
    event_prefix="resource_update",
    sources=(State.OK,),
    scheduled=State.UPDATE_SCHEDULED,
    running=State.UPDATING,
)
START = Operation(
    "start",
    event_prefix="resource_start",
    sources=(State.OK,),
    runtime_sources=(RuntimeState.OFFLINE,),
    scheduled=State.UPDATE_SCHEDULED,
    running=State.UPDATING,
    runtime_while_running=RuntimeState.STARTING,
)
STOP = Operation(
    "stop",
    event_prefix="resource_stop",
    sources=(State.OK,),
    runtime_sources=(RuntimeState.ONLINE,),
    scheduled=State.UPDATE_SCHEDULED,
    running=State.UPDATING,
    runtime_while_running=RuntimeState.STOPPING,
)
RESTART = Operation(
    "restart",
    event_prefix="resource_restart",
    sources=(State.OK,),
    runtime_sources=(RuntimeState.ONLINE,),
    scheduled=State.UPDATE_SCHEDULED,
    running=State.UPDATING,
    runtime_while_running=RuntimeState.RESTARTING,
)
RESIZE = Operation(
    "resize",
    event_prefix="droplet_resize",
    sources=(State.OK,),
    runtime_sources=(RuntimeState.OFFLINE,),
    scheduled=State.UPDATE_SCHEDULED,
    running=State.UPDATING,
    runtime_while_running=RuntimeState.RESIZING,
    default_deadline=timedelta(minutes=60),  # a disk resize takes about a minute per GB
)
DELETE = Operation(
    "delete",
    event_prefix="resource_deletion",
    sources=(State.OK, State.ERRED),
    scheduled=State.DELETION_SCHEDULED,
    running=State.DELETING,
)
PULL = Operation(
    "pull",
    event_prefix="resource_pull",
    sources=(State.OK, State.ERRED),
    scheduled=State.UPDATE_SCHEDULED,
    running=State.UPDATING,
    default_deadline=timedelta(minutes=5),  # a single read
)

OPERATIONS = {op.name: op for op in (CREATE, RENAME, START, STOP, RESTART, RESIZE, DELETE, PULL)}


def valid_states_message(states) -> str:
    return f"Valid states for operation: {', '.join(states)}."


def valid_runtime_states_message(runtime_states) -> str:
    return f"Valid runtime states for operation: {', '.join(runtime_states)}."
