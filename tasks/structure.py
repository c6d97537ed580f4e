import logging

from celery import shared_task

from droplets.backend.errors import BackendError
from droplets.catalog import service_settings_mark_erred, service_settings_sync
from waldur_do.structure.models import ServiceSettings

logger = logging.getLogger(__name__)

SYNC_MAX_RETRIES = 5


@shared_task(
    name="tasks.structure.service_settings_sync_task",
    bind=True,
    max_retries=SYNC_MAX_RETRIES,
    acks_late=True,  # checking a token and pulling a catalog again is harmless
    soft_time_limit=240,
    time_limit=300,
)
def service_settings_sync_task(self, service_settings_id: int):
    """Checks a service settings' token and pulls its catalog; an unreachable DigitalOcean (or an emulator
    still starting) is retried a few times before the settings are marked erred."""
    service_settings = ServiceSettings.objects.filter(pk=service_settings_id).first()
    if service_settings is None:
        return
    try:
        service_settings_sync(service_settings=service_settings)
    except BackendError as error:
        if error.retryable and self.request.retries < self.max_retries:
            raise self.retry(countdown=2**self.request.retries) from None
        service_settings_mark_erred(service_settings=service_settings, message=error.message)
    except Exception:
        # A bug, not DigitalOcean: the settings must not stay CREATING (unusable) for ever.
        logger.exception("Service settings %s: the check failed unexpectedly", service_settings_id)
        service_settings_mark_erred(
            service_settings=service_settings,
            message="The token check failed because of an internal error; operators have the details.",
        )
