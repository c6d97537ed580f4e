"""What users and operators ask of droplets. Each service checks, moves the state at once with a
compare-and-set update, and enqueues the work for a worker after the transaction commits."""

import logging
from typing import NoReturn

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from tasks.droplets import droplet_advance_task
from tasks.utils import enqueue_on_commit
from waldur_do.errors import InvalidInput, NotPermitted, StateConflict
from waldur_do.structure import selectors as structure_selectors
from waldur_do.structure.models import Project, ServiceSettings, SshPublicKey

from . import history, states
from .execution import OPERATION_CLEARED
from .models import Droplet, Image, Region, Size
from .states import Operation, Phase, State

logger = logging.getLogger(__name__)

SSH_KEY_DISTRIBUTIONS = ("ubuntu", "freebsd", "coreos")
GONE_MESSAGE = "The droplet no longer exists."


def droplet_check_allowed(*, droplet: Droplet, operation: Operation) -> None:
    """409 unless `operation` may start from the droplet's current state and runtime state."""
    if droplet.state not in operation.sources:
        raise StateConflict(states.valid_states_message(operation.sources))
    if operation.runtime_sources and droplet.runtime_state not in operation.runtime_sources:
        raise StateConflict(states.valid_runtime_states_message(operation.runtime_sources))


def _droplet_transition(*, droplet: Droplet, operation: Operation, params: dict) -> None:
    """Moves the droplet to the operation's scheduled state only if it is still in a source state: of two
    requests racing for the same droplet, exactly one updates the row and the other gets 409. The row then
    holds the whole operation, so the message that starts it needs to say nothing else."""
    guard = {"state__in": operation.sources, "operation_generation": droplet.operation_generation}
    if operation.runtime_sources:
        guard["runtime_state__in"] = operation.runtime_sources
    fields = _operation_fields(operation, params, generation=droplet.operation_generation + 1)
    if not Droplet.objects.filter(pk=droplet.pk, **guard).update(**fields):
        _refuse(droplet=droplet, operation=operation)
    for name, value in fields.items():
        setattr(droplet, name, value)


def _operation_fields(operation: Operation, params: dict, *, generation: int) -> dict:
    now = timezone.now()
    return {
        "state": operation.scheduled,
        "operation": operation.name,
        "operation_phase": Phase.PENDING,
        "operation_params": params,
        "operation_started": now,
        "operation_deadline": now + operation.deadline,
        "operation_generation": generation,
        # Leased for a moment: if the message that starts it never reaches a worker, beat sends it again.
        "operation_lease_until": now + settings.DROPLET_STEP_LEASE,
        "operation_attempts": 0,
        "operation_error": "",
        "action_id": "",
        "modified": now,
    }


def _refuse(*, droplet: Droplet, operation: Operation) -> NoReturn:
    """Says why a guarded update changed no row: the droplet is gone, or its state now forbids it."""
    try:
        droplet.refresh_from_db()
    except Droplet.DoesNotExist:  # deleted by the request that won the race (or unlinked meanwhile)
        raise StateConflict(GONE_MESSAGE) from None
    droplet_check_allowed(droplet=droplet, operation=operation)
    raise StateConflict(states.valid_states_message(operation.sources))


@transaction.atomic
def _schedule(*, droplet: Droplet, operation: Operation, actor=None, **params) -> None:
    _droplet_transition(droplet=droplet, operation=operation, params=params)
    history.operation_scheduled(droplet, operation, actor=actor, **params)
    _enqueue_operation(droplet=droplet)


def _enqueue_operation(*, droplet: Droplet) -> None:
    """Sends the operation's first step once the request commits. The row is the outbox: a broker that is
    down delays the operation (beat sends it when the lease passes), and never fails or loses it."""

    def delayed():
        logger.warning(
            "Droplet %s: the broker did not take the %s; beat sends it once the broker is back",
            droplet.uuid.hex,
            droplet.operation,
        )

    enqueue_on_commit(droplet_advance_task, droplet.pk, droplet.operation_generation, on_unavailable=delayed)


