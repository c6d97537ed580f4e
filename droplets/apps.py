from django.apps import AppConfig


class DropletsConfig(AppConfig):
    """The domain: droplets, their DigitalOcean catalog, the backend adapter and the emulator."""

    name = "droplets"
    verbose_name = "DigitalOcean"
