"""Scale within DigitalOcean's limits: bursts of creates on one token and on several, a user's stop in the
middle of a burst, a quiet account beside a spent token (a noisy neighbour), and the drift sync of many
droplets; with the machine's busy CPU time for each.

Run from the repo root, on PostgreSQL and Redis as in production:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/wdo_scale CELERY_BROKER_URL=redis://127.0.0.1:6379/14 \\
        .venv/bin/python -m benchmarks.scale

It makes a throw-away database, serves the emulator with DigitalOcean's limits (250 requests a minute and
5,000 an hour per token, actions at the emulator's default durations, real time), starts 4 real Celery
worker processes spending from the shared request budget at those limits, and prints what each scenario
measured. `--quick` runs smaller numbers, to try the script out; `--create-seconds 30` gives creates
DigitalOcean's own duration. Numbers go to BENCHMARKS.md.
"""

import argparse
import functools
import json
import logging
import math
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import billiard

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings.test")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402
from prometheus_client import CollectorRegistry  # noqa: E402
from prometheus_client.multiprocess import MultiProcessCollector  # noqa: E402

from droplets import services  # noqa: E402
from droplets.emulator.config import DEFAULT_ACTION_DURATIONS, EmulatorConfig  # noqa: E402
from droplets.emulator.core import EmulatorCore  # noqa: E402
from droplets.emulator.server import BackgroundServer  # noqa: E402
from droplets.emulator.wsgi import EmulatorApp  # noqa: E402
from droplets.models import Droplet  # noqa: E402
from droplets.states import RuntimeState, State  # noqa: E402
from droplets.sync import sync_interval_for  # noqa: E402

from .server import CLOCK_TICKS, cpu_seconds  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DIGITALOCEAN_LIMITS = {"rate_limit": 5000, "burst_limit": 250}
# The workers: DigitalOcean's limits in the budget, production's poll timing.
WORKER_SETTINGS = {
    "DIGITALOCEAN_BUDGET_PER_MINUTE": "250",
    "DIGITALOCEAN_BUDGET_PER_HOUR": "5000",
    "DROPLET_POLL_INITIAL": "2",
    "DROPLET_POLL_FACTOR": "1.5",
    "DROPLET_POLL_MAX": "30",
    "DROPLET_POLL_SNAPSHOT_SECONDS": "2",
    "DROPLET_GRACEFUL_SHUTDOWN_SECONDS": "120",
    "DIGITALOCEAN_RATE_LIMIT_RETRY": "60",
    "DATABASE_CONN_MAX_AGE": "60",
}
WORKERS = 4
NOISY_NEIGHBOUR = (400, 20)  # creates on the token that is spent, creates on the account beside it
CLIENTS = 8  # API clients asking at once


class Emulator:
    def __init__(self, tokens, *, create_seconds: float | None = None):
        durations = {**DEFAULT_ACTION_DURATIONS, **({"create": create_seconds} if create_seconds else {})}
        config = EmulatorConfig(
            time_scale=1.0, tokens=tuple(tokens), action_durations=durations, **DIGITALOCEAN_LIMITS
        )
        self.app = EmulatorApp(EmulatorCore(config), validate=False)
        self.server = BackgroundServer(self.app).start()
        self.url = f"{self.server.base_url}/v2/"
        self.core = self.app.core
        # DigitalOcean's default of 25 droplets an account is raised on request: these accounts have had it.
        state = self.core.export_state()
        state["account"]["droplet_limit"] = 1_000_000
        self.core.import_state(state)


class CpuUse:
    """Busy CPU time over a scenario, from /proc: the machine's, the workers', this process's (the API
    clients asking and the emulators answering), PostgreSQL's (its backends, the ones that have exited
    included) and Redis's. What is left is the kernel's and other programs'."""

    def __init__(self, workers):
        self.worker_pids = [worker.process.pid for worker in workers]
        self.started_at, self.started = time.monotonic(), self._now()

    def _now(self) -> dict[str, float]:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
        user, nice, system, _idle, _iowait, irq, softirq = (int(value) for value in fields[:7])
        return {
            "machine": (user + nice + system + irq + softirq) / CLOCK_TICKS,
            "workers": sum(cpu_seconds(pid) for pid in self.worker_pids),
            # With the client processes it has reaped.
            "clients and emulators": sum(os.times()[:4]),
            "PostgreSQL": server_cpu_seconds("postgres"),
            "Redis": server_cpu_seconds("redis-server"),
        }

    def machine_floor(self) -> float:
        """The least time the machine's busy CPU time so far could have taken on all its cores."""
        return (self._now()["machine"] - self.started["machine"]) / os.cpu_count()

    def report(self, droplets: int, label: str = "CPU") -> str:
        now, seconds = self._now(), time.monotonic() - self.started_at
        used = {part: now[part] - self.started[part] for part in now}
        used["the rest"] = 2 * used["machine"] - sum(used.values())
        cores = os.cpu_count()
        per_droplet = ", ".join(
            f"{part} {1000 * value / droplets:.0f} ms" for part, value in used.items() if part != "machine"
        )
        busy = used["machine"]
        return (
            f"   {label}: {busy:.1f} s busy in {seconds:.1f} s ({busy / seconds:.2f} of {cores} cores); "
            f"per created droplet: {per_droplet}; the machine's floor for this work: {busy / cores:.1f} s"
        )