@transaction.atomic
def droplet_create(
    *,
    user,
    name: str,
    service_settings: ServiceSettings,
    project: Project,
    region: Region,
    image: Image,
    size: Size,
    description: str = "",
    ssh_public_key: SshPublicKey | None = None,
    user_data: str = "",
) -> Droplet:
    if not structure_selectors.can_manage_project(user=user, project=project):
        raise NotPermitted("You may not create droplets in this project.")
    _check_create_consistency(
        service_settings=service_settings,
        project=project,
        region=region,
        image=image,
        size=size,
        ssh_public_key=ssh_public_key,
        user_data=user_data,
    )
    # DigitalOcean's own names for what to create: a catalog refresh before the worker starts (which may
    # delete the catalog rows) must not lose them.
    params = {
        "region": region.backend_id,
        "image": image.backend_id,
        "size": size.backend_id,
        "ssh_key": None,
    }
    if ssh_public_key:
        params["ssh_key"] = {
            "name": ssh_public_key.name,
            "public_key": ssh_public_key.public_key,
            "fingerprint": ssh_public_key.fingerprint_md5,
        }
    droplet = Droplet.objects.create(
        name=name,
        description=description,
        service_settings=service_settings,
        project=project,
        region=region,
        image=image,
        size=size,
        ssh_public_key=ssh_public_key,
        user_data=user_data,
        key_name=ssh_public_key.name if ssh_public_key else "",
        key_fingerprint=ssh_public_key.fingerprint_md5 if ssh_public_key else "",
        min_ram=size.ram,
        min_disk=image.min_disk_size or 0,
        **_operation_fields(states.CREATE, params, generation=1),
    )
    history.operation_scheduled(
        droplet,
        states.CREATE,
        actor=user,
        region=region.backend_id,
        image=image.backend_id,
        size=size.backend_id,
    )
    _enqueue_operation(droplet=droplet)
    return droplet


def _check_create_consistency(
    *, service_settings, project, region, image, size, ssh_public_key, user_data
) -> None:
    """The create checks that span fields (docs/api.md, "Create"), in their documented order (first failure
    wins), after making sure the catalog items are from the chosen settings' catalog (else the messages
    would mislead)."""
    for field, item in (("region", region), ("image", image), ("size", size)):
        if item.service_settings_id != service_settings.pk:
            raise InvalidInput(f"This {field} belongs to other service settings.", field=field)
    if not region.available:
        raise InvalidInput(f"Region {region.name} is not available for new droplets.", field="region")
    if ssh_public_key is None and image.distribution.lower() in SSH_KEY_DISTRIBUTIONS:
        raise InvalidInput("SSH public key is required for this image", field="ssh_public_key")
    if not image.regions.filter(pk=region.pk).exists():
        raise InvalidInput(f"Image is missing in region {region.name}", field="image")
    if not size.regions.filter(pk=region.pk).exists():
        raise InvalidInput(f"Size is missing in region {region.name}", field="size")
    if image.min_disk_size and size.disk < image.min_disk_size:
        raise InvalidInput(
            f"Disk provided by size {size.name} is not enough for image {image.name}", field="size"
        )
    if not service_settings.shared and service_settings.customer_id != project.customer_id:
        raise InvalidInput(
            "These service settings belong to another customer than the project.", field="service_settings"
        )
    if service_settings.state != ServiceSettings.State.OK:
        raise InvalidInput(
            f"The service settings are not ready (state {service_settings.state}).", field="service_settings"
        )
    if len(user_data.encode()) > settings.DROPLET_USER_DATA_MAX_BYTES:
        raise InvalidInput(
            f"User data must be at most {settings.DROPLET_USER_DATA_MAX_BYTES // 1024} KiB.",
            field="user_data",
        )


@transaction.atomic
def droplet_update(
    *, droplet: Droplet, name: str | None = None, description: str | None = None, actor=None
) -> Droplet:
    """Description changes here and now; a new name is also applied on DigitalOcean (a rename action).
    Both only while the droplet is OK (the guard of rename), checked in the update itself; a refused rename
    leaves the description as it was too."""
    if description is not None and description != droplet.description:
        guarded = Droplet.objects.filter(pk=droplet.pk, state__in=states.RENAME.sources)
        if not guarded.update(description=description, modified=timezone.now()):
            _refuse(droplet=droplet, operation=states.RENAME)
        droplet.description = description
    if name is not None and name != droplet.name:
        _schedule(droplet=droplet, operation=states.RENAME, actor=actor, name=name, old_name=droplet.name)
        Droplet.objects.filter(pk=droplet.pk).update(name=name)
        droplet.name = name
    return droplet


def droplet_annotate(*, droplet: Droplet, description: str) -> None:
    """An operator's note on a droplet in any state (an ERRED one most of all): the description alone, which
    nothing on DigitalOcean depends on, so no state guard."""
    Droplet.objects.filter(pk=droplet.pk).update(description=description, modified=timezone.now())
    droplet.description = description


