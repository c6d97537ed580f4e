from django.contrib import admin
from django.urls import include, path
from django.views.generic import TemplateView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from droplets.api import views as droplet_views
from waldur_do.api.routers import Router
from waldur_do.events.views import EventViewSet
from waldur_do.metrics import MetricsView
from waldur_do.structure import views as structure_views

# The admin is an operator's console: the header says whose, and the changelists get the whole width (the
# breadcrumbs and the index lead everywhere the navigation sidebar would).
admin.site.site_header = admin.site.site_title = "waldur-do operations"
admin.site.enable_nav_sidebar = False

router = Router()
router.register("customers", structure_views.CustomerViewSet, basename="customer")
router.register("projects", structure_views.ProjectViewSet, basename="project")
router.register("service-settings", structure_views.ServiceSettingsViewSet, basename="servicesettings")
router.register("keys", structure_views.SshPublicKeyViewSet, basename="sshpublickey")
router.register(
    "digitalocean-droplets", droplet_views.DigitalOceanDropletViewSet, basename="digitalocean-droplet"
)
router.register(
    "digitalocean-regions", droplet_views.DigitalOceanRegionViewSet, basename="digitalocean-region"
)
router.register("digitalocean-images", droplet_views.DigitalOceanImageViewSet, basename="digitalocean-image")
router.register("digitalocean-sizes", droplet_views.DigitalOceanSizeViewSet, basename="digitalocean-size")
router.register("events", EventViewSet, basename="event")

urlpatterns = [
    path("", TemplateView.as_view(template_name="index.html"), name="index"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/", include(router.urls)),
    path("admin/", admin.site.urls),
    path("metrics", MetricsView.as_view(), name="metrics"),
]