def server_cpu_seconds(command: str) -> float:
    """User + system CPU time of every process running `command`, and of the children they have reaped
    (PostgreSQL's exited backends)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        try:
            if not entry.name.isdigit() or (entry / "comm").read_text().strip() != command[:15]:
                continue
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # it exited meanwhile
        total += sum(int(value) for value in fields[11:15]) / CLOCK_TICKS
    return total


def digitalocean_requests(by: str = "outcome") -> dict[str, float]:
    """Requests to DigitalOcean every process has counted so far, by outcome or kind (waldur_do/metrics)."""
    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    counts: dict[str, float] = {}
    for family in registry.collect():
        for sample in family.samples:
            if sample.name == "waldur_do_digitalocean_requests_total":
                counts[sample.labels[by]] = counts.get(sample.labels[by], 0) + sample.value
    return counts


def since(before: dict, after: dict) -> dict:
    return {outcome: after.get(outcome, 0) - before.get(outcome, 0) for outcome in after}


def account(emulator: Emulator, token: str, name: str):
    from tests.fixtures.droplets import make_catalog
    from tests.fixtures.factories import make_project, make_service_settings

    project = make_project(name=f"{name} project")
    service_settings = make_service_settings(
        customer=project.customer, name=name, backend_url=emulator.url, token=token
    )
    return project, make_catalog(service_settings)


def create_burst(project, catalog, count: int, prefix: str) -> tuple[list[int], float]:
    """`count` creates asked at once by CLIENTS concurrent clients; returns their droplets and when the
    first was asked. Each client is a process of its own, as API clients and the web processes serving
    them are: in this one, they would contend for one interpreter lock with the emulators' answers."""
    user = _staff()
    shares = [(user, project, catalog, prefix, range(count)[first::CLIENTS]) for first in range(CLIENTS)]
    connection.close()  # the clients are forked from this thread: they must not share its connection
    # billiard's fork (Celery's own), not multiprocessing's: it resets the broker connections in the child.
    with billiard.Pool(CLIENTS) as clients:
        started = time.monotonic()
        asked = clients.starmap(_ask_creates, shares)
    return [pk for share in asked for pk in share], started


def _ask_creates(user, project, catalog, prefix: str, numbers) -> list[int]:
    """One client's share of a burst, asked one after the other on one connection (CONN_MAX_AGE)."""
    try:
        return [
            services.droplet_create(
                user=user,
                name=f"{prefix}-{number}",
                service_settings=catalog.service_settings,
                project=project,
                region=catalog.regions["nyc1"],
                image=catalog.images["debian-12-x64"],
                size=catalog.sizes["s-1vcpu-1gb"],
            ).pk
            for number in numbers
        ]
    finally:
        connection.close()


@functools.cache
def _staff():
    from tests.fixtures.factories import make_user

    return make_user(is_staff=True)


def wait_settled(groups: dict[str, tuple[list[int], float]], timeout: float = 900) -> dict[str, float]:
    """Seconds from each group's start until every droplet of it is OK or ERRED."""
    done: dict[str, float] = {}
    deadline = time.monotonic() + timeout
    while len(done) < len(groups) and time.monotonic() < deadline:
        for name, (pks, started) in groups.items():
            if name in done:
                continue
            settled = Droplet.objects.filter(pk__in=pks, state__in=(State.OK, State.ERRED)).count()
            if settled == len(pks):
                done[name] = time.monotonic() - started
        time.sleep(0.25)
    return done


def outcome_of(pks) -> dict:
    states = {
        state: Droplet.objects.filter(pk__in=pks, state=state).count() for state in (State.OK, State.ERRED)
    }
    return {"OK": states[State.OK], "ERRED": states[State.ERRED]}


