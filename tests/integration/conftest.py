"""End to end: HTTP requests to a live server, a real Celery worker in another process, python-digitalocean
over real HTTP to the emulator."""

import time
from dataclasses import dataclass

import pytest
import requests
from rest_framework.authtoken.models import Token

from droplets.models import Image, Region, Size
from waldur_do.structure.models import CustomerRole, ServiceSettings
from waldur_do.structure.services import service_settings_create

from ..fixtures.emulator import RunningEmulator
from ..fixtures.factories import make_customer, make_project, make_user

WAIT_TIMEOUT = 30


class Api:
    """A user's view of the live server: `requests` with their token, Waldur's paths."""

    def __init__(self, base_url: str, token: str):
        self.base_url = base_url
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Token {token}"

    def url(self, path: str) -> str:
        return path if path.startswith("http") else f"{self.base_url}/api/{path}"

    def get(self, path, **kwargs):
        return self.session.get(self.url(path), timeout=10, **kwargs)

    def post(self, path, json=None):
        return self.session.post(self.url(path), json=json, timeout=10)

    def patch(self, path, json):
        return self.session.patch(self.url(path), json=json, timeout=10)

    def delete(self, path):
        return self.session.delete(self.url(path), timeout=10)

    def first(self, path, **params) -> dict:
        found = self.get(path, params=params).json()
        assert found, f"nothing at {path} with {params}"
        return found[0]

    def wait_for(self, url: str, condition, *, timeout=WAIT_TIMEOUT, what="the droplet") -> dict:
        """Polls `url` until `condition(body)` holds; a 404 is passed on as None."""
        deadline = time.monotonic() + timeout
        while True:
            response = self.get(url)
            body = None if response.status_code == 404 else response.json()
            if condition(body):
                return body
            if time.monotonic() > deadline:
                pytest.fail(f"{what} never reached the expected state; last seen: {body}")
            time.sleep(0.1)


@dataclass
class Demo:
    api: Api
    project: dict
    settings: dict
    emulator: RunningEmulator

    def create_droplet(
        self, name="web-1", *, image="debian-12-x64", size="s-1vcpu-1gb", region="nyc1"
    ) -> dict:
        api = self.api
        body = {
            "name": name,
            "project": self.project["url"],
            "service_settings": self.settings["url"],
            "region": self.catalog_url("digitalocean-regions", region),
            "image": self.catalog_url("digitalocean-images", image),
            "size": self.catalog_url("digitalocean-sizes", size),
        }
        response = api.post("digitalocean-droplets/", body)
        assert response.status_code == 201, response.text
        return response.json()

    def droplet_on_do(self, backend_id: str) -> dict | None:
        """The droplet as DigitalOcean (the emulator) has it, or None when it is gone."""
        response = requests.get(
            f"{self.emulator.url}droplets/{backend_id}",
            headers={"Authorization": f"Bearer {self.emulator.token}"},
            timeout=10,
        )
        return None if response.status_code == 404 else response.json()["droplet"]

    def catalog_url(self, path: str, backend_id: str) -> str:
        model = {"digitalocean-regions": Region, "digitalocean-images": Image, "digitalocean-sizes": Size}[
            path
        ]
        item = model.objects.get(service_settings__uuid=self.settings["uuid"], backend_id=backend_id)
        return self.api.url(f"{path}/{item.uuid.hex}/")


@pytest.fixture
def demo(live_server, transactional_db, emulator_server, celery_worker_process):
    """A staff user's API, and service settings on the emulator whose catalog the worker has pulled."""
    emulator_server.control.configure(time_scale=0.05)
    user = make_user(is_staff=True)
    customer = make_customer()
    CustomerRole.objects.create(user=user, customer=customer, role=CustomerRole.Role.OWNER)
    project = make_project(customer=customer)
    settings_row = service_settings_create(
        name="Emulator", customer=customer, backend_url=emulator_server.url, token=emulator_server.token
    )
    api = Api(live_server.url, Token.objects.create(user=user).key)
    service_settings = api.wait_for(
        f"service-settings/{settings_row.uuid.hex}/",
        lambda body: body["state"] != ServiceSettings.State.CREATING,
        what="the service settings",
    )
    assert service_settings["state"] == "OK", service_settings
    return Demo(
        api=api,
        project=api.get(f"projects/{project.uuid.hex}/").json(),
        settings=service_settings,
        emulator=emulator_server,
    )
