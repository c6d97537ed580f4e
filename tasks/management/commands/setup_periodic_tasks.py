"""Creates or updates beat's schedule in the database (django-celery-beat); safe to run at every start."""

from django.core.management.base import BaseCommand
from django.db import transaction
from django_celery_beat.models import IntervalSchedule, PeriodicTask

# name → (task, every N seconds, expires after N seconds: a run that waited that long is skipped)
SCHEDULE = {
    "Sync droplets with DigitalOcean": ("tasks.periodic.droplet_inventory_sync_task", 60, 50),
    "Resume stalled droplet operations": ("tasks.periodic.droplet_resume_stalled_task", 60, 50),
    "Fail overdue droplet operations": ("tasks.periodic.droplet_fail_overdue_task", 60, 50),
    "Pull DigitalOcean catalogs": ("tasks.periodic.catalog_pull_task", 6 * 3600, 3600),
    "Purge old events": ("tasks.periodic.event_purge_task", 3600, 1800),
}


class Command(BaseCommand):
    help = "Create or update the periodic tasks that keep droplets in step with DigitalOcean."

    @transaction.atomic
    def handle(self, *args, **options):
        for name, (task, every, expires) in SCHEDULE.items():
            interval, _ = IntervalSchedule.objects.get_or_create(every=every, period=IntervalSchedule.SECONDS)
            PeriodicTask.objects.update_or_create(
                name=name,
                defaults={"task": task, "interval": interval, "expire_seconds": expires, "enabled": True},
            )
        self.stdout.write(f"{len(SCHEDULE)} periodic tasks are scheduled.")