def rate_limit_floor(calls: float, create_seconds: float) -> float:
    """The least time `calls` requests can take at 250 a minute, plus the last create's own duration."""
    return 60 * max(0, math.ceil(calls / 250) - 1) + create_seconds


def scenario_one_token(emulator, token, creates: int, workers) -> None:
    project, catalog = account(emulator, token, "Burst")
    remote = emulator.core.seed_droplet(
        name="user-vm", size="s-1vcpu-1gb", region="nyc1", image="debian-12-x64"
    )
    from tests.fixtures.droplets import make_droplet

    user_vm = make_droplet(
        project=project,
        catalog=catalog,
        name="user-vm",
        backend_id=str(remote["id"]),
        runtime_state=RuntimeState.ONLINE,
    )
    before, kinds_before = digitalocean_requests(), digitalocean_requests("kind")
    cpu = CpuUse(workers)
    burst = create_burst(project, catalog, creates, "burst")
    with ThreadPoolExecutor(1) as watcher:
        # The CPU the machine spent until every create was sent: the last one's own duration comes after.
        sending = watcher.submit(lambda: _when_all_sent(burst[0], cpu.machine_floor))
        stopped = _stop_during_the_burst(user_vm)
        cpu_floor = sending.result() + emulator.core.config.action_durations["create"]
    pks = burst[0]
    took = wait_settled({"burst": burst})["burst"]
    cpu_used = cpu.report(creates)
    made = since(before, digitalocean_requests())
    kinds = {
        kind: count for kind, count in since(kinds_before, digitalocean_requests("kind")).items() if count
    }
    calls = sum(made.values())
    floor = rate_limit_floor(calls, emulator.core.config.action_durations["create"])
    duplicates = len(emulator.core.export_state()["droplets"]) - 1 - creates
    print(f"\n== {creates} creates at once on one token, {WORKERS} workers")
    print(f"   outcome: {outcome_of(pks)}, duplicates on DigitalOcean: {duplicates}")
    print(f"   DigitalOcean answers: {made} -> {calls / creates:.2f} requests per created droplet")
    print(f"   requests by kind: {kinds}")
    print(
        f"   time to the last OK: {took:.1f} s; the rate limit's floor for {calls:.0f} requests: "
        f"{floor:.1f} s "
        f"({took / floor:.2f}x); the machine's floor until the last create was sent, plus its duration: "
        f"{cpu_floor:.1f} s ({took / cpu_floor:.2f}x)"
    )
    print(
        f"   a user's stop asked 3 s into the burst: {user_vm.state} {user_vm.runtime_state} "
        f"after {stopped:.1f} s"
    )
    print(cpu_used)


def _stop_during_the_burst(user_vm) -> float | None:
    """Seconds until a user's stop, asked 3 s into the burst, is over."""
    time.sleep(3)
    stop_asked = time.monotonic()
    services.droplet_stop(droplet=user_vm, actor=_staff())
    try:
        while time.monotonic() - stop_asked < 300:
            user_vm.refresh_from_db()
            if user_vm.state in (State.OK, State.ERRED):
                return time.monotonic() - stop_asked
            time.sleep(0.1)
        return None
    finally:
        connection.close()


def _when_all_sent(pks, measure) -> float:
    """`measure()` once every droplet of `pks` has been created on DigitalOcean (has its id)."""
    try:
        while Droplet.objects.filter(pk__in=pks, backend_id="").exists():
            time.sleep(0.1)
        return measure()
    finally:
        connection.close()


def time_alone(emulator, token, creates: int, name: str) -> float:
    """Seconds to the last OK of `creates` asked at once on an account of its own, with nothing else
    running: what the scenarios compare an account's time with."""
    project, catalog = account(emulator, token, name)
    prefix = name.lower().replace(" ", "-")
    return wait_settled({"alone": create_burst(project, catalog, creates, prefix)})["alone"]


