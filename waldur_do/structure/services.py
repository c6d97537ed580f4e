"""Changes to the structure that are more than a plain save."""

from django.db import IntegrityError, transaction

from tasks.structure import service_settings_sync_task
from tasks.utils import enqueue_on_commit
from waldur_do.errors import InvalidInput

from .keys import InvalidPublicKey, parse_public_key
from .models import ServiceSettings, SshPublicKey


def ssh_key_create(*, user, name: str, public_key: str) -> SshPublicKey:
    try:
        parsed = parse_public_key(public_key)
    except InvalidPublicKey as error:
        raise InvalidInput(str(error), field="public_key") from None
    # The unique constraint decides, so two submits of one key at the same moment cannot both pass.
    try:
        with transaction.atomic():
            return SshPublicKey.objects.create(
                user=user,
                name=name,
                public_key=public_key.strip(),
                fingerprint_md5=parsed.fingerprint_md5,
                fingerprint_sha256=parsed.fingerprint_sha256,
            )
    except IntegrityError:
        raise InvalidInput("You already have this key.", field="public_key") from None


def service_settings_create(**fields) -> ServiceSettings:
    service_settings = ServiceSettings.objects.create(**fields)
    service_settings_schedule_sync(service_settings=service_settings)
    return service_settings


@transaction.atomic
def service_settings_update(*, service_settings: ServiceSettings, **fields) -> ServiceSettings:
    """A new token or endpoint is checked again, and the catalog pulled again, before droplets use it.
    Only the fields that change are written: a worker moves `state` meanwhile, and a stale copy of it (or of
    anything else) must never be written back."""
    changed = [name for name, value in fields.items() if getattr(service_settings, name) != value]
    recheck = any(name in changed for name in ("token", "backend_url"))
    for name in changed:
        setattr(service_settings, name, fields[name])
    if recheck:
        service_settings.state = ServiceSettings.State.CREATING
        service_settings.error_message = ""
        changed += ["state", "error_message"]
    if changed:
        service_settings.save(update_fields=[*changed, "modified"])
    if recheck:
        service_settings_schedule_sync(service_settings=service_settings)
    return service_settings


def service_settings_schedule_sync(*, service_settings: ServiceSettings) -> None:
    """Checks the token and pulls the catalog in a worker, once the current transaction commits."""

    def fail_unqueued():
        ServiceSettings.objects.filter(pk=service_settings.pk).update(
            state=ServiceSettings.State.ERRED,
            error_message="The token check could not be started: the task queue is unavailable. "
            "Please try again later.",
        )

    enqueue_on_commit(service_settings_sync_task, service_settings.pk, on_unavailable=fail_unqueued)
