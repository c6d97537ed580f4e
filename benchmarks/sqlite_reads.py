"""The embedded default under load: list throughput on SQLite while the workers carry out a burst of creates.

Run from the repo root (`make bench` does): ``.venv/bin/python -m benchmarks.sqlite_reads``

In a temporary folder: a SQLite database (the settings' WAL mode, busy timeout and `transaction_mode`
IMMEDIATE), kombu's filesystem broker, and the bundled emulator; 1,000 droplets seeded on service settings
that point at the emulator, whose catalog is pulled from it. gunicorn serves the production settings (2
workers), the two Celery workers of the Procfile run beside it. Then, for each way of reading:

1. the droplet list (100 per page, staff) is loaded with wrk while nothing else runs (idle);
2. 50 creates are sent, and the list is loaded again while the workers carry them out (busy);
3. the time until the last of the 50 is OK is taken.

"atomic reads" is how every request ran before (benchmarks/settings.py's BENCH_ATOMIC_READS: each GET in
ATOMIC_REQUESTS' transaction, on SQLite holding the write lock throughout); "non-atomic reads" is how reads
run now (waldur_do/api/transactions.py).
"""

import argparse
import json
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from . import server

BURST = 50
PAGE = "/api/digitalocean-droplets/?page_size=100"
# The seed's service settings point at the emulator and take its catalog; a create needs a region, image and
# size of it that fit together (a Debian image needs no SSH key).
SEED = """
import json, django
django.setup()
from droplets.catalog import service_settings_sync
from droplets.models import Image, Size
from waldur_do.structure.models import Project, ServiceSettings
from benchmarks.seed import seed
settings = ServiceSettings.objects.create(
    name="Emulator", customer=None, shared=True, token="bench-token", backend_url="{emulator}",
    state=ServiceSettings.State.OK,
)
service_settings_sync(service_settings=settings)
token = seed(droplets={droplets}, service_settings=settings)
image = Image.objects.filter(service_settings=settings, distribution="Debian").first()
region = image.regions.filter(available=True).first()
size = Size.objects.filter(service_settings=settings, regions=region, disk__gte=image.min_disk_size or 0)
print(json.dumps({{
    "token": token, "settings": settings.uuid.hex, "project": Project.objects.first().uuid.hex,
    "region": region.uuid.hex, "image": image.uuid.hex, "size": size.order_by("disk").first().uuid.hex,
}}))
"""
WORKER_ENV = {  # follow the emulator's actions every few tenths of a second, as the integration tests do
    "DROPLET_POLL_INITIAL": "0.2",
    "DROPLET_POLL_FACTOR": "1.2",
    "DROPLET_POLL_MAX": "0.5",
}


def emulator_state(path: Path) -> Path:
    """A fresh emulator's state with room for both bursts (the seeded account allows 25 droplets)."""
    from droplets.emulator.config import EmulatorConfig
    from droplets.emulator.core import EmulatorCore

    state = EmulatorCore(EmulatorConfig()).export_state()
    state["account"]["droplet_limit"] = 10 * BURST
    path.write_text(json.dumps(state))
    return path


def start(command, env, log: Path) -> subprocess.Popen:
    return subprocess.Popen(command, cwd=server.ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)


