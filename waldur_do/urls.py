from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from waldur_do.api.routers import Router
from waldur_do.health import health, ready
from waldur_do.structure import views as structure_views

router = Router()
router.register("customers", structure_views.CustomerViewSet, basename="customer")
router.register("projects", structure_views.ProjectViewSet, basename="project")
router.register("service-settings", structure_views.ServiceSettingsViewSet, basename="servicesettings")
router.register("keys", structure_views.SshPublicKeyViewSet, basename="sshpublickey")

urlpatterns = [
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    path("api/", include(router.urls)),
    path("admin/", admin.site.urls),
    path("health/", health, name="health"),
    path("ready/", ready, name="ready"),
]
