"""Creates (once) what a newcomer needs to try the API: a staff user with a token, a customer, a project and
service settings pointing at the bundled emulator."""

from django.conf import settings
from django.core.management.base import BaseCommand
from rest_framework.authtoken.models import Token

from waldur_do.structure.models import Customer, CustomerRole, Project, ServiceSettings, User
from waldur_do.structure.services import service_settings_create, service_settings_update

DEMO_USERNAME = "admin"
DEMO_SETTINGS_NAME = "DigitalOcean emulator"
DEMO_PASSWORD = "admin"  # a local demo login, printed on purpose


class Command(BaseCommand):
    help = "Create the demo user, token, customer, project and service settings if they are missing."

    def add_arguments(self, parser):
        parser.add_argument("--emulator-url", default=settings.DEMO_EMULATOR_URL)

    def handle(self, *args, emulator_url, **options):
        user, created = User.objects.get_or_create(
            username=DEMO_USERNAME,
            defaults={"is_staff": True, "is_superuser": True, "email": "admin@example.com"},
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save()
        token, _ = Token.objects.get_or_create(user=user)
        customer, _ = Customer.objects.get_or_create(
            name="Demo Organisation", defaults={"abbreviation": "DEMO", "native_name": "Demo Organisation"}
        )
        CustomerRole.objects.get_or_create(user=user, customer=customer, role=CustomerRole.Role.OWNER)
        Project.objects.get_or_create(name="Demo Project", customer=customer)
        # Through the services, so the token is checked and the catalog pulled once a worker runs.
        demo_settings = ServiceSettings.objects.filter(name=DEMO_SETTINGS_NAME).first()
        if demo_settings is None:
            service_settings_create(
                name=DEMO_SETTINGS_NAME, customer=customer, backend_url=emulator_url, token="demo-token"
            )
        elif demo_settings.backend_url != emulator_url:
            # `make run EMULATOR_PORT=…` moved the emulator: follow it.
            service_settings_update(service_settings=demo_settings, backend_url=emulator_url)
        self.stdout.write(
            f"Demo data ready: user {DEMO_USERNAME}, token {token.key[:4]}…, emulator {emulator_url}"
        )