def droplet_start(*, droplet: Droplet, actor=None) -> None:
    _schedule(droplet=droplet, operation=states.START, actor=actor)


def droplet_stop(*, droplet: Droplet, actor=None) -> None:
    _schedule(droplet=droplet, operation=states.STOP, actor=actor)


def droplet_restart(*, droplet: Droplet, actor=None) -> None:
    _schedule(droplet=droplet, operation=states.RESTART, actor=actor)


def droplet_resize(*, droplet: Droplet, size: Size, disk: bool, actor=None) -> None:
    """docs/api.md, "Resize": `disk` true grows the disk for good; false changes CPU and RAM only."""
    # First whether the size can be had here at all: comparing with a size from another catalog or region
    # would give a misleading answer ("the same", "smaller").
    if size.service_settings_id != droplet.service_settings_id or (
        droplet.region_id and not size.regions.filter(pk=droplet.region_id).exists()
    ):
        raise InvalidInput(f"Size is missing in region {droplet.region_name}", field="size")
    new_disk = size.disk if disk else droplet.disk
    same_size = size.pk == droplet.size_id  # DigitalOcean refuses a resize to the droplet's own size
    if same_size or (size.cores, size.ram, new_disk) == (droplet.cores, droplet.ram, droplet.disk):
        raise InvalidInput("New size is the same. Please select another one.", field="size")
    if size.disk < droplet.disk:
        raise InvalidInput(
            "Disk sizes are not allowed to be decreased through a resize operation.", field="size"
        )
    # DigitalOcean's slug, not our row: a catalog refresh before the worker starts must not lose the size.
    _schedule(droplet=droplet, operation=states.RESIZE, actor=actor, size=size.backend_id, disk=disk)


@transaction.atomic
def droplet_delete(*, droplet: Droplet, actor=None) -> None:
    """An erred droplet that never reached DigitalOcean has nothing to destroy there: it goes at once."""
    droplet_check_allowed(droplet=droplet, operation=states.DELETE)
    if droplet.state == State.ERRED and not droplet.backend_id:
        history.deleted_at_once(droplet, actor=actor)
        deleted, _ = Droplet.objects.filter(pk=droplet.pk, state=State.ERRED, backend_id="").delete()
        if deleted:
            return
        # It changed meanwhile (a pull found it, say): refused, and the event above rolls back with it.
        raise StateConflict(states.valid_states_message(states.DELETE.sources))
    _schedule(droplet=droplet, operation=states.DELETE, actor=actor)


def droplet_pull(*, droplet: Droplet, actor=None) -> None:
    droplet_check_allowed(droplet=droplet, operation=states.PULL)
    if not droplet.backend_id:
        raise StateConflict("Resource does not have backend ID.")
    _schedule(droplet=droplet, operation=states.PULL, actor=actor)


@transaction.atomic
def droplet_unlink(*, droplet: Droplet, actor=None) -> None:
    """Forgets the droplet without touching DigitalOcean (staff only). Its history stays."""
    history.unlinked(droplet, actor=actor)
    droplet.delete()


def droplet_set_erred(*, droplet: Droplet, message: str = "", traceback: str = "", actor=None) -> None:
    """Manual recovery for operators, from any state."""
    _droplet_force_state(
        droplet=droplet,
        state=State.ERRED,
        message=message or "Marked as erred by an operator.",
        traceback=traceback,
        actor=actor,
    )


def droplet_set_ok(*, droplet: Droplet, actor=None) -> None:
    """Manual recovery for operators, from any state."""
    _droplet_force_state(droplet=droplet, state=State.OK, message="", actor=actor)


@transaction.atomic
def _droplet_force_state(*, droplet: Droplet, state: State, message: str, traceback: str = "", actor) -> None:
    """Ends whatever operation was in flight; a worker still polling it notices and stops. The error it
    replaces stays in the history (the event of the failure)."""
    ended_operation = droplet.operation
    changed = Droplet.objects.filter(pk=droplet.pk).update(
        state=state,
        error_message=message,
        error_traceback=traceback,
        **OPERATION_CLEARED,
        modified=timezone.now(),
    )
    if not changed:
        raise StateConflict(GONE_MESSAGE)
    droplet.refresh_from_db()
    history.set_by_staff(droplet, state, actor=actor, message=message, ended_operation=ended_operation)