def wait_for(log: Path, text: str, process: subprocess.Popen, seconds=60) -> None:
    deadline = time.monotonic() + seconds
    while text not in log.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            sys.exit(f"{log.name}: no {text!r}:\n{log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.2)


def create_burst(base: str, headers: dict, seeded: dict, label: str) -> None:
    for n in range(BURST):
        body = {
            "name": f"burst-{label}-{n:02d}",
            "service_settings": f"{base}/api/service-settings/{seeded['settings']}/",
            "project": f"{base}/api/projects/{seeded['project']}/",
            "region": f"{base}/api/digitalocean-regions/{seeded['region']}/",
            "image": f"{base}/api/digitalocean-images/{seeded['image']}/",
            "size": f"{base}/api/digitalocean-sizes/{seeded['size']}/",
        }
        request = urllib.request.Request(
            f"{base}/api/digitalocean-droplets/",
            data=json.dumps(body).encode(),
            headers={**headers, "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            assert response.status == 201, response.status


def burst_states(database: Path, label: str) -> dict[str, int]:
    """How many of the burst's droplets are in each state (read straight from the file)."""
    with sqlite3.connect(database, timeout=30) as conn:
        query = "SELECT state, count(*) FROM droplets_droplet WHERE name LIKE ? GROUP BY state"
        return dict(conn.execute(query, (f"burst-{label}-%",)).fetchall())


def pending(database: Path, label: str) -> int:
    states = burst_states(database, label)
    return sum(count for state, count in states.items() if state not in ("OK", "ERRED"))


def measure(mode: str, env: dict, folder: Path, seeded: dict, args, script: Path) -> dict:
    gunicorn = server.start_gunicorn(env, workers=2, log=folder / f"gunicorn-{mode}.log")
    headers = {"Authorization": f"Token {seeded['token']}", "X-Forwarded-Proto": "https"}
    try:
        load = {"seconds": args.seconds, "connections": args.connections, "script": script}
        idle = server.wrk(gunicorn.base + PAGE, headers, **load)
        label = mode
        started = time.monotonic()
        create_burst(gunicorn.base, headers, seeded, label)
        sent = time.monotonic() - started
        print(f"  {BURST} creates sent in {sent:.1f} s", flush=True)
        busy = server.wrk(gunicorn.base + PAGE, headers, **load)
        while left := pending(folder / "db.sqlite3", label):
            if time.monotonic() - started > args.burst_timeout:
                sys.exit(f"{mode}: {left} of the burst not OK after {args.burst_timeout} s; logs in {folder}")
            time.sleep(0.5)
        erred = burst_states(folder / "db.sqlite3", label).get("ERRED", 0)
        return {
            "idle": idle,
            "busy": busy,
            "sent_s": sent,
            "burst_s": time.monotonic() - started,
            "erred": erred,
        }
    finally:
        gunicorn.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--droplets", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=10, help="length of each wrk run")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--burst-timeout", type=float, default=300)
    parser.add_argument("--rounds", type=int, default=2, help="rounds of both ways, interleaved")
    args = parser.parse_args()
    server.require_wrk()
    # Kept when something fails, with every process's log in it.
    folder = Path(tempfile.mkdtemp(prefix="wdo-sqlite-bench-"))
    emulator_port = server.free_port()
    base_env = server.django_env(
        DATABASE_URL=f"sqlite:///{folder / 'db.sqlite3'}",
        CELERY_BROKER_URL="filesystem://localhost/",
        CELERY_BROKER_FOLDER=str(folder / "broker"),
        DOEMU_BURST_LIMIT="0",
        **WORKER_ENV,
    )
    processes = []
    try:
        emulator_log = folder / "emulator.log"
        emulator = start(
            [
                *(sys.executable, "-m", "droplets.emulator", "--port", str(emulator_port)),
                *("--state-file", str(emulator_state(folder / "emulator-state.json"))),
            ],
            base_env,
            emulator_log,
        )
        processes.append(emulator)
        wait_for(emulator_log, "DIGITALOCEAN_END_POINT", emulator)
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
            cwd=server.ROOT,
            env=base_env,
            check=True,
        )
        code = SEED.format(emulator=f"http://127.0.0.1:{emulator_port}/v2/", droplets=args.droplets)
        output = subprocess.run(
            [sys.executable, "-c", code],
            cwd=server.ROOT,
            env=base_env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        seeded = json.loads(output.strip().splitlines()[-1])
        celery = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "tasks",
            "worker",
            "--concurrency",
            "2",
            "-l",
            "INFO",
        ]
        for name, queues in (("default", "default"), ("polling", "polling,periodic")):
            log = folder / f"worker-{name}.log"
            worker = start([*celery, "--queues", queues, "--hostname", f"{name}@bench"], base_env, log)
            processes.append(worker)
            wait_for(log, "ready.", worker)
        script = server.write_wrk_script(folder)
        results = {}
        for repeat in range(1, args.rounds + 1):
            for mode, atomic in (("atomic reads (before)", "1"), ("non-atomic reads (now)", "0")):
                print(f"{mode}, round {repeat} …", flush=True)
                env = {**base_env, "BENCH_ATOMIC_READS": atomic}
                results[f"{mode} {repeat}"] = measure(f"{atomic}-{repeat}", env, folder, seeded, args, script)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)
    shutil.rmtree(folder)
    report(results, args)


def report(results: dict, args) -> None:
    print(
        f"\nSQLite, 2 gunicorn workers, 2 Celery workers (concurrency 2 each), wrk -c{args.connections} for"
        f" {args.seconds:g} s on {PAGE}; busy: while the workers carry out {BURST} creates"
    )
    print(
        f"{'reads, round':<26} {'idle req/s':>10} {'busy req/s':>10} {'busy p50':>9} {'busy p99':>9}"
        f" {'burst s':>8}"
    )
    for mode, r in results.items():
        idle, busy = r["idle"], r["busy"]
        print(
            f"{mode:<26} {idle['requests'] / (idle['duration_us'] / 1e6):>10.1f}"
            f" {busy['requests'] / (busy['duration_us'] / 1e6):>10.1f} {busy['p50_us'] / 1000:>8.1f}ms"
            f" {busy['p99_us'] / 1000:>8.1f}ms {r['burst_s']:>8.1f}"
        )
        if r["erred"]:
            print(f"  {mode}: {r['erred']} of the {BURST} creates ERRED")
        for run in (idle, busy):
            if run["errors"] or run["non2xx"]:
                print(f"  {mode}: {run['errors']} socket errors, {run['non2xx']} answers other than 2xx")


if __name__ == "__main__":
    main()