def scenario_many_tokens(emulators, alone_token, tokens, per_token: int, workers) -> None:
    cpu = CpuUse(workers)
    alone = time_alone(emulators[alone_token], alone_token, per_token, "Alone")
    cpu_alone = cpu.report(per_token, label="CPU alone")
    accounts = [account(emulators[token], token, f"Account {index}") for index, token in enumerate(tokens)]
    cpu = CpuUse(workers)
    with ThreadPoolExecutor(len(accounts)) as at_once:
        bursts = list(
            at_once.map(
                lambda item: create_burst(*item[1], per_token, f"many-{item[0]}"), enumerate(accounts)
            )
        )
    groups = {f"account {index}": burst for index, burst in enumerate(bursts)}
    times = wait_settled(groups)
    print(
        f"\n== {len(tokens)} tokens x {per_token} creates at once "
        f"({per_token} alone on one token: {alone:.1f} s)"
    )
    print(cpu_alone)
    for name, (pks, _) in groups.items():
        print(
            f"   {name}: {outcome_of(pks)}, last OK after {times[name]:.1f} s "
            f"({times[name] / alone:.2f}x alone)"
        )
    print(cpu.report(per_token * len(tokens)))


def scenario_noisy_neighbour(emulators, noisy_token, quiet_token, quiet_alone_token, workers) -> None:
    """One token spent to its last request (a burst larger than its minute allows) while another account's
    few creates run: the quiet account should not notice."""
    noisy_creates, quiet_creates = NOISY_NEIGHBOUR
    alone = time_alone(emulators[quiet_alone_token], quiet_alone_token, quiet_creates, "Quiet alone")

    noisy_emulator = emulators[noisy_token]
    noisy = account(noisy_emulator, noisy_token, "Noisy")
    quiet = account(emulators[quiet_token], quiet_token, "Quiet")
    # The noisy account has asked for all it wants, and its minute is spent: its steps wait for the budget.
    # (Its creates are asked first because the clients and the emulators share this process: asked
    # meanwhile, they would slow the quiet account's emulator, which DigitalOcean's servers would not.)
    noisy_pks, _ = create_burst(*noisy, noisy_creates, "noisy")
    while len(noisy_emulator.core.request_log()) < DIGITALOCEAN_LIMITS["burst_limit"]:
        time.sleep(0.1)
    waiting_since = time.monotonic()
    cpu = CpuUse(workers)
    quiet_burst = create_burst(*quiet, quiet_creates, "quiet")
    took = wait_settled({"quiet": quiet_burst})["quiet"]
    cpu_beside = cpu.report(quiet_creates)
    noisy_waiting = (
        Droplet.objects.filter(pk__in=noisy_pks).exclude(state__in=(State.OK, State.ERRED)).count()
    )
    noisy_done = wait_settled({"noisy": (noisy_pks, waiting_since)}, timeout=600).get("noisy")
    statuses = [entry["status"] for entry in noisy_emulator.core.request_log()]
    print(f"\n== a noisy neighbour: {noisy_creates} creates on one token, then {quiet_creates} on another")
    print(f"   the quiet account alone: {quiet_creates} creates, last OK after {alone:.1f} s")
    print(
        f"   beside the spent token: {outcome_of(quiet_burst[0])}, last OK after {took:.1f} s "
        f"({took / alone:.2f}x alone); meanwhile {noisy_waiting} of the noisy account's droplets waited"
    )
    print(cpu_beside)
    print(
        f"   the noisy account: {outcome_of(noisy_pks)}, {statuses.count(429)} answered 429, last OK "
        f"{noisy_done:.1f} s after its minute was spent"
    )


SYNC_SCRIPT = """
import json, sys, django
django.setup()
from droplets.backend.budget import Priority, spending_as
from droplets.models import Droplet
from droplets.sync import droplet_inventory_sync
from waldur_do.structure.models import ServiceSettings
names = sys.argv[1:]
changed = 0
with spending_as(Priority.BACKGROUND):  # as beat's sync spends
    for settings_row in ServiceSettings.objects.filter(name__in=names):
        changed += droplet_inventory_sync(service_settings=settings_row)
# VmHWM, not getrusage's ru_maxrss: that one keeps the parent's across fork and exec (getrusage(2)).
status = open("/proc/self/status").read()
peak_rss_mb = int(status.split("VmHWM:")[1].split()[0]) / 1024
print(json.dumps({"changed": changed, "peak_rss_mb": round(peak_rss_mb, 1)}))
"""


