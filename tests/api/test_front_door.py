"""What a newcomer meets first: the site's front page, the API root, and probes that answer any Host."""

import pytest
from rest_framework.test import APIClient

from tasks.heartbeat import worker_heartbeat_write

from .helpers import BASE, body

ROUTES = (
    "customers",
    "projects",
    "service-settings",
    "keys",
    "digitalocean-droplets",
    "digitalocean-regions",
    "digitalocean-images",
    "digitalocean-sizes",
)


def test_the_front_page_links_the_docs_the_schema_and_the_admin(db):
    response = APIClient().get("/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    for href in ('href="/api/docs/"', 'href="/api/schema/"', 'href="/api/"', 'href="/admin/"'):
        assert href in page
    assert "Authorization: Token" in page


def test_the_admins_view_site_link_leads_to_the_front_page(db, client, django_user_model):
    admin = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(admin)
    page = client.get("/admin/").content.decode()
    assert 'href="/"' in page
    assert client.get("/").status_code == 200


def test_the_api_root_tells_an_anonymous_caller_how_to_authenticate(db):
    data = body(APIClient().get("/api/"))
    assert data["docs"] == f"{BASE}/api/docs/"
    assert data["schema"] == f"{BASE}/api/schema/"
    assert "Authorization: Token <key>" in data["authentication"]
    assert {route: data[route] for route in ROUTES} == {route: f"{BASE}/api/{route}/" for route in ROUTES}


def test_the_endpoints_themselves_still_need_credentials(db):
    response = APIClient().get("/api/digitalocean-droplets/")
    assert response.status_code == 401
    assert body(response) == {"detail": "Authentication credentials were not provided."}


def test_redoc_is_not_served(db):
    # It loads its fonts from outside hosts; Swagger UI is served from the project's own files instead.
    assert APIClient().get("/api/redoc/").status_code == 404


@pytest.mark.parametrize("path", ["/health/", "/ready/"])
def test_probes_answer_whatever_the_host_header_says(db, settings, path):
    """A container's healthcheck asks 127.0.0.1 while DJANGO_ALLOWED_HOSTS names the real domain."""
    worker_heartbeat_write(hostname="celery@test", queues=settings.READY_REQUIRES_QUEUES)
    settings.ALLOWED_HOSTS = ["api.example.com"]
    settings.SECURE_SSL_REDIRECT = True
    response = APIClient().get(path, HTTP_HOST="127.0.0.1:8000")
    assert response.status_code == 200
    assert body(response)["status"] == "ok"


def test_other_paths_still_refuse_a_foreign_host(db, settings):
    settings.ALLOWED_HOSTS = ["api.example.com"]
    assert APIClient().get("/api/", HTTP_HOST="evil.example.org").status_code == 400
