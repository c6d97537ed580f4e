from django.conf import settings

from .budget import default_budget
from .digitalocean import DigitalOceanBackend


def get_backend(service_settings) -> DigitalOceanBackend:
    """The backend for one DigitalOcean account: its token, and its own endpoint when it names one."""
    return DigitalOceanBackend(
        token=service_settings.token,
        api_url=service_settings.backend_url or settings.DIGITALOCEAN_API_URL,
        timeout=settings.DIGITALOCEAN_REQUEST_TIMEOUT,
        rate_limit_retry=settings.DIGITALOCEAN_RATE_LIMIT_RETRY,
        budget=default_budget(),
    )
