from rest_framework.routers import DefaultRouter


class Router(DefaultRouter):
    """Waldur's routes: plural kebab-case, trailing slash, no browsable root listing in the schema."""

    include_format_suffixes = False
