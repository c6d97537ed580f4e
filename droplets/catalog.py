"""Keeps each service settings' catalog (regions, sizes, images) equal to what its account offers."""

from django.db import transaction
from django.utils import timezone

from waldur_do.structure.models import ServiceSettings

from .backend import get_backend
from .models import Image, Region, Size


def service_settings_sync(*, service_settings: ServiceSettings) -> None:
    """Checks the token against DigitalOcean and pulls the catalog, then marks the settings OK.
    Raises a BackendError when DigitalOcean can't be asked or refuses; the caller decides whether to retry
    or to mark the settings erred."""
    backend = get_backend(service_settings)
    backend.check_account()
    regions, sizes, images = backend.list_regions(), backend.list_sizes(), backend.list_images()
    with transaction.atomic():
        region_by_slug = _sync_regions(service_settings, regions)
        _sync_items(
            Size,
            service_settings,
            {s.slug: s for s in sizes},
            lambda s: {
                "name": s.slug,
                "cores": s.cores,
                "ram": s.ram,
                "disk": s.disk,
                "transfer": s.transfer,
                "price": s.price,
            },
            region_by_slug,
        )
        _sync_items(
            Image,
            service_settings,
            {i.id: i for i in images},
            lambda i: {
                "name": i.name,
                "distribution": i.distribution,
                "type": i.type,
                "is_official": i.is_official,
                "created_at": i.created_at,
                "min_disk_size": i.min_disk_size,
            },
            region_by_slug,
        )
        _checked_with_the_same_credentials(service_settings).update(
            state=ServiceSettings.State.OK, error_message="", modified=timezone.now()
        )


def _checked_with_the_same_credentials(service_settings: ServiceSettings):
    """The settings row, as long as its token and endpoint are still those this check used: a check of an
    old token that ends after the token changed must not decide for the new one (its own check will)."""
    return ServiceSettings.objects.filter(
        pk=service_settings.pk, token=service_settings.token, backend_url=service_settings.backend_url
    )


def _sync_regions(service_settings, regions) -> dict[str, Region]:
    by_slug = {}
    for region in regions:
        by_slug[region.slug], _ = Region.objects.update_or_create(
            service_settings=service_settings,
            backend_id=region.slug,
            defaults={"name": region.name, "available": region.available},
        )
    Region.objects.filter(service_settings=service_settings).exclude(backend_id__in=by_slug).delete()
    return by_slug


def _sync_items(model, service_settings, items_by_id, columns, region_by_slug) -> None:
    for backend_id, item in items_by_id.items():
        row, _ = model.objects.update_or_create(
            service_settings=service_settings, backend_id=backend_id, defaults=columns(item)
        )
        row.regions.set([region_by_slug[slug] for slug in item.regions if slug in region_by_slug])
    model.objects.filter(service_settings=service_settings).exclude(backend_id__in=items_by_id).delete()


def service_settings_mark_erred(*, service_settings: ServiceSettings, message: str) -> None:
    """The reason in words (DigitalOcean's, or ours), and never the token."""
    _checked_with_the_same_credentials(service_settings).update(
        state=ServiceSettings.State.ERRED, error_message=message, modified=timezone.now()
    )
