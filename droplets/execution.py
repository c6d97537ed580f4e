"""What the workers do: carry an operation out on DigitalOcean and follow it to its end.

An operation is begun once (`droplet_operation_begin`) and then polled (`droplet_operation_poll`) until it
completes, fails or runs past its deadline. Both return the parameters for the next poll, or None when
the operation is over; the tasks only do the scheduling. Every write is conditional on the droplet still
being in this operation, so an operator's set_erred/set_ok/unlink, or a duplicate delivery, ends it quietly.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from .backend import get_backend
from .backend.base import BackendDroplet, SshKeySpec
from .backend.errors import NotFoundError, RejectedError
from .models import Droplet, Size
from .states import (
    CREATE,
    DELETE,
    OPERATIONS,
    PULL,
    RENAME,
    RESIZE,
    RESTART,
    RUNTIME_STATE_BY_DO_STATUS,
    START,
    STOP,
    Operation,
    RuntimeState,
    State,
)

logger = logging.getLogger(__name__)

# The DigitalOcean status each operation must leave the droplet in before it counts as done.
EXPECTED_STATUS = {
    CREATE.name: "active",
    START.name: "active",
    STOP.name: "off",
    RESTART.name: "active",
    RESIZE.name: "off",
}

# The DigitalOcean action each operation sends.
ACTION_TYPES = {
    START.name: "power_on",
    STOP.name: "shutdown",
    RESTART.name: "reboot",
    RESIZE.name: "resize",
    RENAME.name: "rename",
}


# How far DigitalOcean's clock may be behind ours when an action it started for us is recognised by its time.
ACTION_CLOCK_SKEW = timedelta(seconds=30)


def droplet_backend_tag(droplet: Droplet) -> str:
    """Marks the droplet on DigitalOcean as ours, so a create that is retried finds it instead of a twin."""
    return f"waldur-do-{droplet.uuid.hex}"


def droplet_operation_begin(*, droplet_id: int, operation_name: str, params: dict) -> dict | None:
    operation = OPERATIONS[operation_name]
    droplet = _claim(droplet_id, operation)
    if droplet is None:
        return None
    backend = get_backend(droplet.service_settings)
    if operation is PULL:
        return _pull(droplet, backend)
    if operation is DELETE:
        return _begin_delete(droplet, backend, params)
    if droplet.action_id:  # a redelivered task: the action was already sent, keep following it
        return params
    if operation is CREATE:
        _begin_create(droplet, backend)
        return params
    try:
        action_id = _send_action(droplet, operation, backend, params)
    except RejectedError:
        # A retry whose first attempt's answer was lost: DigitalOcean refuses a second action while the
        # first one runs ("pending event"), or because the first one already did the work ("already powered
        # on"). That first action is ours, running or done: follow it to its end.
        ours = backend.find_recent_action(
            droplet.backend_id,
            ACTION_TYPES[operation.name],
            since=droplet.operation_started - ACTION_CLOCK_SKEW,
        )
        if ours is None:
            raise
        action_id = ours.id
    _save_in_operation(droplet, operation, action_id=action_id)
    return params


def _send_action(droplet: Droplet, operation: Operation, backend, params: dict) -> str:
    droplet_id_on_do = droplet.backend_id
    if operation is START:
        return backend.power_on(droplet_id_on_do)
    if operation is STOP:
        return backend.shutdown(droplet_id_on_do)
    if operation is RESTART:
        return backend.reboot(droplet_id_on_do)
    if operation is RESIZE:
        return backend.resize(droplet_id_on_do, size=params["size"], disk=params["disk"])
    if operation is RENAME:
        return backend.rename(droplet_id_on_do, name=params["name"])
    raise ValueError(f"Unknown operation {operation.name}")


def droplet_operation_poll(*, droplet_id: int, operation_name: str, params: dict) -> dict | None:
    operation = OPERATIONS[operation_name]
    droplet = _in_operation(operation).filter(pk=droplet_id).first()
    if droplet is None:
        return None
    _in_operation(operation).filter(pk=droplet_id).update(last_polled=timezone.now())
    if timezone.now() > droplet.operation_started + operation.deadline:
        minutes = int(operation.deadline.total_seconds() // 60)
        droplet_operation_fail(
            droplet_id=droplet.pk,
            operation_name=operation.name,
            message=f"DigitalOcean did not finish the {operation.name} within {minutes} minutes.",
        )
        return None
    backend = get_backend(droplet.service_settings)
    if operation is DELETE:
        return _poll_delete(droplet, backend, params)
    if droplet.action_id:
        action = backend.get_action(droplet.backend_id, droplet.action_id)
        if action.in_progress:
            return params
        if action.errored and operation is STOP and action.type == "shutdown":
            # The guest could not shut itself down (no ACPI, say): cut the power instead.
            _save_in_operation(droplet, operation, action_id=_power_off(droplet, backend))
            return {**params, "forced": True}
        if action.errored:
            droplet_operation_fail(
                droplet_id=droplet.pk,
                operation_name=operation.name,
                message=f"DigitalOcean could not {operation.name} the droplet: "
                f"its {action.type} action failed.",
            )
            return None
        _save_in_operation(droplet, operation, action_id="")
    current = backend.get_droplet(droplet.backend_id)
    expected = EXPECTED_STATUS.get(operation.name)
    if expected and current.status != expected:
        if operation is STOP and not params.get("forced") and _graceful_shutdown_overdue(droplet):
            # The guest ignored the shutdown request (or has no ACPI): cut the power.
            _save_in_operation(droplet, operation, action_id=_power_off(droplet, backend))
            return {**params, "forced": True}
        return params  # DigitalOcean's status lags behind its finished action: look again later
    _complete(droplet, operation, current)
    return None


def droplet_operation_fail(
    *, droplet_id: int, operation_name: str, message: str, traceback: str = ""
) -> None:
    """Ends the operation in ERRED with a message a user understands."""
    operation = OPERATIONS[operation_name]
    fields = {
        "state": State.ERRED,
        "error_message": message,
        "error_traceback": traceback,
        "operation": "",
        "operation_started": None,
        "action_id": "",
        "modified": timezone.now(),
    }
    if operation is CREATE:
        fields["runtime_state"] = RuntimeState.ERROR
    elif operation.runtime_sources:
        # A failed DigitalOcean action leaves the droplet as it was before the operation.
        fields["runtime_state"] = operation.runtime_sources[0]
    updated = (
        Droplet.objects.filter(pk=droplet_id, operation=operation.name)
        .filter(state__in=(operation.scheduled, operation.running))
        .update(**fields)
    )
    if updated:
        logger.warning("Droplet %s: %s failed: %s", droplet_id, operation.name, message)


def _claim(droplet_id: int, operation: Operation) -> Droplet | None:
    """Scheduled → running, once; a redelivered task finds it running already and carries on."""
    now = timezone.now()
    fields = {"state": operation.running, "modified": now, "last_polled": now}
    if operation.runtime_while_running:
        fields["runtime_state"] = operation.runtime_while_running
    claimed = (
        Droplet.objects.filter(pk=droplet_id, operation=operation.name)
        .filter(state__in=(operation.scheduled, operation.running))
        .update(**fields)
    )
    if not claimed:
        logger.info("Droplet %s is no longer waiting for %s; nothing to do.", droplet_id, operation.name)
        return None
    return Droplet.objects.select_related(
        "service_settings", "ssh_public_key", "image", "region", "size"
    ).get(pk=droplet_id)


def _in_operation(operation: Operation):
    return Droplet.objects.select_related("service_settings").filter(
        state=operation.running, operation=operation.name
    )


def _save_in_operation(droplet: Droplet, operation: Operation, **fields) -> None:
    fields["modified"] = timezone.now()
    _in_operation(operation).filter(pk=droplet.pk).update(**fields)
    for name, value in fields.items():
        setattr(droplet, name, value)


def _begin_create(droplet: Droplet, backend) -> None:
    if droplet.backend_id:
        return
    tag = droplet_backend_tag(droplet)
    existing = backend.find_droplet_by_tag(tag)
    if existing is not None:
        # An earlier attempt created it but died before saving the id: adopt it, and watch its status.
        _save_in_operation(droplet, CREATE, backend_id=existing.id)
        return
    key = droplet.ssh_public_key
    created = backend.create_droplet(
        name=droplet.name,
        region=droplet.region.backend_id,
        size=droplet.size.backend_id,
        image=droplet.image.backend_id,
        user_data=droplet.user_data,
        tag=tag,
        ssh_key=SshKeySpec(name=key.name, public_key=key.public_key, fingerprint=key.fingerprint_md5)
        if key
        else None,
    )
    # Saved at once: from here on the droplet exists on DigitalOcean and must never be lost track of.
    _save_in_operation(droplet, CREATE, backend_id=created.droplet_id, action_id=created.action_id)


def _begin_delete(droplet: Droplet, backend, params: dict) -> dict | None:
    if not droplet.backend_id:
        droplet.delete()
        return None
    try:
        backend.destroy_droplet(droplet.backend_id)
    except NotFoundError:
        droplet.delete()
        return None
    except RejectedError:
        # DigitalOcean refuses to destroy while an action is pending; it is retried by the poll.
        return {**params, "destroy_pending": True}
    return params


def _poll_delete(droplet: Droplet, backend, params: dict) -> dict | None:
    try:
        if params.get("destroy_pending"):
            backend.destroy_droplet(droplet.backend_id)
            params = {**params, "destroy_pending": False}
        backend.get_droplet(droplet.backend_id)
    except NotFoundError:
        droplet.delete()
        return None
    except RejectedError:
        return params
    return params  # still listed (DigitalOcean archives it for a while): look again later


def _pull(droplet: Droplet, backend) -> None:
    try:
        current = backend.get_droplet(droplet.backend_id)
    except NotFoundError:
        droplet_operation_fail(
            droplet_id=droplet.pk,
            operation_name=PULL.name,
            message="The droplet no longer exists on DigitalOcean.",
        )
        return None
    _complete(droplet, PULL, current)
    return None


def _power_off(droplet: Droplet, backend) -> str:
    """The power-off action's id, or "" when DigitalOcean refuses it: the droplet is off already and its
    status lags behind (or another action runs); either way the status is watched until the deadline."""
    try:
        return backend.power_off(droplet.backend_id)
    except RejectedError as error:
        logger.info("Droplet %s: DigitalOcean refused the power off: %s", droplet.pk, error.message)
        return ""


def _graceful_shutdown_overdue(droplet: Droplet) -> bool:
    return timezone.now() > droplet.operation_started + settings.DROPLET_GRACEFUL_SHUTDOWN


def _complete(droplet: Droplet, operation: Operation, current: BackendDroplet) -> None:
    sizes = Size.objects.filter(service_settings_id=droplet.service_settings_id, backend_id=current.size_slug)
    fields = droplet_fields_from_backend(droplet, current, size_by_slug={s.backend_id: s for s in sizes})
    fields.update(
        state=State.OK,
        error_message="",
        error_traceback="",
        operation="",
        operation_started=None,
        action_id="",
        modified=timezone.now(),
    )
    _in_operation(operation).filter(pk=droplet.pk).update(**fields)


def droplet_fields_from_backend(droplet: Droplet, current: BackendDroplet, *, size_by_slug: dict) -> dict:
    """The droplet's columns as DigitalOcean reports them now; `size_by_slug` maps DigitalOcean's size slugs
    to this settings' catalog, so the droplet's size follows a resize made here or elsewhere."""
    runtime_state = RUNTIME_STATE_BY_DO_STATUS.get(current.status, RuntimeState.ERROR)
    if runtime_state != RuntimeState.ONLINE:
        start_time = None
    elif droplet.runtime_state == RuntimeState.ONLINE and droplet.start_time:
        start_time = droplet.start_time  # was online already: it did not start now
    else:
        start_time = timezone.now()
    return {
        "backend_id": current.id,
        "name": current.name,
        "runtime_state": runtime_state,
        "start_time": start_time,
        "cores": current.cores,
        "ram": current.ram,
        "disk": current.disk,
        "external_ips": current.external_ips,
        "internal_ips": current.internal_ips,
        "image_name": current.image_name or droplet.image_name,
        "region_name": current.region_name or droplet.region_name,
        "size": size_by_slug.get(current.size_slug, droplet.size),
    }