def scenario_sync(accounts: int, per_account: int, database_url: str) -> None:
    from tests.fixtures.droplets import make_catalog
    from tests.fixtures.factories import make_project, make_service_settings

    names = []
    for index in range(accounts):
        token = f"sync-token-{index}"
        emulator = Emulator([token])
        project = make_project(name=f"sync project {index}")
        name = f"Sync {index}"
        catalog = make_catalog(
            make_service_settings(customer=project.customer, name=name, backend_url=emulator.url, token=token)
        )
        rows = []
        for number in range(per_account):
            remote = emulator.core.seed_droplet(
                name=f"s{index}-{number}", size="s-1vcpu-1gb", region="nyc1", image="debian-12-x64"
            )
            networks = remote["networks"]["v4"]
            rows.append(
                Droplet(
                    name=remote["name"],
                    project=project,
                    service_settings=catalog.service_settings,
                    region=catalog.regions["nyc1"],
                    image=catalog.images["debian-12-x64"],
                    size=catalog.sizes["s-1vcpu-1gb"],
                    image_name="Debian 12 x64",
                    region_name="New York 1",
                    state=State.OK,
                    runtime_state=RuntimeState.ONLINE,
                    backend_id=str(remote["id"]),
                    start_time=timezone.now(),
                    cores=1,
                    ram=1024,
                    disk=25 * 1024,
                    external_ips=[n["ip_address"] for n in networks if n["type"] == "public"],
                    internal_ips=[n["ip_address"] for n in networks if n["type"] == "private"],
                )
            )
        Droplet.objects.bulk_create(rows, batch_size=2000)
        names.append(name)
        _sync_emulators.append(emulator)

    def run(chosen):
        before = digitalocean_requests()
        output = subprocess.run(
            [sys.executable, "-c", SYNC_SCRIPT, *chosen],
            cwd=ROOT,
            env={**os.environ, "DATABASE_URL": database_url},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        result = json.loads(output.strip().splitlines()[-1])
        result["requests"] = sum(since(before, digitalocean_requests()).values())
        return result

    one = run(names[:1])
    every = run(names)
    pages = math.ceil(per_account / 200)
    settings.DIGITALOCEAN_BUDGET_PER_HOUR = 5000  # the interval production computes (tests run unmetered)
    interval = sync_interval_for(per_account)
    share = pages * 3600 / interval / 5000
    print(f"\n== drift sync: {accounts} accounts x {per_account} droplets")
    print(f"   one account, nothing changed: {one} (expected {pages} requests)")
    print(f"   {accounts} accounts, nothing changed: {every} (expected {pages * accounts} requests)")
    print(
        f"   interval at {per_account} droplets: {interval} s -> {share:.0%} of the hourly budget per account"
    )


_sync_emulators = []


def main() -> None:
    logging.getLogger().setLevel(logging.WARNING)  # each event is a log line: thousands of them
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller numbers, to try the script out")
    parser.add_argument("--only", choices=("one-token", "many-tokens", "noisy-neighbour", "sync"))
    parser.add_argument(
        "--create-seconds",
        type=float,
        help="how long a create takes on the emulator (default: its 4 s; DigitalOcean's take 30-60 s)",
    )
    options = parser.parse_args()
    creates, tokens, per_token = (20, 2, 10) if options.quick else (200, 5, 100)
    sync_accounts, sync_per_account = (2, 1000) if options.quick else (10, 10_000)

    setup_test_environment()
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    database_url = _database_url()
    from tests.fixtures.worker import purge_queues, start_worker, stop_worker

    if options.only in (None, "sync"):
        scenario_sync(sync_accounts, sync_per_account, database_url)
    if options.only == "sync":
        return
    # One token, alone, the many, then the noisy neighbour's three (noisy, quiet, quiet alone).
    names = [f"bench-token-{index}" for index in range(tokens + 5)]
    emulators = {token: Emulator([token], create_seconds=options.create_seconds) for token in names}
    purge_queues()
    logs = Path(tempfile.mkdtemp(prefix="waldur-do-bench-"))
    os.environ["DATABASE_URL"] = database_url
    workers = [
        start_worker(logs / f"worker-{number}.log", hostname=f"bench{number}@%h", **WORKER_SETTINGS)
        for number in range(WORKERS)
    ]
    try:
        if options.only in (None, "one-token"):
            scenario_one_token(emulators[names[0]], names[0], creates, workers)
        if options.only in (None, "many-tokens"):
            scenario_many_tokens(emulators, names[1], names[2 : 2 + tokens], per_token, workers)
        if options.only in (None, "noisy-neighbour"):
            scenario_noisy_neighbour(emulators, *names[2 + tokens :], workers)
    finally:
        for worker in workers:
            stop_worker(worker)


def _database_url() -> str:
    from tests.fixtures.worker import database_url

    return database_url(connection.settings_dict)


if __name__ == "__main__":
    print(
        f"database: {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}, broker: "
        f"{settings.CELERY_BROKER_URL.split('://', 1)[0]}"
    )
    main()
