"""The project's URLs, and the floor views the benchmark compares them with (never routed in production)."""

from django.urls import path

from waldur_do.urls import urlpatterns as project_urlpatterns

from . import floor

urlpatterns = [
    path("bench/floor/droplets/", floor.droplet_list, name="floor-droplets"),
    path("bench/floor/regions/", floor.region_list, name="floor-regions"),
    path("bench/floor/images/", floor.image_list, name="floor-images"),
    path("bench/floor/sizes/", floor.size_list, name="floor-sizes"),
    path("bench/floor/events/", floor.event_list, name="floor-events"),
    *project_urlpatterns,
]
