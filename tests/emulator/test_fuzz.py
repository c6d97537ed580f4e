"""Schemathesis against the emulator, with DigitalOcean's spec (the project's copy, tests/data/) cut to the
operations the emulator serves: every phase, every check, no server error, nothing the spec does not allow.
`make fuzz` runs it longer (tests/fuzzing/runner.py)."""

import re
from pathlib import Path

from droplets.emulator.config import EmulatorConfig
from droplets.emulator.core import EmulatorCore
from droplets.emulator.http import API_ROUTES
from droplets.emulator.server import BackgroundServer
from droplets.emulator.wsgi import EmulatorApp
from tests.fuzzing import FRESH_KEY, runner

SPEC = Path(__file__).resolve().parents[1] / "data" / "digitalocean-openapi.yaml"
TOKEN = "fuzz-token"
MIN_REQUESTS = 1000
# The spec's names for the routes' variables.
SPEC_NAMES = {
    "/v2/account/keys/{key}": "/v2/account/keys/{ssh_key_identifier}",
    "/v2/images/{image}": "/v2/images/{image_id}",
}


def _served() -> set[tuple[str, str]]:
    """(method, spec path) of every route: `/v2/droplets/<int:droplet_id>` is `/v2/droplets/{droplet_id}`."""
    served = set()
    for rule in API_ROUTES.iter_rules():
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        path = SPEC_NAMES.get(path, path)
        served |= {(method, path) for method in rule.methods - {"HEAD", "OPTIONS"}}
    return served


def test_the_served_operations_are_all_in_the_spec():
    import yaml

    spec = yaml.safe_load(SPEC.read_text())
    documented = {(m.upper(), p) for p, item in spec["paths"].items() for m in item if m != "parameters"}
    assert _served() <= documented


def test_schemathesis_finds_nothing(tmp_path):
    # Validation is schemathesis's job here; the app's own would turn a violation into a 500.
    config = EmulatorConfig(
        tokens=(TOKEN,), time_scale=0.0, rate_limit=10**9, burst_limit=10**9, ssh_keys_limit=10**9
    )
    app = EmulatorApp(EmulatorCore(config), validate=False)
    spec = runner.emulator_spec(SPEC, _served(), tmp_path / "digitalocean-emulated.yaml")
    bodies = {
        "POST /v2/droplets": {"region": "nyc1", "size": "s-1vcpu-1gb", "image": "debian-12-x64"},
        "POST /v2/account/keys": {"public_key": FRESH_KEY},
    }
    with BackgroundServer(app) as server:
        outcome = runner.run(
            str(spec),
            base_url=server.base_url,
            headers={"Authorization": f"Bearer {TOKEN}"},
            bodies=bodies,
            report_dir=tmp_path / "report",
            examples=runner.max_examples(default=25),
        )
    assert not outcome.failures and not outcome.errors, outcome.explain()
    assert outcome.operations_tested == outcome.report["operations"]["total"] == len(_served())
    assert outcome.requests >= MIN_REQUESTS, outcome.explain()
