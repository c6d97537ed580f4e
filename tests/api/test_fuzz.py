"""Schemathesis against the project's own /api/schema/, on a live server, as staff and as an unprivileged
project member: every operation, the coverage (staff), fuzzing and stateful phases, every check of the answers
(server errors, status codes, content types, response schemas, headers, authentication, resources that
outlive their delete). A run finds no failure at all, or the test prints each one with its curl command.

`make fuzz` runs the same with many more examples and a fresh seed (tests/fuzzing/runner.py).
"""

import os

import pytest
from rest_framework.authtoken.models import Token

from tests.fixtures.droplets import make_catalog, make_droplet, make_ssh_key
from tests.fixtures.factories import build_world, make_service_settings
from tests.fuzzing import FRESH_KEY, runner
from tests.fuzzing.server import ApiServer
from waldur_do.structure.models import ServiceSettings

MIN_REQUESTS = 1000
# In the suite, both roles get the fuzzing and stateful phases: over a thousand requests each in under a
# minute. The coverage phase's boundary values (some 3,800 requests, as long again) run in `make fuzz`.
LONG_RUN = bool(os.environ.get("WDO_FUZZ_MAX_EXAMPLES"))  # make fuzz
SUITE_RUN = {
    "examples": runner.max_examples(default=20),
    "phases": () if LONG_RUN else ("fuzzing", "stateful"),  # (): every phase
}
ROLE_RUNS = {"staff": SUITE_RUN, "member": SUITE_RUN}


@pytest.fixture
def no_tasks(monkeypatch):
    """What the API enqueues goes nowhere: no worker runs here, and none of the suite's should get it."""
    from celery.app.task import Task

    monkeypatch.setattr(Task, "apply_async", lambda self, *args, **kwargs: None)


def _objects(live_url: str):
    """A world with something behind every endpoint: droplets online and offline, a key, private and shared
    settings with catalogs; and the links a create body needs, for the hooks."""
    world = build_world()
    catalog = make_catalog(make_service_settings(customer=world.customer))
    make_catalog(make_service_settings(shared=True))
    make_droplet(project=world.project, catalog=catalog)
    make_droplet(project=world.project, catalog=catalog, runtime_state="offline", size="s-1vcpu-1gb")
    make_droplet(project=world.project, catalog=catalog, state="ERRED", backend_id="")
    for role in ("staff", "member"):
        make_ssh_key(user=world.users[role])
    ServiceSettings.objects.update(state=ServiceSettings.State.OK)

    def link(route, obj):
        return f"{live_url}/api/{route}/{obj.uuid.hex}/"

    droplet_links = {
        "project": link("projects", world.project),
        "service_settings": link("service-settings", catalog.service_settings),
        "region": link("digitalocean-regions", catalog.regions["nyc1"]),
        "image": link("digitalocean-images", catalog.images["debian-12-x64"]),
        "size": link("digitalocean-sizes", catalog.sizes["s-2vcpu-2gb"]),
    }
    bodies = {
        "POST /api/digitalocean-droplets/": droplet_links,
        "POST /api/digitalocean-droplets/{uuid}/resize/": {"size": droplet_links["size"]},
        "POST /api/projects/": {"customer": link("customers", world.customer)},
        "POST /api/service-settings/": {"customer": link("customers", world.customer), "shared": False},
        "POST /api/keys/": {"public_key": FRESH_KEY},
    }
    return world, bodies


@pytest.fixture
def api_server(transactional_db):
    with ApiServer() as server:
        yield server


@pytest.mark.parametrize("role", ["member", "staff"])
def test_schemathesis_finds_nothing(api_server, no_tasks, tmp_path, role):
    world, bodies = _objects(api_server.url)
    token = Token.objects.create(user=world.users[role]).key
    outcome = runner.run(
        f"{api_server.url}/api/schema/",
        headers={"Authorization": f"Token {token}"},
        bodies=bodies,
        report_dir=tmp_path,
        **ROLE_RUNS[role],
    )
    assert not outcome.failures and not outcome.errors, outcome.explain()
    assert outcome.operations_tested == outcome.report["operations"]["total"] >= 50
    assert outcome.requests >= MIN_REQUESTS, outcome.explain()
