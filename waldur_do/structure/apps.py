from django.apps import AppConfig


class StructureConfig(AppConfig):
    """Organisations, projects, roles, service settings and SSH keys: what every resource lives in."""

    name = "waldur_do.structure"
    label = "structure"
    verbose_name = "Structure"
