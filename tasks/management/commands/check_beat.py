"""Beat's healthcheck: beat is alive when it has recently sent one of the periodic tasks it schedules.

django-celery-beat writes each task's `last_run_at` to the database when it sends it (saved every few
minutes, not at once), so a beat that hangs or lost its database shows as a schedule nobody runs.
"""

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Max
from django.utils import timezone
from django_celery_beat.models import PeriodicTask


class Command(BaseCommand):
    help = "Exit 0 when beat has sent a periodic task within --max-age seconds, 1 otherwise."

    def add_arguments(self, parser):
        # The shortest interval (60 s) plus django-celery-beat's save delay (180 s), with a minute to spare.
        parser.add_argument("--max-age", type=int, default=300, help="seconds (default 300)")

    def handle(self, *args, max_age, **options):
        last = PeriodicTask.objects.filter(enabled=True).aggregate(last=Max("last_run_at"))["last"]
        if last is None:
            raise CommandError("Beat has not sent any periodic task yet.")
        age = timezone.now() - last
        if age > timedelta(seconds=max_age):
            raise CommandError(f"Beat last sent a periodic task {int(age.total_seconds())} s ago.")
        self.stdout.write(f"Beat sent a periodic task {int(age.total_seconds())} s ago.")
