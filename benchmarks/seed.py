"""The benchmark's rows: customers, projects, droplets and catalogs that look like a busy installation.

`seed()` needs Django set up on an empty, migrated database, and returns the staff user's token key.
"""

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.db import transaction
from rest_framework.authtoken.models import Token

from droplets.models import Droplet, Image, Region, Size
from droplets.states import RuntimeState, State
from waldur_do.events.models import Event
from waldur_do.structure.models import Customer, Project, ServiceSettings, User

CATALOG_SETTINGS = 3  # service settings, each with its own catalog
REGIONS_PER_SETTINGS = 40
IMAGES_PER_SETTINGS = 120
SIZES_PER_SETTINGS = 120
REGIONS_PER_ITEM = 8

USER_DATA = "#cloud-config\npackages:\n  - nginx\nruncmd:\n  - systemctl enable --now nginx\n"
TRACEBACK = 'Traceback (most recent call last):\n  File "droplets/steps.py", line 80, in run\nTimeoutError\n'


@transaction.atomic
def seed(*, droplets: int, service_settings: ServiceSettings | None = None) -> str:
    """`droplets` droplets over 4 customers and 12 projects, on `service_settings` (or new ones) and its
    catalog; plus the catalogs of the benchmark's other settings. Returns a staff user's token."""
    rng = random.Random(11)
    staff = User.objects.create_user(username="bench-staff", password="x", is_staff=True)
    customers = [
        Customer.objects.create(name=f"Customer {i}", native_name=f"Kunde {i}", abbreviation=f"C{i}")
        for i in range(4)
    ]
    projects = [Project.objects.create(customer=customers[i % 4], name=f"Project {i}") for i in range(12)]
    settings = [service_settings] if service_settings else []
    while len(settings) < CATALOG_SETTINGS:
        settings.append(
            ServiceSettings.objects.create(
                name=f"DigitalOcean {len(settings)}",
                customer=None,
                shared=True,
                token="bench-token",
                state=ServiceSettings.State.OK,
            )
        )
    for item in settings[1 if service_settings else 0 :]:
        _catalog(item, rng)
    main = settings[0]
    regions = list(Region.objects.filter(service_settings=main))
    images = list(Image.objects.filter(service_settings=main))
    sizes = list(Size.objects.filter(service_settings=main))
    started = datetime(2026, 11, 1, 8, 30, tzinfo=UTC)
    batch = []
    for i in range(droplets):
        online = i % 7 != 0
        erred = i % 13 == 0
        size = sizes[i % len(sizes)]
        image = images[i % len(images)]
        region = regions[i % len(regions)]
        batch.append(
            Droplet(
                name=f"web-{i:04d}",
                description=f"Front end {i} of the shop" if i % 3 else "",
                project=projects[i % len(projects)],
                service_settings=main,
                region=region,
                image=image,
                size=size,
                state=State.ERRED if erred else State.OK,
                runtime_state=RuntimeState.ONLINE if online else RuntimeState.OFFLINE,
                backend_id=str(400_000_000 + i),
                error_message="DigitalOcean did not finish the resize within 60 minutes." if erred else "",
                error_traceback=TRACEBACK if erred else "",
                cores=size.cores,
                ram=size.ram,
                disk=size.disk,
                min_ram=size.ram,
                min_disk=image.min_disk_size or 0,
                user_data=USER_DATA if i % 2 else "",
                external_ips=[f"203.0.113.{i % 250 + 1}"],
                internal_ips=[f"10.10.{i // 250}.{i % 250 + 1}"],
                key_name="deploy" if i % 4 else "",
                key_fingerprint="3b:16:e4:bf:8b:00:8b:b8:59:8c:a9:d3:f0:19:45:fa" if i % 4 else "",
                image_name=f"{image.distribution} {image.name}",
                region_name=region.name,
                start_time=started + timedelta(minutes=i) if online else None,
            )
        )
    Droplet.objects.bulk_create(batch, batch_size=500)
    _events(Droplet.objects.select_related("project__customer")[:300], staff)
    return Token.objects.create(user=staff).key


def _events(droplets, actor) -> None:
    """A history for some droplets: each stopped by staff, as the engine records it (1,200 events)."""
    events = []
    for droplet in droplets:
        context = {
            "resource_type": "DigitalOcean.Droplet",
            "resource_uuid": droplet.uuid.hex,
            "resource_name": droplet.name,
            "resource_backend_id": droplet.backend_id,
            "project_uuid": droplet.project.uuid.hex,
            "project_name": droplet.project.name,
            "customer_uuid": droplet.project.customer.uuid.hex,
            "customer_name": droplet.project.customer.name,
            "action_id": "",
        }
        for stage in ("scheduled", "started", "accepted", "succeeded"):
            events.append(
                Event(
                    event_type=f"resource_stop_{stage}",
                    message=f"Droplet {droplet.name}: stop {stage}.",
                    actor=actor if stage == "scheduled" else None,
                    actor_name=actor.username if stage == "scheduled" else "system",
                    droplet=droplet,
                    droplet_uuid=droplet.uuid,
                    droplet_name=droplet.name,
                    project=droplet.project,
                    customer=droplet.project.customer,
                    context=context,
                )
            )
    Event.objects.bulk_create(events, batch_size=500)


def _catalog(service_settings: ServiceSettings, rng: random.Random) -> None:
    regions = Region.objects.bulk_create(
        Region(service_settings=service_settings, backend_id=f"r{i}", name=f"Region {i:02d}")
        for i in range(REGIONS_PER_SETTINGS)
    )
    images = Image.objects.bulk_create(
        Image(
            service_settings=service_settings,
            backend_id=str(100_000 + i),
            name=f"{10 + i % 15} x64",
            distribution=("Debian", "Ubuntu", "Fedora", "Rocky Linux")[i % 4],
            type="base" if i % 5 else "snapshot",
            is_official=bool(i % 5),
            created_at=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=i, microseconds=i * 1001),
            min_disk_size=(15 + i % 10) * 1024 if i % 6 else None,
        )
        for i in range(IMAGES_PER_SETTINGS)
    )
    sizes = Size.objects.bulk_create(
        Size(
            service_settings=service_settings,
            backend_id=f"s-{i}",
            name=f"s-{1 + i % 8}vcpu-{1 + i // 8}gb",
            cores=1 + i % 8,
            ram=1024 * (1 + i // 8),
            disk=25_600 * (1 + i % 6),
            transfer=1024 * 1024 * (1 + i % 4),
            price=Decimal("4.00000") + Decimal(i) * Decimal("1.37500"),
        )
        for i in range(SIZES_PER_SETTINGS)
    )
    for model, items in ((Image, images), (Size, sizes)):
        through = model.regions.through
        owner = f"{model._meta.model_name}_id"
        through.objects.bulk_create(
            through(**{owner: item.pk, "region_id": region.pk})
            for item in items
            for region in rng.sample(regions, REGIONS_PER_ITEM)
        )
